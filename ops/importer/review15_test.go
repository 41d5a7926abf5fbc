package importer_test

import (
	"strings"
	"testing"

	"github.com/dangol/dangol/ops/importer"
)

// TestReview15ObservedAtChangedSameVersion: a source record re-sent at
// the same version with another observedAt is a changed row under the
// same (system, ref, version): it is rejected and appends nothing, as a
// change of any other value is.
func TestReview15ObservedAtChangedSameVersion(t *testing.T) {
	l := embedded(t)
	importFile(t, l, "core", importer.Customers, "core_customers.csv")
	header := "customerId,ref,version,observedAt,email\n"
	cfg := importer.Config{System: "loan", Kind: importer.Profiles, Format: importer.CSV, InFlight: 1}
	if got, err := importFrom(t, l, cfg, strings.NewReader(header+"C0000001,APP-1,1,2026-10-05,a@example.com\n")); err != nil || got.stats.Appended != 1 {
		t.Fatalf("first import: %+v, %v", got.stats, err)
	}
	head, err := l.store.Head(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	got, err := importFrom(t, l, cfg, strings.NewReader(header+"C0000001,APP-1,1,2026-10-06,a@example.com\n"))
	if err != nil || got.stats.Appended != 0 || got.stats.Rejected != 1 {
		t.Errorf("the row at the same version observed another day: %+v, %v; want it rejected", got.stats, err)
	}
	wantRejects(t, "observedAt changed", got.rejects, map[int]string{2: "other values"})
	if h, err := l.store.Head(t.Context()); err != nil || h != head {
		t.Errorf("the changed row appended: head %v, was %v (%v)", h, head, err)
	}
}

// TestReview15JSONLinesBOM: a JSON Lines file starting with a byte order
// mark (as editors on Windows save UTF-8) has its first row read as the
// others, as a CSV file's is.
func TestReview15JSONLinesBOM(t *testing.T) {
	body := "\ufeff" + `{"customerId":"C0000001","ref":"A-1","version":"1","observedAt":"2026-10-05","email":"a@example.com"}` + "\r\n" +
		`{"customerId":"C0000002","ref":"A-2","version":"1","observedAt":"2026-10-05","email":"b@example.com"}` + "\r\n"
	got, err := importFrom(t, nil, importer.Config{System: "card", Kind: importer.Profiles, Format: importer.JSONL}, strings.NewReader(body))
	if err != nil || got.stats.Rows != 2 || got.stats.Rejected != 0 || got.stats.Events != 2 {
		t.Errorf("JSON Lines with a BOM: %+v, %v, rejects %v; want both rows read", got.stats, err, got.rejects)
	}
}

// TestReview15CSVBOMQuotedHeader: a byte order mark before a quoted
// header column (a spreadsheet quoting every field) is skipped too.
func TestReview15CSVBOMQuotedHeader(t *testing.T) {
	body := "\ufeff\"customerId\",\"ref\",\"version\",\"observedAt\",\"email\"\r\n\"C0000001\",\"A-1\",\"1\",\"2026-10-05\",\"a@example.com\"\r\n"
	got, err := importFrom(t, nil, importer.Config{System: "card", Kind: importer.Profiles, Format: importer.CSV}, strings.NewReader(body))
	if err != nil || got.stats.Rows != 1 || got.stats.Rejected != 0 {
		t.Errorf("CSV with a BOM and a quoted header: %+v, %v; want the row read", got.stats, err)
	}
}
