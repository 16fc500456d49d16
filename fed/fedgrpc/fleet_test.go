package fedgrpc

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
	"github.com/fdrmfl/fdrmfl/fed/sim"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/internal/pki"
)

func bitsEqual(a, b fed.Weights) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestSameRoundsAsInProcess runs three rounds with evaluation over TLS and
// in process, with the same clients and strategy: the global models agree
// bit for bit, and so do the round reports.
func TestSameRoundsAsInProcess(t *testing.T) {
	clients := map[string]fed.Client{"client-1": shift(1, 10), "client-2": shift(-2, 30), "client-3": shift(0.5, 7)}
	var simReps, netReps []fed.RoundReport
	run := func(fleet fed.Fleet, reps *[]fed.RoundReport) fed.Weights {
		s := &fed.Server{Strategy: &strategy.FedAvg{Smoothing: 0.25}, Fleet: fleet, Evaluate: true, Quorum: 3,
			Progress: func(r fed.RoundReport) { *reps = append(*reps, r) }}
		w, err := s.Run(context.Background(), ramp(testLayout.Values()), 1, 3)
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	want := run(sim.New(clients), &simReps)

	h := newHarness(t, Options{MinClients: 3}, 3)
	for name, c := range clients {
		stop, _ := h.start(t, name, c)
		defer stop()
	}
	got := run(h.fleet, &netReps)
	if !bitsEqual(got, want) {
		t.Fatalf("over gRPC %v\nin process %v", got, want)
	}
	for i := range simReps {
		a, b := simReps[i], netReps[i]
		if strings.Join(a.Accepted, ",") != strings.Join(b.Accepted, ",") || a.Train["loss"] != b.Train["loss"] || a.Eval["sse"] != b.Eval["sse"] || a.EvalClients != b.EvalClients {
			t.Fatalf("round %d: over gRPC %+v, in process %+v", i+1, b, a)
		}
	}
	if in, out := h.metrics.WireBytes(); in == 0 || out == 0 {
		t.Fatalf("wire bytes in %d, out %d: the counting listener counted nothing", in, out)
	}
}

// TestModelLargerThanMessageLimit sends a 1.5 M-value model (6 MB, over
// gRPC's 4 MiB default message size) both ways.
func TestModelLargerThanMessageLimit(t *testing.T) {
	layout := Layout{{Name: "big", Shape: []int{1500, 1000}}, {Name: "bias", Shape: []int{3}}}
	h := newHarness(t, Options{Layout: layout, MinClients: 2}, 2)
	for _, name := range []string{"client-1", "client-2"} {
		stop, _ := h.start(t, name, shift(1, 5))
		defer stop()
	}
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: h.fleet, Quorum: 2}
	global := ramp(layout.Values())
	got, err := s.Run(context.Background(), global, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, 777_777, len(got) - 1} {
		if want := global[i]*0.5 + 1 + float32(i)*0.001; got[i] != want {
			t.Fatalf("value %d is %v, want %v", i, got[i], want)
		}
	}
}

