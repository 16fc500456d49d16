package fedgrpc

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
)

// Limits bound what a caller can make the server hold. The zero value
// of each field is its default.
type Limits struct {
	// Streams is the most calls at once on one connection (0: 16).
	Streams int
	// CallsPerClient is the most calls at once of one member across its
	// connections (0: 8); a client needs four (pull, heartbeat, download
	// or upload, register).
	CallsPerClient int
	// Open is the most calls at once without credentials, to the open
	// health service (0: 4), from everyone together.
	Open int
	// PeerConnections is the most connections at once from one IP address
	// (0: 32), counted by Listener.
	PeerConnections int
	// Register and Pull are each member's sustained calls per second, with
	// bursts of RegisterBurst and PullBurst (0: 1/s and 10; 50/s and 100).
	Register, Pull           float64
	RegisterBurst, PullBurst int
	// Handshake bounds a connection's TLS handshake and, in Listener, the
	// wait for its first bytes (0: 10 s).
	Handshake time.Duration
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.Streams, 16)
	def(&l.CallsPerClient, 8)
	def(&l.Open, 4)
	def(&l.PeerConnections, 32)
	def(&l.RegisterBurst, 10)
	def(&l.PullBurst, 100)
	if l.Register <= 0 {
		l.Register = 1
	}
	if l.Pull <= 0 {
		l.Pull = 50
	}
	if l.Handshake <= 0 {
		l.Handshake = 10 * time.Second
	}
	return l
}

// guard admits each new call in the transport, before a byte of its
// message is read (grpc.InTapHandle): it checks the caller's credentials
// from the call's headers and connection, and the caller's rate and
// concurrency limits. A refused call costs the server its headers only.
type guard struct {
	auth    *Auth
	lim     Limits
	log     *slog.Logger
	metrics *Metrics

	mu       sync.Mutex
	inFlight map[string]int // by member
	open     int            // calls without credentials in flight
	limiters map[string]*rate.Limiter
	noisy    limitedLog
}

func newGuard(a *Auth, lim Limits, log *slog.Logger, m *Metrics) *guard {
	return &guard{auth: a, lim: lim.withDefaults(), log: log, metrics: m, inFlight: map[string]int{}, limiters: map[string]*rate.Limiter{}}
}

// tap is the grpc.InTapHandle. It runs in the connection's reader
// goroutine: it must not block.
func (g *guard) tap(ctx context.Context, info *tap.Info) (context.Context, error) {
	if !guarded(info.FullMethodName) {
		return g.admitOpen(ctx)
	}
	if g.auth == nil {
		return ctx, nil
	}
	name, err := g.auth.identify(ctx)
	if err != nil {
		reason := authReason(err)
		g.metrics.authFailure(reason)
		g.noisy.warn(g.log, "credentials refused", "reason", reason, "peer", peerAddr(ctx), "method", info.FullMethodName, "err", status.Convert(err).Message())
		return nil, err
	}
	method := info.FullMethodName[strings.LastIndexByte(info.FullMethodName, '/')+1:]
	if lim := g.limiter(name, method); lim != nil && !lim.Allow() {
		g.metrics.refused("rate_limit")
		g.noisy.warn(g.log, "call over its rate limit refused", "client", name, "method", method)
		return nil, status.Errorf(codes.ResourceExhausted, "too many %s calls from %s: slow down", method, name)
	}
	g.mu.Lock()
	if g.inFlight[name] >= g.lim.CallsPerClient {
		g.mu.Unlock()
		g.metrics.refused("calls_per_client")
		g.noisy.warn(g.log, "call over the client's concurrent calls refused", "client", name, "method", method, "limit", g.lim.CallsPerClient)
		return nil, status.Errorf(codes.ResourceExhausted, "%s has %d calls in progress already", name, g.lim.CallsPerClient)
	}
	g.inFlight[name]++
	g.mu.Unlock()
	// The call's context ends with the call: then its slot is free again.
	go func() {
		<-ctx.Done()
		g.mu.Lock()
		if g.inFlight[name]--; g.inFlight[name] <= 0 {
			delete(g.inFlight, name)
		}
		g.mu.Unlock()
	}()
	return context.WithValue(ctx, callerKey{}, name), nil
}

// admitOpen admits a call to the open health service while fewer than
// Open such calls are in flight: their messages are read before anyone
// is known, so there are few of them at a time.
func (g *guard) admitOpen(ctx context.Context) (context.Context, error) {
	g.mu.Lock()
	if g.open >= g.lim.Open {
		g.mu.Unlock()
		g.metrics.refused("open_calls")
		return nil, status.Error(codes.ResourceExhausted, "too many health checks at once")
	}
	g.open++
	g.mu.Unlock()
	go func() {
		<-ctx.Done()
		g.mu.Lock()
		g.open--
		g.mu.Unlock()
	}()
	return ctx, nil
}

