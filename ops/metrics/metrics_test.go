package metrics_test

import (
	"context"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/bolt"
	"github.com/dangol/dangol/events/eventstest"
	"github.com/dangol/dangol/ops/metrics"
	"github.com/dangol/dangol/projections"
)

// countingProgress is the real runner, counting how often a scrape asks it
// for the lag.
type countingProgress struct {
	*projections.Runner
	lagCalls atomic.Int64
}

func (c *countingProgress) Lag(ctx context.Context) (uint64, float64, error) {
	c.lagCalls.Add(1)
	return c.Runner.Lag(ctx)
}

// samples scrapes reg and returns the value of each single-sample series
// of type typ by name.
func samples(t *testing.T, reg *prometheus.Registry, typ dto.MetricType) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() != typ || len(mf.Metric) != 1 {
			continue
		}
		if typ == dto.MetricType_COUNTER {
			out[mf.GetName()] = mf.Metric[0].GetCounter().GetValue()
		} else {
			out[mf.GetName()] = mf.Metric[0].GetGauge().GetValue()
		}
	}
	return out
}

// fiveEvents returns an embedded store holding 5 events, closed at the end
// of the test, and the time they were recorded at.
func fiveEvents(t *testing.T) (*bolt.Store, time.Time) {
	t.Helper()
	recorded := eventstest.Epoch
	store, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: func() time.Time { return recorded }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	for i := range 5 {
		if _, err := store.Append(t.Context(), events.CustomerStream("C1"), events.Any, eventstest.NewEvent("ContactLogged", `{"n":1}`)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
	return store, recorded
}

func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	return samples(t, reg, dto.MetricType_GAUGE)
}

// TestProjectionLag: a scrape computes the lag once, and while the log's
// head cannot be read it exposes no lag sample (never a 0 that reads as
// caught up) and sets dangol_projection_lag_error.
func TestProjectionLag(t *testing.T) {
	store, recorded := fiveEvents(t)
	// The runner is not run: it stays at the start, 5 events behind, the
	// oldest recorded 90 s before its clock.
	runner := projections.NewRunner(store, nil, nil, nil, projections.RunnerOptions{Now: func() time.Time { return recorded.Add(90 * time.Second) }})
	p := &countingProgress{Runner: runner}
	reg := prometheus.NewRegistry()
	metrics.RegisterProjections(reg, p)

	got := gauges(t, reg)
	want := map[string]float64{"dangol_projection_position": 0, "dangol_projection_lag_events": 5,
		"dangol_projection_lag_seconds": 90, "dangol_projection_lag_error": 0}
	for name, v := range want {
		if g, ok := got[name]; !ok || g != v {
			t.Errorf("%s = %v (present %v), want %v", name, g, ok, v)
		}
	}
	if n := p.lagCalls.Load(); n != 1 {
		t.Errorf("one scrape computed the lag %d times, want once", n)
	}

	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
	got = gauges(t, reg)
	for _, name := range []string{"dangol_projection_lag_events", "dangol_projection_lag_seconds"} {
		if v, ok := got[name]; ok {
			t.Errorf("with the store closed, %s = %v; want no sample", name, v)
		}
	}
	if got["dangol_projection_lag_error"] != 1 {
		t.Errorf("with the store closed, dangol_projection_lag_error = %v, want 1", got["dangol_projection_lag_error"])
	}
	if _, ok := got["dangol_projection_position"]; !ok {
		t.Error("the position, known without the store, is missing")
	}
}

// TestReactorMetrics: once the sampler's decisions on 3 new calls have
// landed, the scrape counts 3 appended and nothing queued, in flight,
// refused or paused.
func TestReactorMetrics(t *testing.T) {
	store, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: eventstest.Clock(eventstest.Epoch)})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for k := range 3 {
		id := fmt.Sprintf("K%d", k)
		ev, err := events.NewEvent(&events.CallRecorded{CallID: id, CustomerID: "C1", StaffID: "R1", Direction: "inbound",
			StartedAt: eventstest.Epoch.Add(-time.Hour), DurationSec: 60,
			Recording: events.Recording{SHA256: fmt.Sprintf("%064x", k), ContentType: "audio/wav", Bytes: 1}}, events.Meta{Actor: events.Actor{ID: "R1", Role: "rep"}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := store.Append(t.Context(), events.CallStream(id), events.NoStream, ev); err != nil {
			t.Fatal(err)
		}
	}
	decode := func(_ context.Context, e *events.Envelope) (events.Data, error) { return events.Decode(e) }
	sampler := projections.NewSampler(projections.DefaultSamplerPolicy(), store) // the first 5 calls of a rep: new_rep
	runner := projections.NewRunner(store, decode, nil, []projections.Reactor{sampler}, projections.RunnerOptions{Now: eventstest.Clock(eventstest.Epoch)})
	reg := prometheus.NewRegistry()
	metrics.RegisterReactors(reg, runner)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- runner.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(ctx, 30*time.Second) // only a hang exceeds it
	defer wcancel()
	if err := runner.WaitReactorsIdle(wctx); err != nil {
		t.Fatal(err)
	}
	g, c := gauges(t, reg), samples(t, reg, dto.MetricType_COUNTER)
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if c["dangol_reactor_appended_total"] != 3 || c["dangol_reactor_refused_total"] != 0 {
		t.Errorf("counters %v; want 3 appended, 0 refused", c)
	}
	for _, name := range []string{"dangol_reactor_queued", "dangol_reactor_in_flight", "dangol_reactor_paused"} {
		if v, ok := g[name]; !ok || v != 0 {
			t.Errorf("%s = %v (present %v), want 0", name, v, ok)
		}
	}
}
