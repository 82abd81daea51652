package issue

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/couponpop/couponpop/internal/derrors"
)

type metrics struct {
	outcomes     *prometheus.CounterVec
	batchSize    prometheus.Histogram
	flushSeconds prometheus.Histogram
	gateBypass   prometheus.Counter
	lockBypass   prometheus.Counter
	gateBuilds   prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		outcomes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "issue_outcomes_total", Help: "Issue requests by outcome (ISSUED or the error code).",
		}, []string{"outcome"}),
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "issue_batch_size", Help: "Coupons per group-commit batch.",
			Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500},
		}),
		flushSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "issue_flush_seconds", Help: "Time to lock, write and commit one batch.",
			Buckets: prometheus.ExponentialBuckets(0.0005, 2, 14),
		}),
		gateBypass: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "issue_gate_bypass_total", Help: "Requests sent to PostgreSQL without the Redis gate because Redis was unreachable.",
		}),
		lockBypass: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "issue_lock_bypass_total", Help: "Batches written without the redsync lock because its Redis quorum was unreachable.",
		}),
		gateBuilds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "issue_gate_builds_total", Help: "Gates rebuilt from PostgreSQL.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.outcomes, m.batchSize, m.flushSeconds, m.gateBypass, m.lockBypass, m.gateBuilds)
	}
	return m
}

func (m *metrics) outcome(err error) {
	switch e, ok := derrors.As(err); {
	case err == nil:
		m.outcomes.WithLabelValues("ISSUED").Inc()
	case ok:
		m.outcomes.WithLabelValues(e.Code).Inc()
	default:
		m.outcomes.WithLabelValues("ERROR").Inc()
	}
}
