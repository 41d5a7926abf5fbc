package projections_test

import (
	"context"
	"slices"
	"sync"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/projections"
)

// TestRunnerPrefetchBeforeDecode: RunnerOptions.Prefetch is handed each
// batch before any event of it is decoded, every event in exactly one
// batch, and the fold is the same as without it.
func TestRunnerPrefetchBeforeDecode(t *testing.T) {
	s := leadStore(t)
	const n = 2000
	pipelineLog(t, s, n)
	var mu sync.Mutex
	prefetched := map[uint64]int{}
	decodedFirst := 0
	decode := func(ctx context.Context, e *events.Envelope) (events.Data, error) {
		mu.Lock()
		if prefetched[e.Position.Seq()] == 0 {
			decodedFirst++
		}
		mu.Unlock()
		return events.Decode(e)
	}
	prefetch := func(ctx context.Context, envs []events.Envelope) {
		mu.Lock()
		defer mu.Unlock()
		for i := range envs {
			prefetched[envs[i].Position.Seq()]++
		}
	}
	p := &positions{}
	r := projections.NewRunner(s, decode, []projections.Projection{p}, nil, projections.RunnerOptions{MaxBatch: 16, Prefetch: prefetch})
	stop := started(t, r)
	<-r.CaughtUp()
	stop()
	want := make([]uint64, n)
	for i := range want {
		want[i] = uint64(i + 1)
	}
	if !slices.Equal(p.got(), want) {
		t.Fatal("the fold did not meet every event once, in log order")
	}
	mu.Lock()
	defer mu.Unlock()
	if decodedFirst != 0 {
		t.Fatalf("%d events decoded before their batch was prefetched", decodedFirst)
	}
	for pos := uint64(1); pos <= n; pos++ {
		if prefetched[pos] != 1 {
			t.Fatalf("event %d prefetched %d times, want once", pos, prefetched[pos])
		}
	}
}
