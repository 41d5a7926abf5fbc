package postgres_test

import (
	"fmt"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/pgtest"
)

// TestAppendBatch: a batch of new streams, two entries to one stream, a
// conflicting entry and an invalid one. The valid entries are applied in
// one round trip at consecutive positions in the batch's order, the two
// entries to one stream in order; the conflict and the invalid entry get
// their errors and write nothing. Sending the batch again appends nothing:
// each applied entry is answered with its original result.
func TestAppendBatch(t *testing.T) {
	s, rt := openTraced(t, pgtest.Database(t))
	ctx := t.Context()
	if _, errs := s.AppendBatch(ctx, []events.StreamAppend{{Stream: "customer-warm", Expected: events.NoStream,
		Events: []events.Event{eventstest.NewEvent("ContactLogged", `{}`)}}}); errs[0] != nil {
		t.Fatal(errs[0]) // the statement is prepared
	}
	var batch []events.StreamAppend
	for i := range 50 {
		batch = append(batch, events.StreamAppend{Stream: fmt.Sprintf("customer-B%d", i), Expected: events.NoStream,
			Events: []events.Event{eventstest.NewEvent("ContactLogged", `{}`), eventstest.NewEvent("ContactLogged", `{}`)}})
	}
	rt.n.Store(0)
	results, errs := s.AppendBatch(ctx, batch)
	if got := rt.n.Load(); got != 1 {
		t.Fatalf("a batch of 50 new streams took %d round trips, want 1", got)
	}
	for i := range batch {
		if errs[i] != nil || results[i].Version != 1 || results[i].Position.Seq() != uint64(1+2*(i+1)) {
			t.Fatalf("entry %d: %+v, %v; want version 1 at position %d", i, results[i], errs[i], 1+2*(i+1))
		}
	}

	mixed := []events.StreamAppend{
		{Stream: "customer-M", Expected: events.NoStream, Events: []events.Event{eventstest.NewEvent("ContactLogged", `{}`)}},
		{Stream: "customer-C", Expected: events.Exact(5), Events: []events.Event{eventstest.NewEvent("ContactLogged", `{}`)}},
		{Stream: "customer-M", Expected: events.Exact(0), Events: []events.Event{eventstest.NewEvent("ContactLogged", `{}`)}},
		{Stream: "customer-I", Expected: events.Any},
		{Stream: "customer-B0", Expected: events.Exact(1), Events: []events.Event{eventstest.NewEvent("ContactLogged", `{}`)}},
	}
	check := func(round string, results []events.AppendResult, errs []error, duplicate bool) {
		t.Helper()
		for _, i := range []int{0, 2, 4} {
			if errs[i] != nil || results[i].Duplicate != duplicate {
				t.Fatalf("%s: entry %d: %+v, %v; want applied (duplicate %v)", round, i, results[i], errs[i], duplicate)
			}
		}
		if results[0].Version != 0 || results[2].Version != 1 || results[4].Version != 2 {
			t.Fatalf("%s: versions %d, %d, %d; want 0, 1 (in order on customer-M), 2", round, results[0].Version, results[2].Version, results[4].Version)
		}
		if !(results[0].Position.Less(results[2].Position) && results[2].Position.Less(results[4].Position)) {
			t.Fatalf("%s: positions %s, %s, %s are not in the batch's order", round, results[0].Position, results[2].Position, results[4].Position)
		}
		wantConflictAt(t, errs[1], events.NoStreamVersion)
		if events.ErrorCode(errs[3]) != events.Invalid {
			t.Fatalf("%s: an entry without events: %v, want Invalid", round, errs[3])
		}
	}
	results, errs = s.AppendBatch(ctx, mixed)
	check("first", results, errs, false)
	first := results
	results, errs = s.AppendBatch(ctx, mixed)
	check("again", results, errs, true)
	for _, i := range []int{0, 2, 4} {
		if results[i].Position != first[i].Position {
			t.Fatalf("entry %d sent again answered at %s, first at %s", i, results[i].Position, first[i].Position)
		}
	}
	all, err := s.ReadAll(ctx, events.Start, 1000)
	if err != nil || len(all) != 1+100+3 {
		t.Fatalf("the log holds %d events (%v), want %d", len(all), err, 1+100+3)
	}
	if _, err := s.ReadStream(ctx, "customer-C", 0, events.Forward, 10); events.ErrorCode(err) != events.NotFound {
		t.Fatalf("the conflicting entry's stream: %v, want NotFound", err)
	}
}
