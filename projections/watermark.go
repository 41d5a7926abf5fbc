package projections

import (
	"context"
	"sync"
	"sync/atomic"

	"github.com/dangol/dangol/events"
)

// Watermark is how far a read side has applied the log, and where readers
// wait for it to include their own writes. The runner keeps one for the
// in-memory read models; the PostgreSQL read store keeps one for its table
// checkpoint. The zero Watermark is at Start.
type Watermark struct {
	pos     atomic.Pointer[events.Position]
	mu      sync.Mutex
	waiters []waiter
}

type waiter struct {
	pos events.Position
	ch  chan struct{}
}

// Position returns the watermark.
func (w *Watermark) Position() events.Position {
	if p := w.pos.Load(); p != nil {
		return *p
	}
	return events.Start
}

// Advance raises the watermark to pos (it never lowers it) and releases
// the waiters pos satisfies. It reports whether the watermark moved.
func (w *Watermark) Advance(pos events.Position) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.Position().Less(pos) {
		return false
	}
	w.pos.Store(&pos)
	keep := w.waiters[:0]
	for _, x := range w.waiters {
		if pos.Less(x.pos) {
			keep = append(keep, x)
		} else {
			close(x.ch)
		}
	}
	w.waiters = keep
	return true
}

// WaitFor blocks until the watermark reaches pos or ctx ends.
func (w *Watermark) WaitFor(ctx context.Context, pos events.Position) error {
	if !w.Position().Less(pos) {
		return nil
	}
	x := waiter{pos: pos, ch: make(chan struct{})}
	w.mu.Lock()
	if !w.Position().Less(pos) {
		w.mu.Unlock()
		return nil
	}
	w.waiters = append(w.waiters, x)
	w.mu.Unlock()
	select {
	case <-x.ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
