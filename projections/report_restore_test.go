package projections_test

import (
	"bytes"
	"context"
	"encoding/json"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// The report tests' shared steps: hand-made events appended, a snapshot
// restored, records restored as a read store loads them.

// appendHand appends d to customer id's stream in s, as an admin.
func appendHand(t *testing.T, s events.Store, id string, d events.Data) {
	t.Helper()
	e, err := events.NewEvent(d, events.Meta{Actor: events.Actor{ID: "X2", Role: "admin"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Append(context.Background(), events.CustomerStream(id), events.Any, e); err != nil {
		t.Fatal(err)
	}
}

// restoreFolds writes a snapshot of f, which folded all, and reads it into
// fresh folds.
func restoreFolds(t *testing.T, f *folds, all []events.Envelope) *folds {
	t.Helper()
	var buf bytes.Buffer
	if err := projections.WriteSnapshot(&buf, projections.InfoAt(&all[len(all)-1], all[len(all)-2].Position), f.roots()); err != nil {
		t.Fatal(err)
	}
	r := newFolds()
	if _, err := projections.ReadSnapshot(bytes.NewReader(buf.Bytes()), r.roots()); err != nil {
		t.Fatal(err)
	}
	return r
}

// restoreRecords returns the customers ids of cs as a read store restores
// them: each record through its JSON, then RestoreCustomers.
func restoreRecords(t *testing.T, cs *projections.Customers, ids []string) *projections.Customers {
	t.Helper()
	recs := make([]projections.CustomerRecord, 0, len(ids))
	for _, id := range ids {
		rec, _ := cs.Record(id)
		b, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		var back projections.CustomerRecord
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatal(err)
		}
		recs = append(recs, back)
	}
	return projections.RestoreCustomers(recs)
}
