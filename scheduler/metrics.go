package scheduler

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	rt "github.com/reactord/reactord/runtime"
)

// Metrics are a worker's Prometheus metrics. A nil *Metrics records nothing.
type Metrics struct {
	invocations *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	coldStarts  *prometheus.CounterVec
	timeouts    *prometheus.CounterVec
	oom         *prometheus.CounterVec
	warm        *prometheus.GaugeVec

	// byTier and byOutcome keep the labelled series, so that recording an invocation
	// does not hash its labels again each time.
	byTier    sync.Map // rt.Tier -> *tierSeries
	byOutcome sync.Map // [2]string{tier, outcome} -> prometheus.Counter
}

// tierSeries are one tier's series.
type tierSeries struct {
	duration                  prometheus.Observer
	coldStarts, timeouts, oom prometheus.Counter
	warm                      prometheus.Gauge
}

func (m *Metrics) tier(t rt.Tier) *tierSeries {
	if s, ok := m.byTier.Load(t); ok {
		return s.(*tierSeries)
	}
	l := string(t)
	s, _ := m.byTier.LoadOrStore(t, &tierSeries{duration: m.duration.WithLabelValues(l),
		coldStarts: m.coldStarts.WithLabelValues(l), timeouts: m.timeouts.WithLabelValues(l),
		oom: m.oom.WithLabelValues(l), warm: m.warm.WithLabelValues(l)})
	return s.(*tierSeries)
}

func (m *Metrics) outcome(t rt.Tier, o rt.Outcome) prometheus.Counter {
	key := [2]string{string(t), string(o)}
	if c, ok := m.byOutcome.Load(key); ok {
		return c.(prometheus.Counter)
	}
	c, _ := m.byOutcome.LoadOrStore(key, m.invocations.WithLabelValues(key[0], key[1]))
	return c.(prometheus.Counter)
}

// NewMetrics registers the worker metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		invocations: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reactord_invocations_total",
			Help: "Invocations run by this worker, by tier and outcome."}, []string{"tier", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "reactord_invocation_duration_seconds",
			Help:    "Time spent running invocations on instances.",
			Buckets: []float64{50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 1, 2.5, 10, 30}}, []string{"tier"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reactord_cold_starts_total",
			Help: "Invocations that started a new instance."}, []string{"tier"}),
		timeouts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reactord_timeouts_total",
			Help: "Invocations stopped at their timeout."}, []string{"tier"}),
		oom: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "reactord_out_of_memory_total",
			Help: "Invocations stopped at their memory limit."}, []string{"tier"}),
		warm: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "reactord_warm_instances",
			Help: "Idle initialized instances ready for an invocation."}, []string{"tier"}),
	}
	reg.MustRegister(m.invocations, m.duration, m.coldStarts, m.timeouts, m.oom, m.warm)
	return m
}

func (m *Metrics) observe(tier rt.Tier, r rt.Response, cold bool) {
	if m == nil {
		return
	}
	ts := m.tier(tier)
	m.outcome(tier, r.Outcome).Inc()
	ts.duration.Observe(r.Duration.Seconds())
	if cold {
		ts.coldStarts.Inc()
	}
	switch r.Outcome {
	case rt.Timeout:
		ts.timeouts.Inc()
	case rt.OutOfMemory:
		ts.oom.Inc()
	}
}

func (m *Metrics) setIdle(tier rt.Tier, delta int) {
	if m == nil {
		return
	}
	m.tier(tier).warm.Add(float64(delta))
}
