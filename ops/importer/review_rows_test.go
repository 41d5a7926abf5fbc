package importer

import (
	"strings"
	"testing"
)

// TestReviewJSONDuplicateKey: a JSON line naming a column twice is
// rejected, as a CSV header naming one twice is refused: which of the two
// customers (or values) it meant is not the reader's guess.
func TestReviewJSONDuplicateKey(t *testing.T) {
	in := `{"customerId":"C0000001","ref":"A","version":"1","observedAt":"2026-10-05","customerId":"C0000002","email":"a@example.com"}` + "\n"
	rr, err := newRowReader(strings.NewReader(in), JSONL, Profiles)
	if err != nil {
		t.Fatal(err)
	}
	r, err := rr.next()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(r.bad, `customerId" appears twice`) || strings.Contains(r.bad, "C000000") {
		t.Errorf("a line naming customerId twice: bad %q, fields %v; want it rejected naming the column only", r.bad, r.fields)
	}
}

// TestReviewSourceNotCRM: the CRM is the bank's own record (what staff
// entered from the customer, verified, first in the default priority);
// an import may not claim to be it.
func TestReviewSourceNotCRM(t *testing.T) {
	for _, system := range []string{"crm", "CRM"} {
		if err := CheckSystem(system); err == nil {
			t.Errorf("--source %s taken", system)
		}
	}
	if err := CheckSystem("core"); err != nil {
		t.Errorf("--source core: %v", err)
	}
}
