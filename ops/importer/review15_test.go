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
