package projections

import (
	"fmt"
	"testing"
	"time"

	"github.com/dangol/dangol/events"
)

// TestSamplerDayPruneAmortized: when the last two days hold more
// customer-days than the prune threshold (a big bank's normal day), the
// per-day state is not scanned again at every event, which made a replay
// quadratic (50,000 calls of 8,000 customers in a day: 5 s instead of 0.1 s).
func TestSamplerDayPruneAmortized(t *testing.T) {
	sm := NewSampler(DefaultSamplerPolicy(), nil)
	t0 := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	const calls = 50000
	for i := range calls {
		at := t0.Add(time.Duration(i) * time.Second)
		id := fmt.Sprint("K", i)
		env := &events.Envelope{ID: events.NewID(), Stream: events.CallStream(id), RecordedAt: at}
		sm.Apply(Event{Envelope: env, Data: &events.CallRecorded{CallID: id, CustomerID: fmt.Sprint("C", i%8000),
			StaffID: fmt.Sprint("R", i%70), StartedAt: at, DurationSec: 60}})
	}
	if sm.prunes > 8 {
		t.Fatalf("the per-day state was scanned %d times over %d events; want it amortized (a few scans)", sm.prunes, calls)
	}
}
