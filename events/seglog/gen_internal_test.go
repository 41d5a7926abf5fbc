package seglog

import (
	"context"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
)

// TestFramedBeforeAPublish: an append that creates a stream is framed
// (the caller found no such stream), then another append creates that
// stream and later commits are published, so that the first append's
// check finds the stream in the index only, not in its own commit: it
// must still see it, and conflict.
func TestFramedBeforeAPublish(t *testing.T) {
	ctx := context.Background()
	s, err := Open(t.TempDir(), Options{Now: func() time.Time { return eventstest.Epoch }})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ev := func() events.Event { return eventstest.NewEvent("ContactLogged", `{}`) }
	late := newSingle(events.StreamAppend{Stream: "customer-X", Expected: events.NoStream, Events: []events.Event{ev()}})
	s.prepare(late) // framed now, queued below
	if _, err := s.Append(ctx, "customer-X", events.NoStream, ev()); err != nil {
		t.Fatal(err)
	}
	for _, stream := range []string{"customer-Y", "customer-Z"} { // two more commits
		if _, err := s.Append(ctx, stream, events.NoStream, ev()); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.q.Do(ctx, late); err != nil || late.stale {
		t.Fatalf("%v, sent back %v (the clock stands still: nothing is stale)", err, late.stale)
	}
	if events.ErrorCode(late.errs[0]) != events.Conflict {
		t.Fatalf("creating customer-X a second time: %+v, %v; want a conflict", late.results[0], late.errs[0])
	}
	evs, err := s.ReadStream(ctx, "customer-X", 0, events.Forward, 10)
	if err != nil || len(evs) != 1 {
		t.Fatalf("customer-X: %d events, %v", len(evs), err)
	}
}
