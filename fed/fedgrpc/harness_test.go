package fedgrpc

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
	"github.com/fdrmfl/fdrmfl/internal/pki"
)

// harness is a server on 127.0.0.1 (an OS-chosen port) over TLS, with
// members client-1…client-n that authenticate by token, and a development
// CA whose client certificates it also accepts.
type harness struct {
	fleet   *Fleet
	addr    string
	ca      *pki.CA
	tokens  map[string]string
	metrics *Metrics
	log     *syncBuffer
}

// testLayout is a small model: a 3×4 matrix and a 5-vector.
var testLayout = Layout{{Name: "w", Shape: []int{3, 4}}, {Name: "b", Shape: []int{5}}}

func newHarness(t testing.TB, opt Options, n int) *harness {
	t.Helper()
	ca, cert := testPKI(t)
	h := &harness{ca: ca, tokens: map[string]string{}, log: &syncBuffer{}}
	var members []Member
	for i := 1; i <= n; i++ {
		name := fmt.Sprintf("client-%d", i)
		h.tokens[name] = pki.Token()
		members = append(members, Member{Name: name, TokenSHA256: HashToken(h.tokens[name]), CertCN: name})
	}
	h.tokens["revoked"] = pki.Token()
	members = append(members, Member{Name: "revoked", TokenSHA256: HashToken(h.tokens["revoked"]), Revoked: true})
	var err error
	if opt.Auth, err = NewAuth(members); err != nil {
		t.Fatal(err)
	}
	if opt.Layout == nil {
		opt.Layout = testLayout
	}
	if opt.Heartbeat == 0 {
		// A client is dropped after three silent heartbeats: at 1 s a client
		// starved of CPU on a loaded machine (or under -race) is not.
		opt.Heartbeat = time.Second
	}
	if opt.Limits.PeerConnections == 0 {
		opt.Limits.PeerConnections = 4*n + 16 // every client dials from 127.0.0.1
	}
	h.metrics = NewMetrics(prometheus.NewRegistry())
	opt.Metrics = h.metrics
	opt.Log = slog.New(slog.NewTextHandler(h.log, nil))
	h.fleet = NewFleet(opt)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h.addr = lis.Addr().String()
	gs, _ := NewServer(h.fleet, ServerTLS(cert, ca.Pool(), false))
	go gs.Serve(h.fleet.Listener(lis, true))
	t.Cleanup(gs.Stop)
	return h
}

// testPKI returns a new CA and a certificate it signed for a server at
// 127.0.0.1.
func testPKI(t testing.TB) (*pki.CA, tls.Certificate) {
	t.Helper()
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	cert, err := srv.TLS()
	if err != nil {
		t.Fatal(err)
	}
	return ca, cert
}

// byHand starts client-1 and client-2 as Runners of shift(1, 5) and
// registers client-3 through the generated API alone, for a test to play
// that client by hand; the context ends with the test or after 2 minutes.
func (h *harness) byHand(t *testing.T) (context.Context, fedpb.FederationClient, *fedpb.RegisterReply) {
	t.Helper()
	for _, name := range []string{"client-1", "client-2"} {
		stop, _ := h.start(t, name, shift(1, 5))
		t.Cleanup(stop)
	}
	api := fedpb.NewFederationClient(h.dial(t, h.tokens["client-3"], nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	reg, err := api.Register(ctx, &fedpb.RegisterRequest{Client: "client-3", Protocol: Protocol})
	if err != nil {
		t.Fatal(err)
	}
	return ctx, api, reg
}

// dial connects with a token (if not "") and a client certificate (if not nil).
func (h *harness) dial(t testing.TB, token string, cert *tls.Certificate) *grpc.ClientConn {
	t.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(ClientTLS(h.ca.Pool(), cert))}
	if token != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(Token{Value: token}))
	}
	return h.dialWith(t, opts...)
}

func (h *harness) dialWith(t testing.TB, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient(h.addr, append(DialOptions(), opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close() })
	return cc
}

// start runs client name with c until the federation is done or stop is
// called; the run's error arrives on the returned channel.
func (h *harness) start(t testing.TB, name string, c fed.Client) (stop func(), done <-chan error) {
	t.Helper()
	cc := h.dial(t, h.tokens[name], nil)
	ctx, cancel := context.WithCancel(context.Background())
	ch := make(chan error, 1)
	r := &Runner{Name: name, Client: c, Conn: cc, PullWait: time.Second, RetryFor: 5 * time.Second, Log: slog.New(slog.NewTextHandler(h.log, nil))}
	go func() { ch <- r.Run(ctx) }()
	return func() { cancel(); cc.Close() }, ch
}

// shift is a client that adds d to every weight and reports n samples.
func shift(d float32, n int) fed.Client {
	return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
		if t.Kind == fed.Evaluate {
			return fed.Update{Kind: fed.Evaluate, N: n, Metrics: map[string]float64{"sse": float64(d)}}, nil
		}
		w := t.Global.Clone()
		for i := range w {
			w[i] = w[i]*0.5 + d + float32(i)*0.001
		}
		return fed.Update{Kind: fed.Fit, Weights: w, N: n, Metrics: map[string]float64{"loss": float64(d)}}, nil
	})
}

func ramp(n int) fed.Weights {
	w := make(fed.Weights, n)
	for i := range w {
		w[i] = float32(i) / 7
	}
	return w
}

// syncBuffer is a bytes.Buffer safe for concurrent writers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// insecureCreds is plaintext, for the cases that test TLS itself.
var _ credentials.TransportCredentials = ClientTLS(nil, nil)

func certPoolOf(t testing.TB, pem []byte) *x509.CertPool {
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the PEM")
	}
	return p
}
