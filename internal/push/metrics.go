package push

import "github.com/prometheus/client_golang/prometheus"

// metrics are the worker's Prometheus series.
type metrics struct {
	sent    *prometheus.CounterVec
	fcmCall prometheus.Histogram
	fanout  prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		sent: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "push_sent_total",
			Help: "Per-device push outcomes: sent; duplicate (already sent, skipped); busy (another worker is sending it); " +
				"unregistered (token deleted); rejected (dead-lettered by FCM's verdict); retried; dead_lettered (out of attempts); " +
				"deferred (quiet hours); no_device; postponed (database or Redis down); poison (undecodable message); empty.",
		}, []string{"result"}),
		fcmCall: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "push_fcm_call_seconds",
			Help:    "Duration of one SendEach call to FCM (up to 500 messages, including the SDK's own retries).",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}),
		fanout: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "push_fanout_members_total",
			Help: "Followers a new event was fanned out to.",
		}),
	}
	for _, r := range []string{"sent", "duplicate", "busy", "unregistered", "rejected", "retried", "dead_lettered", "deferred", "no_device", "postponed", "poison", "empty"} {
		m.sent.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.sent, m.fcmCall, m.fanout)
	}
	return m
}

func (m *metrics) result(r string, n int) { m.sent.WithLabelValues(r).Add(float64(n)) }
