package api

import (
	"context"
	"testing"

	"github.com/dangol/dangol/events"
)

// gatedStore holds every append until its gate opens, telling entered
// when one waits: a store that is slow to answer, not down.
type gatedStore struct {
	Store
	entered chan struct{}
	gate    chan struct{}
}

func (g *gatedStore) Append(ctx context.Context, stream string, exp events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	select {
	case g.entered <- struct{}{}:
	default:
	}
	<-g.gate
	return g.Store.Append(ctx, stream, exp, evs...)
}

// TestAccessRecorderBoundedInFlight: the reads of an append the store has
// not answered yet count against maxAccessQueue, so that a slow store
// cannot make the recorder hold twice the bound (the flush in flight and
// a new full queue behind it); the newer reads are dropped and counted,
// and once the store answers, the first maxAccessQueue are appended.
func TestAccessRecorderBoundedInFlight(t *testing.T) {
	f := newRecorderFixture(t)
	g := &gatedStore{Store: f.store, entered: make(chan struct{}, 1), gate: make(chan struct{})}
	f.srv.access.store = g
	f.read(rep1, 0, 1000)
	flushed := make(chan error, 1)
	go func() { flushed <- f.srv.FlushAccess(context.Background()) }()
	<-g.entered // the 1,000 are in an append the store has not answered
	f.read(rep1, 1000, maxAccessQueue)
	if n := f.dropped("queue_full"); n != 1000 {
		t.Errorf("dropped %v with %d in flight and %d queued, want 1000", n, 1000, maxAccessQueue-1000)
	}
	if w := f.srv.access.waiting(); w != maxAccessQueue {
		t.Errorf("%d reads held, want %d", w, maxAccessQueue)
	}
	close(g.gate)
	if err := <-flushed; err != nil {
		t.Fatal(err)
	}
	if err := f.srv.FlushAccess(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := reads(f.stream("2026-11")); len(got) != maxAccessQueue {
		t.Errorf("appended %d reads, want %d", len(got), maxAccessQueue)
	}
	if w := f.srv.access.waiting(); w != 0 {
		t.Errorf("%d reads held after the flushes, want 0", w)
	}
}
