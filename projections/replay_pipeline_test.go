package projections_test

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// positions is a projection recording the position of each event it
// folds, and the sum of the ids of the decoded data, in fold order.
type positions struct {
	mu   sync.Mutex
	seen []uint64
}

func (p *positions) Name() string { return "positions" }
func (p *positions) Apply(e projections.Event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if d, ok := e.Data.(*events.CustomerRegistered); ok && d.CustomerID != strings.TrimPrefix(e.Stream, "customer-") {
		panic(fmt.Sprintf("event %s folded with the data of %s", e.Stream, d.CustomerID))
	}
	p.seen = append(p.seen, e.Position.Seq())
}

func (p *positions) got() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint64(nil), p.seen...)
}

// pipelineLog appends n customers' registrations in batches, so the log's
// batches of decoding hold several.
func pipelineLog(t *testing.T, s events.Store, n int) {
	t.Helper()
	for c := range n {
		id := fmt.Sprintf("C%05d", c)
		leadAppend(t, s, events.CustomerStream(id), events.NoStream,
			&events.CustomerRegistered{CustomerID: id, Name: "고객", BranchID: "B1", Source: events.Source{System: "core"}})
	}
}

// TestReplayPipelineInOrder: with batches decoded by several workers at
// once, some slower than others, the fold still meets every event once, in
// log order, each with its own data.
func TestReplayPipelineInOrder(t *testing.T) {
	s := leadStore(t)
	const n = 3000
	pipelineLog(t, s, n)
	decode := func(ctx context.Context, e *events.Envelope) (events.Data, error) {
		if e.Position.Seq()%7 == 0 { // a slow one: the next batches may finish first
			for range 50 {
				runtime.Gosched()
			}
		}
		return events.Decode(e)
	}
	p := &positions{}
	r := projections.NewRunner(s, decode, []projections.Projection{p}, nil, projections.RunnerOptions{MaxBatch: 16})
	stop := started(t, r)
	<-r.CaughtUp()
	stop()
	got := p.got()
	if len(got) != n {
		t.Fatalf("folded %d events, want %d", len(got), n)
	}
	for i, pos := range got {
		if pos != uint64(i+1) {
			t.Fatalf("event %d folded at position %d, want %d (out of order or twice)", i, pos, i+1)
		}
	}
}

// TestReplayPipelineDecodeError: a decoding error stops the runner with the
// error naming the event; the fold applied only events before it, and
// nothing of its batch or after, though later batches may have been
// decoded meanwhile.
func TestReplayPipelineDecodeError(t *testing.T) {
	s := leadStore(t)
	pipelineLog(t, s, 500)
	const bad = 333
	decode := func(ctx context.Context, e *events.Envelope) (events.Data, error) {
		if e.Position.Seq() == bad {
			return nil, events.Errorf(events.Internal, "broken")
		}
		return events.Decode(e)
	}
	p := &positions{}
	r := projections.NewRunner(s, decode, []projections.Projection{p}, nil, projections.RunnerOptions{MaxBatch: 10})
	err := r.Run(context.Background())
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("customer-C%05d@0", bad-1)) || !strings.Contains(err.Error(), "broken") {
		t.Fatalf("Run = %v, want the decoding error of customer-C%05d@0", err, bad-1)
	}
	got := p.got()
	for i, pos := range got {
		if pos != uint64(i+1) || pos >= bad {
			t.Fatalf("folded position %d as the %dth event (the bad event is at %d)", pos, i+1, bad)
		}
	}
	if r.Position().Seq() >= bad || r.Position().Seq() != uint64(len(got)) {
		t.Fatalf("runner at %s after folding %d events; the bad event is at %d", r.Position(), len(got), bad)
	}
	select {
	case <-r.CaughtUp():
		t.Fatal("CaughtUp closed though the replay stopped at an error")
	default:
	}
}
