package metrics_test

import (
	"log/slog"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/events"
	"github.com/dangol/dangol/events/kurrentdb"
	"github.com/dangol/dangol/ops/metrics"
	"github.com/dangol/dangol/projections"
)

// TestProjectionLagUnit: the projection lag is named by what the log's
// positions count. Over the embedded store (one position an event) it is
// dangol_projection_lag_events; over KurrentDB, whose positions are byte
// offsets in $all, it is dangol_projection_lag_bytes and no
// dangol_projection_lag_events sample is exposed, given the log itself or
// the instrumented store wrapping it. No KurrentDB server runs here: its
// store is opened (no traffic before the first call) only to be named.
func TestProjectionLagUnit(t *testing.T) {
	store, recorded := fiveEvents(t)
	kdb, err := kurrentdb.Open("esdb://127.0.0.1:1?tls=false", kurrentdb.Options{Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	defer kdb.Close()
	runner := projections.NewRunner(store, nil, nil, nil, projections.RunnerOptions{Now: func() time.Time { return recorded.Add(90 * time.Second) }})

	for _, tc := range []struct {
		name      string
		log       func(reg prometheus.Registerer) events.Store
		want, not string
	}{
		{"embedded", func(prometheus.Registerer) events.Store { return store }, "dangol_projection_lag_events", "dangol_projection_lag_bytes"},
		{"embedded, instrumented", func(reg prometheus.Registerer) events.Store { return metrics.InstrumentStore(store, reg) },
			"dangol_projection_lag_events", "dangol_projection_lag_bytes"},
		{"kurrentdb", func(prometheus.Registerer) events.Store { return kdb }, "dangol_projection_lag_bytes", "dangol_projection_lag_events"},
		{"kurrentdb, instrumented", func(reg prometheus.Registerer) events.Store { return metrics.InstrumentStore(kdb, reg) },
			"dangol_projection_lag_bytes", "dangol_projection_lag_events"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			metrics.RegisterProjections(reg, runner, metrics.LagOf(tc.log(reg)))
			got := gauges(t, reg)
			if v, ok := got[tc.want]; !ok || v != 5 {
				t.Errorf("%s = %v (present %v), want the runner's 5", tc.want, v, ok)
			}
			if v, ok := got[tc.not]; ok {
				t.Errorf("%s = %v; want no sample", tc.not, v)
			}
			if got["dangol_projection_lag_seconds"] != 90 {
				t.Errorf("dangol_projection_lag_seconds = %v, want 90", got["dangol_projection_lag_seconds"])
			}
		})
	}
}