// TestStrangersGetNothing calls the server with credentials it does not
// accept: each call is refused with the status that says why, before it
// reaches the federation.
func TestStrangersGetNothing(t *testing.T) {
	h := newHarness(t, Options{}, 2)
	mallory, err := h.ca.Client("mallory") // signed by the right CA, not a member
	if err != nil {
		t.Fatal(err)
	}
	otherCA, err := pki.NewCA("another CA")
	if err != nil {
		t.Fatal(err)
	}
	forged, err := otherCA.Client("client-1") // a member's name, the wrong CA
	if err != nil {
		t.Fatal(err)
	}
	member, err := h.ca.Client("client-2")
	if err != nil {
		t.Fatal(err)
	}
	certOf := func(p pki.Pair) *tls.Certificate {
		c, err := p.TLS()
		if err != nil {
			t.Fatal(err)
		}
		return &c
	}
	cases := []struct {
		name   string
		token  string
		cert   *tls.Certificate
		claim  string
		want   codes.Code
		detail string
	}{
		{"no credentials", "", nil, "client-1", codes.Unauthenticated, "no credentials"},
		{"unknown token", pki.Token(), nil, "client-1", codes.Unauthenticated, "unknown token"},
		{"revoked token", h.tokens["revoked"], nil, "revoked", codes.PermissionDenied, "revoked"},
		{"someone else's name", h.tokens["client-2"], nil, "client-1", codes.PermissionDenied, "client-2's, not client-1's"},
		{"certificate of a stranger", "", certOf(mallory), "mallory", codes.PermissionDenied, "not a member"},
		// The TLS client does not even send a certificate the server's CAs
		// did not sign, so the server sees no credentials.
		{"certificate from another CA", "", certOf(forged), "client-1", codes.Unauthenticated, "no credentials"},
		{"member's certificate", "", certOf(member), "client-2", codes.OK, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			api := fedpb.NewFederationClient(h.dial(t, c.token, c.cert))
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			_, err := api.Register(ctx, &fedpb.RegisterRequest{Client: c.claim, Protocol: Protocol})
			if status.Code(err) != c.want || !strings.Contains(status.Convert(err).Message(), c.detail) {
				t.Fatalf("register: %v, want %v containing %q", err, c.want, c.detail)
			}
			if c.want == codes.OK || c.token == h.tokens["client-2"] { // a member, if not the one it claimed
				return
			}
			st, err := api.Download(ctx, &fedpb.DownloadRequest{Session: "guess", Task: finalTask})
			if err == nil {
				_, err = st.Recv()
			}
			if status.Code(err) != c.want {
				t.Fatalf("download: %v, want %v", err, c.want)
			}
		})
	}
	if h.fleet.Connected() != 1 {
		t.Fatalf("%d clients connected, want only the member with a certificate", h.fleet.Connected())
	}
}

// rawUpload is what a misbehaving client sends after its header.
type rawUpload func(h *fedpb.UpdateHeader) []*fedpb.UploadPart

func chunkOf(off uint64, vals ...float32) *fedpb.UploadPart {
	b := make([]byte, 0, 4*len(vals))
	for _, v := range vals {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return &fedpb.UploadPart{Part: &fedpb.UploadPart_Chunk{Chunk: &fedpb.Chunk{Offset: off, Data: b}}}
}

func header(h *fedpb.UpdateHeader) *fedpb.UploadPart {
	return &fedpb.UploadPart{Part: &fedpb.UploadPart_Header{Header: h}}
}

func fill(n int, v float32) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// TestBadResultsAreRejected has a third client send a broken fit result:
// the server refuses it with codes.InvalidArgument and a reason, logs it,
// and the round goes on with the two good clients.
func TestBadResultsAreRejected(t *testing.T) {
	n := testLayout.Values()
	cases := []struct {
		name, want string
		parts      rawUpload
		report     string // the round's reason, if not want
	}{
		{"wrong shape", `tensor "w" has shape [4 3]`, func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			h.Model = Layout{{Name: "w", Shape: []int{4, 3}}, {Name: "b", Shape: []int{5}}}.header()
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(n, 1)...)}
		}, ""},
		{"wrong name", `tensor 1 is named "bias"`, func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			h.Model = Layout{{Name: "w", Shape: []int{3, 4}}, {Name: "bias", Shape: []int{5}}}.header()
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(n, 1)...)}
		}, ""},
		{"NaN value", `value 13 (tensor "b") is NaN`, func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			v := fill(n, 1)
			v[13] = float32(math.NaN())
			return []*fedpb.UploadPart{header(h), chunkOf(0, v...)}
		}, ""},
		{"infinite value", "is +Inf", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			v := fill(n, 1)
			v[0] = float32(math.Inf(1))
			return []*fedpb.UploadPart{header(h), chunkOf(0, v...)}
		}, ""},
		{"torn value", "not a whole number of float32", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			p := chunkOf(0, fill(n, 1)...)
			p.GetChunk().Data = p.GetChunk().Data[:4*n-1]
			return []*fedpb.UploadPart{header(h), p}
		}, ""},
		{"chunks out of order", "expected value 0", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			return []*fedpb.UploadPart{header(h), chunkOf(5, fill(n-5, 1)...), chunkOf(0, fill(5, 1)...)}
		}, ""},
		{"model cut short", "ended after 10 of its 17 values", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(10, 1)...)}
		}, ""},
		{"model too long", "runs past", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(n+1, 1)...)}
		}, ""},
		{"no header", "the first message must be the header", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			return []*fedpb.UploadPart{chunkOf(0, fill(n, 1)...)}
		}, ""}, // the caller's credentials name its open task, which fails at once
		{"unknown task", "never handed out", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			h.Task = "r1-fit-999999-forged00"
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(n, 1)...)}
		}, "never handed out"},
		{"oversized message", "larger than max", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			h.Payload = make([]byte, 3<<20)
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(n, 1)...)}
		}, "malformed upload"},
		{"NaN metric", `metric "loss" is NaN`, func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			h.Metrics = map[string]float64{"loss": math.NaN()}
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(n, 1)...)}
		}, ""},
		{"update too far", "exceeds the bound", func(h *fedpb.UpdateHeader) []*fedpb.UploadPart {
			return []*fedpb.UploadPart{header(h), chunkOf(0, fill(n, 1e6)...)}
		}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, Options{MinClients: 3, MaxUpdateNorm: 1000, MaxPayload: 1 << 10}, 3)
			ctx, api, reg := h.byHand(t)
			uploaded := make(chan error, 1)
			go func() {
				for {
					in, err := api.Pull(ctx, &fedpb.PullRequest{Session: reg.Session, WaitMs: 200})
					if err != nil {
						uploaded <- err
						return
					}
					if in.Kind != fedpb.Instruction_FIT {
						continue
					}
					st, err := api.Upload(ctx)
					if err != nil {
						uploaded <- err
						return
					}
					for _, p := range c.parts(&fedpb.UpdateHeader{Session: reg.Session, Task: in.Task, Samples: 5, Model: testLayout.header()}) {
						if st.Send(p) != nil {
							break
						}
					}
					_, err = st.CloseAndRecv()
					uploaded <- err
					return
				}
			}()
			var rep fed.RoundReport
			s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: h.fleet, Quorum: 2, Progress: func(r fed.RoundReport) { rep = r }}
			if _, err := s.Run(ctx, ramp(n), 1, 1); err != nil {
				t.Fatal(err)
			}
			err := <-uploaded
			code := codes.InvalidArgument
			if c.name == "oversized message" {
				code = codes.ResourceExhausted
			}
			if status.Code(err) != code || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the bad client was told %v; want %v containing %q", err, code, c.want)
			}
			reason := c.want
			if c.report != "" {
				reason = c.report
			}
			if len(rep.Accepted) != 2 || !strings.Contains(rep.Rejected["client-3"], reason) {
				t.Fatalf("round report %+v: want 2 accepted and client-3 rejected for %q", rep, reason)
			}
			if c.report == "" && !strings.Contains(h.log.String(), "rejected") {
				t.Fatalf("no log line for the rejection:\n%s", h.log)
			}
		})
	}
}

