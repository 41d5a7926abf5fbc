package projections_test

import (
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestTierMigrationIgnoresTiersAfterMerge: a TierAssigned on the stream of
// a customer already merged into another (a segmenter that had not yet
// seen the merge) counts them in no month: the survivor counts for the
// person, and the merged customer left the migration at the merge.
func TestTierMigrationIgnoresTiersAfterMerge(t *testing.T) {
	tm := projections.NewTierMigration()
	at := kst(2027, 3, 5)
	apply := func(id string, d events.Data) {
		at = at.Add(time.Hour)
		tm.Apply(projections.Event{Envelope: &events.Envelope{Stream: events.CustomerStream(id), RecordedAt: at}, Data: d})
	}
	apply("S", tierAssigned("vip", 50))
	apply("M", tierAssigned("general", 10))
	apply("M", &events.CustomerMergedInto{SurvivorID: "S", Reason: "same person"})
	apply("M", tierAssigned("potential_vip", 20)) // after the merge: ignored
	at = kst(2027, 4, 2)
	apply("M", tierAssigned("vip", 30)) // a later month too
	apply("S", tierAssigned("vip", 50)) // S's again: April is reported
	ms := tm.Report()
	if len(ms) != 2 {
		t.Fatalf("report %+v, want March and April", ms)
	}
	for i, m := range ms {
		moved := 1 - i // S came from no tier in March
		if m.Customers != 1 || m.Profit != 50 || m.Moved != moved {
			t.Errorf("%s counts %d customers, profit %d, %d moved; want only S (1, 50, %d)", m.Month, m.Customers, m.Profit, m.Moved, moved)
		}
	}
}
