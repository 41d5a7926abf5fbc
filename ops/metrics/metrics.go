// Package metrics wires dangol's Prometheus collectors: a store decorator
// so every backend reports the same append series, and projection gauges.
// Collectors are registered on a registry the caller builds, never globally.
package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/events"
)

// Store wraps an events.Store and counts appends by event type and outcome
// and times them.
type Store struct {
	events.Store
	appended *prometheus.CounterVec
	failed   *prometheus.CounterVec
	duration prometheus.Histogram
}

var _ events.Store = (*Store)(nil)

// InstrumentStore returns s reporting on reg.
func InstrumentStore(s events.Store, reg prometheus.Registerer) *Store {
	m := &Store{Store: s,
		appended: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dangol_events_appended_total",
			Help: "Events appended, by event type."}, []string{"type"}),
		failed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "dangol_append_errors_total",
			Help: "Failed appends, by error code."}, []string{"code"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "dangol_append_duration_seconds",
			Help:    "Append duration, including the group commit's fsync.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}),
	}
	reg.MustRegister(m.appended, m.failed, m.duration)
	return m
}

// Append appends through the wrapped store and records the outcome.
func (m *Store) Append(ctx context.Context, stream string, expected events.ExpectedVersion, evs ...events.Event) (events.AppendResult, error) {
	start := time.Now()
	res, err := m.Store.Append(ctx, stream, expected, evs...)
	m.duration.Observe(time.Since(start).Seconds())
	if err != nil {
		m.failed.WithLabelValues(events.ErrorCode(err)).Inc()
		return res, err
	}
	if !res.Duplicate {
		for _, e := range evs {
			m.appended.WithLabelValues(e.Type).Inc()
		}
	}
	return res, nil
}

// Progress is what projection gauges read.
type Progress interface {
	Position() events.Position
	Lag(ctx context.Context) (behind uint64, seconds float64, err error)
}

// RegisterProjections exports the runner's position and lag.
func RegisterProjections(reg prometheus.Registerer, p Progress) {
	lag := func() (uint64, float64) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		b, s, _ := p.Lag(ctx)
		return b, s
	}
	reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dangol_projection_position",
			Help: "Log position of the last event applied to the read models."},
			func() float64 { return float64(p.Position().Seq()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dangol_projection_lag_events",
			Help: "Events in the log not yet applied to the read models."},
			func() float64 { b, _ := lag(); return float64(b) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "dangol_projection_lag_seconds",
			Help: "Age of the oldest event not yet applied (0 when caught up)."},
			func() float64 { _, s := lag(); return s }),
	)
}