// TestClientLostMidRound stops a client (its connection closes, its
// heartbeats stop) while it trains: the round completes with the other
// two once its session times out, and the client, restarted, takes part
// in the next round.
func TestClientLostMidRound(t *testing.T) {
	h := newHarness(t, Options{MinClients: 2, JoinTimeout: 5 * time.Second}, 3)
	for _, name := range []string{"client-1", "client-2"} {
		stop, _ := h.start(t, name, shift(1, 5))
		defer stop()
	}
	training := make(chan struct{})
	hang := fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
		close(training)
		<-ctx.Done() // dies here
		return fed.Update{}, ctx.Err()
	})
	stop3, done3 := h.start(t, "client-3", hang)
	go func() { <-training; stop3() }()
	deadline := time.Now().Add(time.Minute)
	for h.fleet.Connected() < 3 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	var reps []fed.RoundReport
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: h.fleet, Quorum: 2, Progress: func(r fed.RoundReport) { reps = append(reps, r) }}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	global, err := s.Run(ctx, ramp(testLayout.Values()), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if !errors.Is(<-done3, context.Canceled) {
		t.Fatal("client-3 did not stop")
	}
	if r := reps[0]; len(r.Accepted) != 2 || !strings.Contains(r.Rejected["client-3"], "lost") {
		t.Fatalf("round 1: %+v; want 2 accepted and client-3 lost", r)
	}
	stop, _ := h.start(t, "client-3", shift(1, 5)) // restarted
	defer stop()
	h.fleet.opt.MinClients = 3
	if _, err := s.Run(ctx, global, 2, 2); err != nil {
		t.Fatal(err)
	}
	if r := reps[1]; len(r.Accepted) != 3 {
		t.Fatalf("round 2: %+v; want the restarted client back", r)
	}
}

