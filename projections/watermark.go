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
// checkpoint. The zero Watermark is at Start. A Watermark is safe for
// concurrent use by multiple goroutines; it must not be copied after first
// use.
type Watermark struct {
	pos atomic.Pointer[events.Position]
	mu  sync.Mutex
	// waiters maps each waiter's release channel to the position it waits
	// for. A waiter whose ctx ends removes itself, so the set holds only
	// readers still waiting: an Advance scans no abandoned entries, and
	// requests that give up leave nothing behind.
	waiters map[chan struct{}]events.Position
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
	for ch, at := range w.waiters {
		if !pos.Less(at) {
			close(ch)
			delete(w.waiters, ch)
		}
	}
	return true
}

// WaitFor blocks until the watermark reaches pos or ctx ends; then it
// returns ctx's error and forgets the wait.
func (w *Watermark) WaitFor(ctx context.Context, pos events.Position) error {
	if !w.Position().Less(pos) {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	ch := make(chan struct{})
	w.mu.Lock()
	if !w.Position().Less(pos) {
		w.mu.Unlock()
		return nil
	}
	if w.waiters == nil {
		w.waiters = map[chan struct{}]events.Position{}
	}
	w.waiters[ch] = pos
	w.mu.Unlock()
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
	}
	w.mu.Lock()
	_, waiting := w.waiters[ch]
	delete(w.waiters, ch)
	w.mu.Unlock()
	if !waiting {
		return nil // Advance released it as ctx ended: the position was reached
	}
	return ctx.Err()
}

// Waiters returns how many readers are waiting for the watermark to move
// (for tests and diagnostics).
func (w *Watermark) Waiters() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.waiters)
}
