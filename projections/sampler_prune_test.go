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

// TestSamplerPruneKeepsComplaintWindow: under a plan of complaintDays 10
// the per-day state keeps the calls a complaint may still select when it
// prunes: a complaint 8 days after a call selects it, though the sampler
// pruned its days meanwhile.
func TestSamplerPruneKeepsComplaintWindow(t *testing.T) {
	sm := NewSampler(SamplerPolicy{ComplaintDays: 1}, nil)
	t0 := time.Date(2026, 11, 10, 0, 0, 0, 0, time.UTC)
	apply := func(stream string, at time.Time, d events.Data) {
		sm.Apply(Event{Envelope: &events.Envelope{ID: events.NewID(), Stream: stream, RecordedAt: at}, Data: d})
	}
	apply(events.SamplingSettingsStream, t0, &events.SamplingPlanPublished{Version: 1, ComplaintDays: 10})
	apply(events.CallStream("X"), t0, &events.CallRecorded{CallID: "X", CustomerID: "CX", StaffID: "R1", StartedAt: t0, DurationSec: 60})
	const calls = 6000
	for i := range calls {
		at := t0.Add(time.Duration(i) * 8 * 24 * time.Hour / calls)
		id := fmt.Sprint("K", i)
		apply(events.CallStream(id), at, &events.CallRecorded{CallID: id, CustomerID: fmt.Sprint("C", i), StaffID: "R2", StartedAt: at, DurationSec: 60})
	}
	if sm.prunes == 0 {
		t.Fatal("the per-day state was never pruned: the test shows nothing")
	}
	at := t0.AddDate(0, 0, 8)
	apply(events.CustomerStream("CX"), at, &events.ContactLogged{Channel: "phone_inbound", Purpose: "complaint", Summary: "s", OccurredAt: at})
	if p, ok := sm.pending["X"]; !ok || p.reason != "complaint" || p.plan != 1 {
		t.Fatalf("call X 8 days before the complaint: %+v (decided %v), want complaint under plan 1", p, ok)
	}
}
