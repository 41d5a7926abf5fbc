package importer_test

import (
	"strings"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/importer"
)

// TestReviewChangedRowSameVersion: a source record re-sent at the same
// version (and observedAt) with other values makes the same event ids, so
// the store finds them appended; the import must not count the changed row
// as already there (a silent skip of the change) but reject it, while the
// unchanged row, sealed again, is still found already imported; on every
// store.
func TestReviewChangedRowSameVersion(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *ledger{"embedded": embedded, "bolt": onBolt, "postgres": onPostgres} {
		t.Run(name, func(t *testing.T) { testChangedRow(t, open(t)) })
	}
}

func testChangedRow(t *testing.T, l *ledger) {
	importFile(t, l, "core", importer.Customers, "core_customers.csv")
	header := "customerId,ref,version,observedAt,email\n"
	cfg := importer.Config{System: "loan", Kind: importer.Profiles, Format: importer.CSV, InFlight: 1}
	first := header + "C0000001,APP-1,1,2026-10-05,a@example.com\n"
	if got, err := importFrom(t, l, cfg, strings.NewReader(first)); err != nil || got.stats.Appended != 1 {
		t.Fatalf("first import: %+v, %v", got.stats, err)
	}
	if got, err := importFrom(t, l, cfg, strings.NewReader(first)); err != nil || got.stats.Duplicates != 1 || got.stats.Rejected != 0 {
		t.Errorf("the same row again: %+v, %v; want it found already imported", got.stats, err)
	}
	changed := header + "C0000001,APP-1,1,2026-10-05,b@example.com\n"
	got, err := importFrom(t, l, cfg, strings.NewReader(changed))
	if err != nil || got.stats.Duplicates != 0 || got.stats.Rejected != 1 {
		t.Errorf("a changed row at the same version: %+v, %v; want it rejected, not counted as already there", got.stats, err)
	}
	wantRejects(t, "changed", got.rejects, map[int]string{2: "other values"})
	evs, err := l.store.ReadStream(t.Context(), events.CustomerStream("C0000001"), 0, events.Forward, 100)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Type == "ProfileReported" && e.Actor.ID == "system:import:loan" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d ProfileReported of loan, want 1", n)
	}
}
