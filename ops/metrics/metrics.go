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

// lagTimeout bounds the lag's computation in a scrape; a store that does
// not answer within it is reported as an error, not waited for.
const lagTimeout = time.Second

// RegisterProjections exports the read side's position and lag on reg.
//
// The lag is computed once per scrape. When it cannot be (the log's head
// is unreadable: the store is down or closed), the scrape holds no
// dangol_projection_lag_events (or _bytes) or dangol_projection_lag_seconds
// sample at all, rather than a 0 that would read as "caught up", and
// dangol_projection_lag_error is 1; alert on that, or on absent() of the lag.
//
// The lag behind the head is in events unless opts name a log whose
// positions count something else (LagOf).
func RegisterProjections(reg prometheus.Registerer, p Progress, opts ...ProjectionOption) {
	c := &projectionCollector{p: p, behind: lagEventsDesc}
	for _, o := range opts {
		o(c)
	}
	reg.MustRegister(c)
}

// ProjectionOption changes what RegisterProjections exports.
type ProjectionOption func(*projectionCollector)

// lagUnit is a log whose positions are not one per event: LagUnit names
// what the distance between two of them counts ("bytes": events/kurrentdb).
type lagUnit interface{ LagUnit() string }

// LagOf names the lag behind the head by what log's positions count. On a
// log whose LagUnit is "bytes" (KurrentDB: $all's commit positions are
// byte offsets in its transaction log) the lag is exported as
// dangol_projection_lag_bytes, the bytes of $all not yet passed (other
// ledgers' and system records included), and no
// dangol_projection_lag_events sample is; on any other log, the default,
// dangol_projection_lag_events. log may be the instrumented Store.
func LagOf(log events.Store) ProjectionOption {
	return func(c *projectionCollector) {
		if u, ok := log.(lagUnit); ok && u.LagUnit() == "bytes" {
			c.behind = lagBytesDesc
		}
	}
}

// Unwrap returns the wrapped store, for what looks past the metrics for a
// capability of its own (events.BatchSubscriber: reads are not measured).
func (m *Store) Unwrap() events.Store { return m.Store }

// LagUnit returns what the distance between two of the wrapped store's
// positions counts: its own LagUnit, or "events".
func (m *Store) LagUnit() string {
	if u, ok := m.Store.(lagUnit); ok {
		return u.LagUnit()
	}
	return "events"
}

var (
	positionDesc = prometheus.NewDesc("dangol_projection_position",
		"Log position of the last event applied to the read models (on KurrentDB a commit position: a byte offset in $all).", nil, nil)
	lagEventsDesc = prometheus.NewDesc("dangol_projection_lag_events",
		"Events in the log not yet applied to the read models (no sample when it cannot be computed; on KurrentDB see dangol_projection_lag_bytes).", nil, nil)
	lagBytesDesc = prometheus.NewDesc("dangol_projection_lag_bytes",
		"KurrentDB only: bytes of $all (its commit positions) between the last event applied to the read models and the log's head, other ledgers' and system records included; KurrentDB counts no events by position (no sample when it cannot be computed).", nil, nil)
	lagSecondsDesc = prometheus.NewDesc("dangol_projection_lag_seconds",
		"Age of the oldest event not yet applied, 0 when caught up (no sample when it cannot be computed).", nil, nil)
	lagErrorDesc = prometheus.NewDesc("dangol_projection_lag_error",
		"1 if this scrape could not compute the projection lag (the log's head was unreadable), else 0.", nil, nil)
)

// projectionCollector reads the position and computes the lag once per
// Collect, so the two lag series of one scrape agree. behind is the lag's
// series in the log's unit; both units are described, so that whoever
// lists the served metrics (ops/grafana's test) sees each.
type projectionCollector struct {
	p      Progress
	behind *prometheus.Desc
}

func (c *projectionCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- positionDesc
	ch <- lagEventsDesc
	ch <- lagBytesDesc
	ch <- lagSecondsDesc
	ch <- lagErrorDesc
}

func (c *projectionCollector) Collect(ch chan<- prometheus.Metric) {
	ch <- prometheus.MustNewConstMetric(positionDesc, prometheus.GaugeValue, float64(c.p.Position().Seq()))
	ctx, cancel := context.WithTimeout(context.Background(), lagTimeout)
	defer cancel()
	behind, seconds, err := c.p.Lag(ctx)
	if err != nil {
		ch <- prometheus.MustNewConstMetric(lagErrorDesc, prometheus.GaugeValue, 1)
		return
	}
	ch <- prometheus.MustNewConstMetric(lagErrorDesc, prometheus.GaugeValue, 0)
	ch <- prometheus.MustNewConstMetric(c.behind, prometheus.GaugeValue, float64(behind))
	ch <- prometheus.MustNewConstMetric(lagSecondsDesc, prometheus.GaugeValue, seconds)
}
