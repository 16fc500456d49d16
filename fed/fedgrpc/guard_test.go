package fedgrpc

import (
	"context"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
	"github.com/fdrmfl/fdrmfl/internal/pki"
)

func counted(t *testing.T, v *prometheus.CounterVec, label string) float64 {
	t.Helper()
	var d dto.Metric
	if err := v.WithLabelValues(label).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// TestWrongProtocolIsExplained connects clients that speak the wrong
// protocol or trust the wrong CA: each stops at once (no ten minutes of
// retries) with a message that says what is wrong, and the server logs
// and counts it with a reason.
func TestWrongProtocolIsExplained(t *testing.T) {
	h := newHarness(t, Options{}, 1)
	other, err := pki.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	// A plaintext server for the TLS client.
	plainLog := &syncBuffer{}
	plainMetrics := NewMetrics(prometheus.NewRegistry())
	pf := NewFleet(Options{Layout: testLayout, Log: slog.New(slog.NewTextHandler(plainLog, nil)), Metrics: plainMetrics})
	pgs, _ := NewServer(pf, nil)
	plis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go pgs.Serve(pf.Listener(plis, false))
	t.Cleanup(pgs.Stop)

	cases := []struct {
		name    string
		addr    string
		opts    []grpc.DialOption
		client  string // in the client's error
		server  string // in the server's log
		log     *syncBuffer
		metrics *Metrics
		reason  string
	}{
		{"plaintext client, TLS server", h.addr, []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials()), grpc.WithPerRPCCredentials(Token{Value: h.tokens["client-1"], Insecure: true})},
			"requires TLS", "dialled without TLS", h.log, h.metrics, "plaintext"},
		{"client trusting another CA", h.addr, []grpc.DialOption{grpc.WithTransportCredentials(ClientTLS(other.Pool(), nil)), grpc.WithPerRPCCredentials(Token{Value: h.tokens["client-1"]})},
			"not signed by the CA in client.ca", "does not trust this server's certificate", h.log, h.metrics, "handshake"},
		{"TLS client, plaintext server", plis.Addr().String(), []grpc.DialOption{grpc.WithTransportCredentials(ClientTLS(h.ca.Pool(), nil)), grpc.WithPerRPCCredentials(Token{Value: "x"})},
			"does not speak TLS", "dialled with TLS", plainLog, plainMetrics, "tls"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cc, err := grpc.NewClient(c.addr, c.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer cc.Close()
			// A client that kept retrying would run into the context's
			// deadline, not stop with the reason.
			r := &Runner{Name: "client-1", Client: shift(1, 1), Conn: cc, RetryFor: 10 * time.Minute}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			err = r.Run(ctx)
			if err == nil || !strings.Contains(err.Error(), c.client) {
				t.Fatalf("the client stopped with %v; want an error saying %q", err, c.client)
			}
			deadline := time.Now().Add(time.Minute)
			for !strings.Contains(c.log.String(), c.server) && time.Now().Before(deadline) {
				time.Sleep(20 * time.Millisecond)
			}
			if !strings.Contains(c.log.String(), c.server) {
				t.Fatalf("the server did not log %q:\n%s", c.server, c.log)
			}
			if counted(t, c.metrics.Refused, c.reason) == 0 {
				t.Fatalf("fdrmfl_refused_total{reason=%q} is 0", c.reason)
			}
		})
	}
}

// TestCallsAreLimited calls Register far faster than a client needs:
// the calls beyond the burst are refused with ResourceExhausted and
// counted; 500 calls with an unknown token are each counted and logged
// once a second at most.
func TestCallsAreLimited(t *testing.T) {
	h := newHarness(t, Options{}, 1)
	api := fedpb.NewFederationClient(h.dial(t, h.tokens["client-1"], nil))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	limited := 0
	for range 30 {
		_, err := api.Register(ctx, &fedpb.RegisterRequest{Client: "client-1", Protocol: Protocol})
		if status.Code(err) == codes.ResourceExhausted {
			limited++
		} else if err != nil {
			t.Fatal(err)
		}
	}
	if limited == 0 || counted(t, h.metrics.Refused, "rate_limit") != float64(limited) {
		t.Fatalf("%d of 30 registrations refused, %v counted; want the ones past the burst of 10", limited, counted(t, h.metrics.Refused, "rate_limit"))
	}
	stranger := fedpb.NewFederationClient(h.dial(t, pki.Token(), nil))
	for range 500 {
		if _, err := stranger.Register(ctx, &fedpb.RegisterRequest{Client: "client-1", Protocol: Protocol}); status.Code(err) != codes.Unauthenticated {
			t.Fatalf("a stranger's registration: %v", err)
		}
	}
	if n := counted(t, h.metrics.AuthFailures, "unknown_token"); n != 500 {
		t.Fatalf("%v refusals counted, want 500", n)
	}
	if lines := strings.Count(h.log.String(), "credentials refused"); lines > 20 {
		t.Fatalf("%d log lines for 500 refusals", lines)
	}
}