// TestStragglerIsToldItIsLate lets a client miss the round's deadline:
// the round goes on without it, and its late result is refused with
// codes.FailedPrecondition.
func TestStragglerIsToldItIsLate(t *testing.T) {
	h := newHarness(t, Options{MinClients: 3}, 3)
	for _, name := range []string{"client-1", "client-2"} {
		stop, _ := h.start(t, name, shift(1, 5))
		defer stop()
	}
	// The straggler answers only once the round is over, ignoring ctx as a
	// busy trainer may: it is late however loaded the machine is.
	roundOver := make(chan struct{})
	slow := fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
		<-roundOver
		return shift(2, 5).Execute(context.Background(), t)
	})
	stop, _ := h.start(t, "client-3", slow)
	defer stop()
	var rep fed.RoundReport
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: h.fleet, Quorum: 2, RoundTimeout: 3 * time.Second, Progress: func(r fed.RoundReport) { rep = r; close(roundOver) }}
	if _, err := s.Run(context.Background(), ramp(testLayout.Values()), 1, 1); err != nil {
		t.Fatal(err)
	}
	if len(rep.Accepted) != 2 || rep.Rejected["client-3"] == "" {
		t.Fatalf("round %+v: want 2 accepted and client-3 left out", rep)
	}
	// The server counts the late result before the client hears of it:
	// wait for the client's own log line.
	told := func() bool {
		got := h.log.String()
		return strings.Contains(got, "did not use our result") && strings.Contains(got, "deadline passed")
	}
	deadline := time.Now().Add(time.Minute)
	for !told() && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if !told() {
		t.Fatalf("the straggler was not told its result came too late:\n%s", h.log)
	}
	if n := counter(t, h.metrics, "late"); n != 1 {
		t.Fatalf("%v late results counted, want 1", n)
	}
}

// counter reads the updates counter for an outcome.
func counter(t *testing.T, m *Metrics, outcome string) float64 {
	var d dto.Metric
	if err := m.Updates.WithLabelValues(outcome).Write(&d); err != nil {
		t.Fatal(err)
	}
	return d.GetCounter().GetValue()
}

// TestPlainProtobufClient runs a client written with the generated code
// alone, as one in another language would be, beside two Runners: it reads
// the server's hand-encoded chunks with protobuf and gets the global model
// bit for bit, and its protobuf-encoded result, in small chunks, is
// accepted into the round.
func TestPlainProtobufClient(t *testing.T) {
	n := testLayout.Values()
	h := newHarness(t, Options{MinClients: 3}, 3)
	ctx, api, reg := h.byHand(t)
	got := make(chan fed.Weights, 1)
	go func() {
		defer close(got)
		for {
			in, err := api.Pull(ctx, &fedpb.PullRequest{Session: reg.Session, WaitMs: 200})
			if err != nil || in.Kind == fedpb.Instruction_DONE {
				return
			}
			if in.Kind != fedpb.Instruction_FIT {
				continue
			}
			down, err := api.Download(ctx, &fedpb.DownloadRequest{Session: reg.Session, Task: in.Task})
			if err != nil {
				return
			}
			var w fed.Weights
			for {
				p, err := down.Recv()
				if err != nil {
					break
				}
				for b := p.GetChunk().GetData(); len(b) >= 4; b = b[4:] {
					w = append(w, math.Float32frombits(binary.LittleEndian.Uint32(b)))
				}
			}
			got <- w
			up, err := api.Upload(ctx)
			if err != nil {
				return
			}
			up.Send(header(&fedpb.UpdateHeader{Session: reg.Session, Task: in.Task, Samples: 5, Model: testLayout.header()}))
			up.Send(chunkOf(0, w[:7]...))
			up.Send(chunkOf(7, w[7:]...))
			up.CloseAndRecv()
			return
		}
	}()
	var rep fed.RoundReport
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: h.fleet, Quorum: 3, Progress: func(r fed.RoundReport) { rep = r }}
	if _, err := s.Run(ctx, ramp(n), 1, 1); err != nil {
		t.Fatal(err)
	}
	if w := <-got; !bitsEqual(w, ramp(n)) {
		t.Fatalf("the plain client read %v, the server sent %v", w, ramp(n))
	}
	if len(rep.Accepted) != 3 || len(rep.Rejected) != 0 {
		t.Fatalf("round report %+v: want all 3 accepted", rep)
	}
}
