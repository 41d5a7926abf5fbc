package api_test

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
)

// TestReviewMergedViewAccessEntry: the view of a merged customer is the
// survivor's, so the access record's entry of that read names the
// survivor, whose personal data was sent (it named the merged id only: an
// auditor asking who read the survivor's data did not see it).
func TestReviewMergedViewAccessEntry(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedPair()
	s.awaitApplied()
	s.must("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"}, 201, "If-Match", `"0"`)
	s.awaitApplied()
	before := len(s.accessReads(events.AccessMonth(s.now())))
	if a := s.must("R1", "GET", "/v1/customers/C2", nil, 200); a["id"] != "C1" {
		t.Fatalf("view of the merged C2 is %v, want C1's", a["id"])
	}
	reads := s.accessReads(events.AccessMonth(s.now()))[before:]
	if len(reads) != 1 || reads[0].StaffID != "R1" || reads[0].CustomerID != "C1" {
		t.Fatalf("entries of the read of the merged C2: %+v, want one of R1 naming the survivor C1", reads)
	}
}

// TestReviewMergeKeyOtherRequest: an Idempotency-Key answers only a retry
// of the request that first used it (idempotency.go): a merge with the
// key of a done merge but another reason is a conflict, not the first
// merge's answer, and appends nothing.
func TestReviewMergeKeyOtherRequest(t *testing.T) {
	s := newStack(t, stackOptions{})
	s.seedPair()
	s.awaitApplied()
	key := "01KBGZ3XJ7Q0W8N5M2D4C6B9AE"
	s.must("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "same phone and birth date"}, 201,
		"If-Match", `"0"`, "Idempotency-Key", key)
	before := s.countTypes()
	a := s.req("H1", "POST", "/v1/customers/C1/merges", map[string]any{"mergedId": "C2", "reason": "another reason"},
		"If-Match", `"0"`, "Idempotency-Key", key)
	if a.status != 409 || a.errCode() != "conflict" {
		t.Errorf("the key of a merge reused with another reason: %d %s, want 409 conflict", a.status, a.raw)
	}
	if got := s.countTypes(); fmt.Sprint(got) != fmt.Sprint(before) {
		t.Errorf("the reused key appended: %v, was %v", got, before)
	}
}
