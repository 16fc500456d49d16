package fedgrpc

import (
	"net"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are the server's Prometheus metrics. Create them with
// NewMetrics on a registry of the caller's (never the global one); a nil
// *Metrics records nothing.
type Metrics struct {
	Round         prometheus.Gauge         // fdrmfl_round
	Clients       prometheus.Gauge         // fdrmfl_clients_connected
	BytesIn       prometheus.Counter       // fdrmfl_bytes_received_total
	BytesOut      prometheus.Counter       // fdrmfl_bytes_sent_total
	PhaseDuration *prometheus.HistogramVec // fdrmfl_round_duration_seconds{phase}
	Updates       *prometheus.CounterVec   // fdrmfl_updates_total{outcome}
	// Rejections counts fit updates a round did not merge, by cause
	// (fed.CauseFailed, CauseInvalid, CauseOutlier, CauseMissing):
	// fdrmfl_round_rejections_total{cause}.
	Rejections *prometheus.CounterVec
	// AuthFailures counts calls refused for their credentials, by reason:
	// fdrmfl_auth_failures_total{reason}.
	AuthFailures *prometheus.CounterVec
	// Refused counts connections and calls refused before any
	// authentication, by reason (plaintext to TLS, TLS to plaintext, a
	// failed handshake, a peer over its connection limit, rate limits):
	// fdrmfl_refused_total{reason}.
	Refused *prometheus.CounterVec

	in, out atomic.Int64 // the same bytes, for tests and benchmarks
}

// NewMetrics creates the metrics and registers them with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		Round: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fdrmfl_round", Help: "The round the federation is in (the last completed one between rounds).",
		}),
		Clients: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "fdrmfl_clients_connected", Help: "Clients with a live session.",
		}),
		BytesIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fdrmfl_bytes_received_total", Help: "Bytes read from client connections (TLS records included).",
		}),
		BytesOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "fdrmfl_bytes_sent_total", Help: "Bytes written to client connections (TLS records included).",
		}),
		PhaseDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "fdrmfl_round_duration_seconds",
			Help:    "Wall time of a round's phase, from handing out the tasks to the last answer or the deadline.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
		}, []string{"phase"}),
		Updates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "fdrmfl_updates_total", Help: "Task results by outcome: accepted, rejected (invalid), failed (client error), late, lost (client gone).",
		}, []string{"outcome"}),
	}
	m.Rejections = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fdrmfl_round_rejections_total", Help: "Fit updates a round did not merge, by cause: failed, invalid, outlier (beyond the adaptive norm bound), missing (deadline).",
	}, []string{"cause"})
	m.AuthFailures = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fdrmfl_auth_failures_total", Help: "Calls refused for their credentials, by reason: no credentials, unknown token, revoked, not a member, malformed.",
	}, []string{"reason"})
	m.Refused = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "fdrmfl_refused_total", Help: "Connections and calls refused before authentication, by reason: plaintext (to a TLS server), tls (to a plaintext server), handshake, peer_limit, rate_limit.",
	}, []string{"reason"})
	reg.MustRegister(m.Round, m.Clients, m.BytesIn, m.BytesOut, m.PhaseDuration, m.Updates, m.Rejections, m.AuthFailures, m.Refused)
	return m
}

// Rejected counts a fit update a round did not merge, for its cause.
func (m *Metrics) Rejected(cause string) {
	if m != nil {
		m.Rejections.WithLabelValues(cause).Inc()
	}
}

func (m *Metrics) authFailure(reason string) {
	if m != nil {
		m.AuthFailures.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) refused(reason string) {
	if m != nil {
		m.Refused.WithLabelValues(reason).Inc()
	}
}

func (m *Metrics) update(outcome string) {
	if m != nil {
		m.Updates.WithLabelValues(outcome).Inc()
	}
}

func (m *Metrics) clients(n int) {
	if m != nil {
		m.Clients.Set(float64(n))
	}
}

// WireBytes returns the bytes read from and written to client connections
// so far.
func (m *Metrics) WireBytes() (in, out int64) {
	if m == nil {
		return 0, 0
	}
	return m.in.Load(), m.out.Load()
}

// CountingListener wraps l so that every byte read from or written to its
// connections is counted in m.
func CountingListener(l net.Listener, m *Metrics) net.Listener {
	if m == nil {
		return l
	}
	return &countingListener{Listener: l, m: m}
}

type countingListener struct {
	net.Listener
	m *Metrics
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &countingConn{Conn: c, m: l.m}, nil
}

type countingConn struct {
	net.Conn
	m *Metrics
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.m.in.Add(int64(n))
		c.m.BytesIn.Add(float64(n))
	}
	return n, err
}

func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.m.out.Add(int64(n))
		c.m.BytesOut.Add(float64(n))
	}
	return n, err
}
