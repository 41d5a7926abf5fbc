package importer_test

import (
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/ops/importer"
)

// TestMergedCustomerRejected, on each store: once C0000001 was merged into C0000002 (the
// CustomerMergedInto on C0000001's stream), a row for C0000001 goes to the
// rejects file naming the survivor and appends nothing; the other rows
// are imported as before.
func TestMergedCustomerRejected(t *testing.T) {
	for name, open := range map[string]func(testing.TB) *ledger{"segment log": embedded, "bbolt": onBolt, "postgres": onPostgres} {
		l := open(t)
		importFile(t, l, "core", importer.Customers, "core_customers.csv")
		ev, err := events.NewEvent(&events.CustomerMergedInto{SurvivorID: "C0000002", Reason: "same phone and birth date"},
			events.Meta{Actor: events.Actor{ID: "H1", Role: "centre_head"}})
		if err != nil {
			t.Fatal(err)
		}
		merged, err := l.store.Append(t.Context(), events.CustomerStream("C0000001"), events.StreamExists, ev)
		if err != nil {
			t.Fatal(err)
		}
		got := importFile(t, l, "card", importer.Profiles, "card_applications.jsonl")
		wantRejects(t, name+": card_applications.jsonl", got.rejects, map[int]string{
			1: "customer C0000001 was merged into customer C0000002", 3: "fields: at least one field is required", 4: "customer C0000404 is not registered"})
		last, err := l.store.ReadStream(t.Context(), events.CustomerStream("C0000001"), events.LastVersion, events.Backward, 1)
		if err != nil || len(last) != 1 || last[0].Version != merged.Version {
			t.Errorf("%s: C0000001's stream ends past its CustomerMergedInto (version %d): %d events read, %v", name, merged.Version, len(last), err)
		}
		if got.stats.Appended != 1 {
			t.Errorf("%s: appended %d, want C0000003's report only", name, got.stats.Appended)
		}
	}
}
