package api_test

import (
	"slices"
	"testing"
)

// TestAccessRecordConsoleWorklist: the console's worklist names the book's
// customers, so opening it (and each live refresh of its rows) is a read
// in the record, as GET /v1/worklist is: one entry without a customer.
func TestAccessRecordConsoleWorklist(t *testing.T) {
	s, _ := accessStack(t, stackOptions{})
	r1 := signIn(s, "R1")
	r1.must("/", 200)
	texts := entryTexts(s.accessPages("2026-11", nil))
	if !slices.ContainsFunc(texts, func(e string) bool { return e == "R1 rep worklist  advisor R1, 1 customers" }) {
		t.Errorf("entries %q: no worklist read of R1", texts)
	}
}
