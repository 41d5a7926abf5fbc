package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dangol/dangol/projections"
)

// Reactors is what the reactor gauges read: the in-memory runner or the
// PostgreSQL read store's writer (projections.Runner.ReactorStats).
type Reactors interface {
	ReactorStats() projections.ReactorStats
}

// RegisterReactors exports the reactors' append backlog on reg, so that an
// operator sees a start's decisions drain (dangol_reactor_queued falling to
// 0), a store that refuses them (dangol_reactor_refused_total rising),
// decisions overtaken by newer writes (dangol_reactor_overtaken_total: each
// is decided again, so a steady rise means writers racing the reactors, not
// lost work) and a paused appender (dangol_reactor_paused 1) apart from the
// read side's lag.
func RegisterReactors(reg prometheus.Registerer, r Reactors) {
	reg.MustRegister(&reactorCollector{r: r})
}

var (
	reactorQueuedDesc = prometheus.NewDesc("dangol_reactor_queued",
		"Reactor decisions handed out and waiting for an append worker.", nil, nil)
	reactorInFlightDesc = prometheus.NewDesc("dangol_reactor_in_flight",
		"Reactor decisions being appended.", nil, nil)
	reactorAppendedDesc = prometheus.NewDesc("dangol_reactor_appended_total",
		"Reactor decisions appended since start (a duplicate of one already in the log counts).", nil, nil)
	reactorRefusedDesc = prometheus.NewDesc("dangol_reactor_refused_total",
		"Reactor decisions the store refused for good since start; each is dropped until the next start.", nil, nil)
	reactorOvertakenDesc = prometheus.NewDesc("dangol_reactor_overtaken_total",
		"Reactor decisions overtaken since start: a later event on the stream moved it past the version decided against, so nothing was appended and the reactor decides again from its fold.", nil, nil)
	reactorPausedDesc = prometheus.NewDesc("dangol_reactor_paused",
		"1 while reactor appends wait out a backoff because the store is unavailable, else 0.", nil, nil)
)

type reactorCollector struct{ r Reactors }

func (c *reactorCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{reactorQueuedDesc, reactorInFlightDesc, reactorAppendedDesc, reactorRefusedDesc, reactorOvertakenDesc, reactorPausedDesc} {
		ch <- d
	}
}

func (c *reactorCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.r.ReactorStats()
	paused := 0.0
	if st.Paused {
		paused = 1
	}
	ch <- prometheus.MustNewConstMetric(reactorQueuedDesc, prometheus.GaugeValue, float64(st.Queued))
	ch <- prometheus.MustNewConstMetric(reactorInFlightDesc, prometheus.GaugeValue, float64(st.InFlight))
	ch <- prometheus.MustNewConstMetric(reactorAppendedDesc, prometheus.CounterValue, float64(st.Appended))
	ch <- prometheus.MustNewConstMetric(reactorRefusedDesc, prometheus.CounterValue, float64(st.Refused))
	ch <- prometheus.MustNewConstMetric(reactorOvertakenDesc, prometheus.CounterValue, float64(st.Overtaken))
	ch <- prometheus.MustNewConstMetric(reactorPausedDesc, prometheus.GaugeValue, paused)
}
