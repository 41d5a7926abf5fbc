package projections_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/projections"
)

func TestWatermark(t *testing.T) {
	var w projections.Watermark
	if w.Position() != events.Start {
		t.Fatalf("zero watermark at %s", w.Position())
	}
	done := make(chan error, 1)
	go func() { done <- w.WaitFor(context.Background(), events.At(5)) }()
	if !w.Advance(events.At(4)) {
		t.Fatal("Advance to 4 did not move")
	}
	select {
	case <-done:
		t.Fatal("a waiter for 5 was released at 4")
	case <-time.After(20 * time.Millisecond):
	}
	w.Advance(events.At(6))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if w.Advance(events.At(3)) || w.Position() != events.At(6) {
		t.Fatalf("Advance lowered the watermark to %s", w.Position())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := w.WaitFor(ctx, events.At(7)); err != context.DeadlineExceeded {
		t.Fatalf("WaitFor past the watermark with an ending ctx: %v", err)
	}
}

// TestWatermarkForgetsAbandonedWaits: a reader whose ctx ends leaves no
// entry behind, however far ahead the position it waited for (each entry
// left would be scanned by every later Advance and never freed).
func TestWatermarkForgetsAbandonedWaits(t *testing.T) {
	var w projections.Watermark
	w.Advance(events.At(10))
	const n = 5000
	ctx, cancel := context.WithCancel(context.Background())
	errs := make(chan error, n)
	for i := range n {
		go func() { errs <- w.WaitFor(ctx, events.At(uint64(1_000_000+i))) }()
	}
	eventually(t, "all waiters registered", func() bool { return w.Waiters() == n })
	cancel()
	for range n {
		if err := <-errs; err != context.Canceled {
			t.Fatalf("abandoned wait returned %v, want context.Canceled", err)
		}
	}
	if got := w.Waiters(); got != 0 {
		t.Fatalf("%d waiters left after every ctx ended, want 0", got)
	}
	// A ctx that has already ended does not register at all.
	if err := w.WaitFor(ctx, events.At(11)); err != context.Canceled || w.Waiters() != 0 {
		t.Fatalf("WaitFor with an ended ctx: %v, %d waiters", err, w.Waiters())
	}
	// Released waiters are gone too, and the ones still short of the mark stay.
	done := make(chan error, 2)
	go func() { done <- w.WaitFor(context.Background(), events.At(12)) }()
	go func() { done <- w.WaitFor(context.Background(), events.At(20)) }()
	eventually(t, "two waiters registered", func() bool { return w.Waiters() == 2 })
	w.Advance(events.At(15))
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := w.Waiters(); got != 1 {
		t.Fatalf("after Advance(15): %d waiters, want the one for 20", got)
	}
	w.Advance(events.At(20))
	if err := <-done; err != nil || w.Waiters() != 0 {
		t.Fatalf("after Advance(20): %v, %d waiters", err, w.Waiters())
	}
}

// TestLagBehind: events behind and the age of the oldest unapplied event.
func TestLagBehind(t *testing.T) {
	recorded := leadNow.Add(-time.Hour)
	s, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: func() time.Time { return recorded }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	ctx := context.Background()
	for i := range 3 {
		leadAppend(t, s, events.CustomerStream("L"+string(rune('0'+i))), events.NoStream,
			&events.CustomerRegistered{CustomerID: "L" + string(rune('0'+i)), Name: "x", BranchID: "B1", Source: events.Source{System: "core"}})
	}
	behind, secs, err := projections.LagBehind(ctx, s, events.Start, leadNow)
	if err != nil || behind != 3 || secs != 3600 {
		t.Fatalf("at Start: %d events, %.3fs, %v; want 3 events and the first one's age", behind, secs, err)
	}
	head, _ := s.Head(ctx)
	if behind, secs, err := projections.LagBehind(ctx, s, head, leadNow); behind != 0 || secs != 0 || err != nil {
		t.Fatalf("at the head: %d, %v, %v", behind, secs, err)
	}
}
