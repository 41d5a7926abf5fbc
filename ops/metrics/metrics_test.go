package metrics_test

import (
	"context"
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

// gauges scrapes reg and returns each single-sample gauge's value by name.
func gauges(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("scrape: %v", err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetType() == dto.MetricType_GAUGE && len(mf.Metric) == 1 {
			out[mf.GetName()] = mf.Metric[0].GetGauge().GetValue()
		}
	}
	return out
}

// TestProjectionLag: a scrape computes the lag once, and while the log's
// head cannot be read it exposes no lag sample (never a 0 that reads as
// caught up) and sets dangol_projection_lag_error.
func TestProjectionLag(t *testing.T) {
	recorded := eventstest.Epoch
	store, err := bolt.Open(filepath.Join(t.TempDir(), "events.db"), bolt.Options{Now: func() time.Time { return recorded }})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	for i := range 5 {
		if _, err := store.Append(t.Context(), events.CustomerStream("C1"), events.Any, eventstest.NewEvent("ContactLogged", `{"n":1}`)); err != nil {
			t.Fatalf("append %d: %v", i, err)
		}
	}
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
