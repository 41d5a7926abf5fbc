package seglog_test

import (
	"context"
	"fmt"
	"reflect"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/events/seglog"
)

// TestSubscribeFromLogSameAsScan: a subscription behind the ring reads the
// log (one envelope decoded into, sent by value) and delivers exactly what
// Scan gives (an envelope of its own per event), field by field and record
// by record, across segments and chunks, from the start and from the
// middle; what was delivered earlier is not changed by what follows;
// SubscribeBatches delivers the same after a reopen (all from the log,
// batches of 1 to size, the last one sent with nothing appended after);
// and ReadAll gives the same pages.
func TestSubscribeFromLogSameAsScan(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), seglog.Options{SegmentBytes: 64 << 10, SubscriberBuffer: 16})
	for i := range 60 {
		evs := make([]events.Event, 50)
		for j := range evs {
			evs[j] = eventstest.NewEvent("ContactLogged", fmt.Sprintf(`{"summary":"event %d of batch %d, %s"}`, j, i, string(make([]byte, i*j%300))))
		}
		if _, err := s.Append(ctx, fmt.Sprintf("customer-C%03d", i%7), events.Any, evs...); err != nil {
			t.Fatal(err)
		}
	}
	var want []events.Envelope
	seen := map[*events.Envelope]bool{}
	if err := s.Scan(ctx, events.Start, func(e *events.Envelope) error {
		if seen[e] {
			t.Fatal("Scan passed the same envelope twice: it owns its memory no more")
		}
		seen[e] = true
		want = append(want, *e)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(want) != 3000 {
		t.Fatalf("Scan: %d events, want 3000", len(want))
	}
	for _, from := range []int{0, 1234} {
		sub, err := s.Subscribe(ctx, events.At(uint64(from)))
		if err != nil {
			t.Fatal(err)
		}
		var got []events.Envelope
		for e := range sub.Events() {
			got = append(got, e)
			if len(got) == len(want)-from {
				break
			}
		}
		sub.Close()
		same(t, fmt.Sprintf("Subscribe from %d", from), got, want[from:])
	}
	// The same in batches, after a reopen: the ring is empty, so every
	// event comes from the log, the last batch with nothing appended after.
	dir := s.Dir()
	s.Close()
	s = open(t, dir, seglog.Options{SegmentBytes: 64 << 10, SubscriberBuffer: 16})
	// Recycled (events.BatchRecycler), each batch given back once copied:
	// the batches that follow are filled in the arrays given back, and
	// the copies, whose strings and records point past the batch, stay
	// what the log holds.
	for _, recycle := range []bool{false, true} {
		for _, size := range []int{1, 7, 1024} {
			for _, from := range []int{0, 1234} {
				sub, err := s.SubscribeBatches(ctx, events.At(uint64(from)), size)
				if err != nil {
					t.Fatal(err)
				}
				var got []events.Envelope
				arrays, batches := map[*events.Envelope]bool{}, 0
				for b := range sub.Batches() {
					if len(b) == 0 || len(b) > size {
						t.Fatalf("SubscribeBatches(size %d): a batch of %d", size, len(b))
					}
					got = append(got, b...)
					arrays[&b[0]], batches = true, batches+1
					if recycle {
						sub.(events.BatchRecycler).Recycle(b)
					}
					if len(got) >= len(want)-from {
						break
					}
				}
				sub.Close()
				what := fmt.Sprintf("SubscribeBatches(size %d, recycled %t) from %d after a reopen", size, recycle, from)
				same(t, what, got, want[from:])
				if recycle && batches >= 100 && len(arrays) > batches/4 {
					t.Fatalf("%s: %d batches in %d arrays: the batches given back were not filled again", what, batches, len(arrays))
				}
				if !recycle && len(arrays) != batches {
					t.Fatalf("%s: %d batches in %d arrays, none given back", what, batches, len(arrays))
				}
			}
		}
	}
	var pages []events.Envelope
	for from := events.Start; ; {
		page, err := s.ReadAll(ctx, from, 700)
		if err != nil {
			t.Fatal(err)
		}
		if len(page) == 0 {
			break
		}
		pages = append(pages, page...)
		from = page[len(page)-1].Position
	}
	same(t, "ReadAll pages", pages, want)
}

func same(t *testing.T, what string, got, want []events.Envelope) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d events, want %d", what, len(got), len(want))
	}
	for i := range got {
		if !reflect.DeepEqual(got[i], want[i]) || string(got[i].Record()) != string(want[i].Record()) {
			t.Fatalf("%s: event %d differs:\n got %+v\nwant %+v", what, i, got[i], want[i])
		}
		if err := got[i].Verify(got[i].PrevHash); err != nil {
			t.Fatalf("%s: event %d: %v", what, i, err)
		}
	}
}
