package scheduler

import (
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
	t := string(tier)
	m.invocations.WithLabelValues(t, string(r.Outcome)).Inc()
	m.duration.WithLabelValues(t).Observe(r.Duration.Seconds())
	if cold {
		m.coldStarts.WithLabelValues(t).Inc()
	}
	switch r.Outcome {
	case rt.Timeout:
		m.timeouts.WithLabelValues(t).Inc()
	case rt.OutOfMemory:
		m.oom.WithLabelValues(t).Inc()
	}
}

func (m *Metrics) setIdle(tier rt.Tier, delta int) {
	if m == nil {
		return
	}
	m.warm.WithLabelValues(string(tier)).Add(float64(delta))
}
