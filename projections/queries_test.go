package projections_test

import (
	"context"
	"testing"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/projections"
	"github.com/dangol/dangol/projections/projectionstest"
)

// memoryStore is Memory kept current by its Runner, as serve runs it.
type memoryStore struct {
	*projections.Memory
	*projections.Runner
}

// TestQueriesConformance runs the read side's conformance suite on the
// in-memory read store.
func TestQueriesConformance(t *testing.T) {
	projectionstest.TestQueries(t, func(tb testing.TB, log projections.Source) projectionstest.ReadStore {
		m := projections.NewMemory(projections.WithSearchIndex(projectionstest.SearchIndex()))
		decode := func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
		r := projections.NewRunner(log, decode, m.Projections(), nil,
			projections.RunnerOptions{Now: eventstest.Clock(projectionstest.T0)})
		m.Attach(r)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- r.Run(ctx) }()
		tb.Cleanup(func() {
			cancel()
			if err := <-done; err != nil {
				tb.Errorf("runner: %v", err)
			}
		})
		return memoryStore{m, r}
	})
}