// limiter returns the rate limiter of a member's method (nil: none).
func (g *guard) limiter(name, method string) *rate.Limiter {
	var r float64
	var b int
	switch method {
	case "Register":
		r, b = g.lim.Register, g.lim.RegisterBurst
	case "Pull":
		r, b = g.lim.Pull, g.lim.PullBurst
	default:
		return nil
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	key := name + "/" + method
	l := g.limiters[key]
	if l == nil {
		l = rate.NewLimiter(rate.Limit(r), b)
		g.limiters[key] = l
	}
	return l
}

// authReason names a refusal for the metrics.
func authReason(err error) string {
	msg := status.Convert(err).Message()
	switch {
	case strings.Contains(msg, "no credentials"):
		return "no_credentials"
	case strings.Contains(msg, "unknown token"):
		return "unknown_token"
	case strings.Contains(msg, "revoked"):
		return "revoked"
	case strings.Contains(msg, "not a member"):
		return "not_a_member"
	}
	return "malformed"
}

func peerAddr(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok && p.Addr != nil {
		return p.Addr.String()
	}
	return "unknown"
}

// limitedLog writes at most one line a second; the next line says how
// many were left out, so that a flood cannot fill the disk with logs.
type limitedLog struct {
	mu      sync.Mutex
	last    time.Time
	dropped int
}

func (l *limitedLog) warn(log *slog.Logger, msg string, args ...any) {
	l.mu.Lock()
	now := time.Now()
	if now.Sub(l.last) < time.Second {
		l.dropped++
		l.mu.Unlock()
		return
	}
	l.last = now
	dropped := l.dropped
	l.dropped = 0
	l.mu.Unlock()
	if dropped > 0 {
		args = append(args, "similar_lines_left_out", dropped)
	}
	log.Warn(msg, args...)
}

// reporting wraps the server's transport credentials to log (rate
// limited) and count failed handshakes with a reason a person can act on.
type reporting struct {
	credentials.TransportCredentials
	g *guard
}

func (r reporting) ServerHandshake(raw net.Conn) (net.Conn, credentials.AuthInfo, error) {
	conn, info, err := r.TransportCredentials.ServerHandshake(raw)
	if err != nil {
		r.g.metrics.refused("handshake")
		r.g.noisy.warn(r.g.log, "TLS handshake failed", "peer", raw.RemoteAddr().String(), "reason", HandshakeHint(err, true), "err", err)
	}
	return conn, info, err
}

func (r reporting) Clone() credentials.TransportCredentials {
	return reporting{r.TransportCredentials.Clone(), r.g}
}

// HandshakeHint explains a TLS failure: on the server's side (server
// true) or the client's. It returns "" when it has nothing to add.
func HandshakeHint(err error, server bool) string {
	if err == nil {
		return ""
	}
	msg := err.Error()
	has := func(s ...string) bool {
		for _, x := range s {
			if strings.Contains(msg, x) {
				return true
			}
		}
		return false
	}
	switch {
	case server && has("unknown certificate authority", "bad certificate"):
		return "the client does not trust this server's certificate: its client.ca is not the CA that signed server.crt"
	case server && has("client didn't provide a certificate"):
		return "the client sent no certificate, and server.tls.require_client_cert is set"
	case server && has("certificate signed by unknown authority", "failed to verify certificate"):
		return "the client's certificate is not signed by server.tls.client_ca"
	case server && has("first record does not look like a TLS handshake"):
		return "the client does not speak TLS: it runs with --insecure"
	case server && (errors.Is(err, context.DeadlineExceeded) || has("timeout", "i/o timeout", "EOF")):
		return "the client gave up or was too slow before the handshake ended"
	case !server && has("certificate signed by unknown authority"):
		return "the server's certificate is not signed by the CA in client.ca: the wrong CA file, or not this federation's server"
	case !server && has("certificate is valid for", "doesn't contain any IP SANs", "not valid for any names"):
		return "the server's certificate does not name the address in client.server: make it with fdrmfl certs --server-host <that name>"
	case !server && has("first record does not look like a TLS handshake"):
		return "the server does not speak TLS: it runs with --insecure (or give this client --insecure for a local test)"
	case !server && has("certificate required"):
		return "the server requires a client certificate: set client.cert and client.key"
	case !server && has("tls: bad certificate", "unknown certificate authority"):
		return "the server does not accept this client's certificate: it is not signed by the server's client_ca"
	case !server && has("error reading server preface", "http2: frame too large"):
		return "the server may require TLS while this client dials without it (--insecure)"
	}
	return ""
}
