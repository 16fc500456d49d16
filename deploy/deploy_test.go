package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/attack"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
	"github.com/fdrmfl/fdrmfl/internal/pki"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// study is a small federation on simulated data, quick to train.
func study(rounds int) fdrmfl.Config {
	return fdrmfl.Config{
		Seed:       11,
		Data:       fdrmfl.Data{Function: 1, Samples: 240, ValFraction: 0.15},
		Federation: fdrmfl.Federation{Clients: 3, Rounds: rounds, Partition: "response", Mix: 0.2},
		Model: model.Config{Latent: 16, Features: 4, Modalities: []model.Modality{
			{Name: "image", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{16}}},
			{Name: "text", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{16}}},
			{Name: "vector", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{16}}},
		}},
		Train: train.Config{Epochs: 1, BatchSize: 32},
	}
}

// deployment is a server configuration and three client configurations
// over TLS, with certificates and tokens in a temporary folder.
type deployment struct {
	Dir     string
	Study   fdrmfl.Config
	Server  ServerSettings
	Clients []ClientSettings
	log     *syncLog
}

func newDeployment(t *testing.T, cfg fdrmfl.Config) *deployment {
	t.Helper()
	d := &deployment{Dir: t.TempDir(), Study: cfg, log: &syncLog{}}
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(d.Dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", ca.Cert)
	write("server.crt", srv.Cert)
	write("server.key", srv.Key)
	d.Server.TLS.Cert, d.Server.TLS.Key = "server.crt", "server.key"
	// Generous: a client starved of CPU on a loaded machine must not be
	// dropped for silence, or the round would go on without it.
	d.Server.Heartbeat = Duration(time.Second)
	d.Server.JoinTimeout = Duration(2 * time.Minute)
	for k := 1; k <= 3; k++ {
		name := fmt.Sprintf("client-%d", k)
		tok := pki.Token()
		write(name+".token", []byte(tok+"\n"))
		d.Server.Clients = append(d.Server.Clients, MemberSpec{Name: name, TokenSHA256: fedgrpc.HashToken(tok)})
		// The same seed and partition: part k is the simulation's client k.
		d.Clients = append(d.Clients, ClientSettings{Name: name, CA: "ca.crt", TokenFile: name + ".token", Part: k})
	}
	return d
}

// newServer returns the deployment's server, keeping its state in the
// deployment's folder.
func (d *deployment) newServer(t *testing.T, afterRound func(int)) *Server {
	t.Helper()
	s, err := NewServer(ServerConfig{
		Study: d.Study, Settings: d.Server, Dir: d.Dir, StateDir: filepath.Join(d.Dir, "server", "state"),
		Log: slog.New(slog.NewTextHandler(d.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	s.afterRound = afterRound
	return s
}

// startClients runs the three clients against addr; their results arrive
// on the returned channel when they finish.
func (d *deployment) startClients(t *testing.T, ctx context.Context, addr string) <-chan clientOutcome {
	t.Helper()
	out := make(chan clientOutcome, len(d.Clients))
	for _, set := range d.Clients {
		set.Server = addr
		c, err := NewClient(ClientConfig{
			Study: d.Study, Settings: set, Dir: d.Dir, StateDir: filepath.Join(d.Dir, set.Name, "state"),
			Log: slog.New(slog.NewTextHandler(d.log, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			res, err := c.Run(ctx)
			out <- clientOutcome{set.Name, res, err}
		}()
	}
	return out
}

type clientOutcome struct {
	name string
	res  *fdrmfl.Result
	err  error
}

// eachClient receives every client's outcome, fails the test on a
// client's error, and calls check with the client's name, its result and
// the simulation's result for the same client.
func (d *deployment) eachClient(t *testing.T, results <-chan clientOutcome, sim *fdrmfl.Result, check func(name string, got, want fdrmfl.ClientResult)) {
	t.Helper()
	for range d.Clients {
		o := <-results
		if o.err != nil {
			t.Fatalf("%s: %v", o.name, o.err)
		}
		var want fdrmfl.ClientResult
		for _, c := range sim.Clients {
			if c.Name == o.name {
				want = c
			}
		}
		check(o.name, o.res.Clients[0], want)
	}
}

func sameBits(a, b []float32) bool {
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

func listen(t *testing.T, addr string) net.Listener {
	t.Helper()
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	return lis
}

// TestFederationMatchesSimulate runs a server and three clients, each in
// its own goroutine and talking TLS over 127.0.0.1, and checks that they
// reach the model fdrmfl.Simulate reaches with the same seed, bit for
// bit, and the same features on every client's test samples — with plain
// FedAvg, with the drift controls whose state travels with the tasks
// (SCAFFOLD's control variates, FedDyn's α) and with a server optimiser.
func TestFederationMatchesSimulate(t *testing.T) {
	for _, strategy := range []string{"fedavg", "scaffold", "feddyn", "fedadam"} {
		t.Run(strategy, func(t *testing.T) {
			cfg := study(2)
			cfg.Federation.Strategy = strategy
			testFederationMatchesSimulate(t, cfg)
		})
	}
}

// TestFederationWithPreprocessingMatchesSimulate is the same with spectral
// preprocessing: the server fits the msc reference from the clients' sums
// of their spectra, every client preprocesses its own samples, and the
// model carries the chains.
func TestFederationWithPreprocessingMatchesSimulate(t *testing.T) {
	cfg := study(2)
	cfg.Data.Preprocess = map[string]string{"vector": "sg(5,2)+msc", "image": "snv"}
	testFederationMatchesSimulate(t, cfg)
}

func testFederationMatchesSimulate(t *testing.T, cfg fdrmfl.Config) {
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lis := listen(t, "127.0.0.1:0")
	results := d.startClients(t, ctx, lis.Addr().String())
	res, err := d.newServer(t, nil).Run(ctx, lis)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	if !sameBits(res.Weights, sim.Weights) {
		t.Fatalf("the federation's model differs from the simulation's\n%s", d.log)
	}
	if !reflect.DeepEqual(res.Manifest.Preprocess, sim.Manifest.Preprocess) || len(res.Manifest.Preprocess) != len(cfg.Data.Preprocess) {
		t.Fatalf("preprocessing %+v, the simulation's %+v", res.Manifest.Preprocess, sim.Manifest.Preprocess)
	}
	if len(res.Rounds) != 2 || res.Rounds[1].Val == nil {
		t.Fatalf("rounds %+v: want 2 with validation metrics", res.Rounds)
	}
	d.eachClient(t, results, sim, func(name string, got, want fdrmfl.ClientResult) {
		for s := range want.Splits {
			if !sameBits(got.Splits[s].Z, want.Splits[s].Z) {
				t.Fatalf("%s: %s features differ from the simulation's", name, want.Splits[s].Name)
			}
		}
	})
}

// TestServerResumesFromCheckpoint stops the server (its context is
// cancelled) right after round 2 of 4 and starts it again on the same
// address: it resumes at round 3 from its checkpoint, the clients
// reconnect, and the final model is the uninterrupted simulation's.
func TestServerResumesFromCheckpoint(t *testing.T) {
	// SCAFFOLD resumes with its control variates: the server's from the
	// checkpoint, each client's from its state folder.
	for _, strategy := range []string{"fedavg", "scaffold"} {
		t.Run(strategy, func(t *testing.T) {
			cfg := study(4)
			cfg.Federation.Strategy = strategy
			sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := newDeployment(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			lis := listen(t, "127.0.0.1:0")
			addr := lis.Addr().String()
			results := d.startClients(t, ctx, addr)

			first, stop := context.WithCancel(ctx)
			if _, err := d.newServer(t, func(r int) {
				if r == 2 {
					stop()
				}
			}).Run(first, lis); err == nil {
				t.Fatal("the stopped server reported success")
			}
			lis.Close()
			var resumed []int
			var mu sync.Mutex
			var rounds []fdrmfl.RoundMetrics
			s := d.newServer(t, func(r int) { mu.Lock(); resumed = append(resumed, r); mu.Unlock() })
			s.c.OnRound = func(res *fdrmfl.Result) error { rounds = res.Rounds; return nil }
			res, err := s.Run(ctx, listen(t, addr))
			if err != nil {
				t.Fatalf("%v\n%s", err, d.log)
			}
			if fmt.Sprint(resumed) != "[3 4]" {
				t.Fatalf("the restarted server ran rounds %v, want [3 4]", resumed)
			}
			if !sameBits(res.Weights, sim.Weights) {
				t.Fatalf("the resumed federation's model differs from the simulation's\n%s", d.log)
			}
			if res.Manifest.Values != len(sim.Weights) {
				t.Fatalf("manifest values %d", res.Manifest.Values)
			}
			if len(rounds) != 4 || rounds[0].Round != 1 || rounds[3].Round != 4 {
				t.Fatalf("the resumed server reported rounds %+v, want 1 to 4", rounds)
			}
			for range d.Clients {
				if o := <-results; o.err != nil {
					t.Fatalf("%s: %v", o.name, o.err)
				}
			}
		})
	}
}

// TestParticipantsPlanAsTheSimulation runs the setup phase by hand: three
// participants holding the simulation's parts answer the stats request,
// the server plans from their replies, and the plan is the simulation's
// model and standardisation.
func TestParticipantsPlanAsTheSimulation(t *testing.T) {
	cfg := study(2).Defaults()
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := cfg.Partition(ds)
	if err != nil {
		t.Fatal(err)
	}
	var replies []StatsReply
	for k, rows := range parts {
		p := &Participant{Name: sim.Clients[k].Name, Data: ds, Rows: rows, Source: "simulation"}
		req, _ := json.Marshal(NewStatsRequest(cfg, k))
		u, err := p.Execute(context.Background(), fed.Task{Kind: fed.Stats, Payload: req})
		if err != nil {
			t.Fatal(err)
		}
		var r StatsReply
		if err := json.Unmarshal(u.Payload, &r); err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r)
	}
	m, excluded, err := PlanFederation(cfg, replies)
	if err != nil || len(excluded) > 0 {
		t.Fatal(err, excluded)
	}
	got, _ := json.Marshal(m)
	want, _ := json.Marshal(sim.Manifest)
	if string(got) != string(want) {
		t.Fatalf("planned manifest\n%s\nthe simulation's\n%s", got, want)
	}
	// A client describing other data is left out, not allowed to stop
	// the others: the plan is the other two's.
	replies[2].Responses = []string{"other"}
	m, excluded, err = PlanFederation(cfg, replies)
	if err != nil || len(excluded) != 1 || !strings.Contains(excluded[2], "describes its data as") || m == nil {
		t.Fatalf("mismatched data: %v, excluded %v", err, excluded)
	}
	replies[1].Moments[0].Sum = replies[1].Moments[0].Sum[:1]
	if _, excluded, _ = PlanFederation(cfg, replies); len(excluded) != 2 || !strings.Contains(excluded[1], "another layout") {
		t.Fatalf("malformed moments: excluded %v", excluded)
	}
}

// TestPoisonedStatisticsChangeNothing has one of four clients scale its
// sums by 1e6 in the statistics phase: it is left out with the reason,
// and the plan — network, pooled standardisation — is the one the other
// three give alone, to the bit.
func TestPoisonedStatisticsChangeNothing(t *testing.T) {
	cfg := study(2)
	cfg.Federation.Clients = 4
	cfg = cfg.Defaults()
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := cfg.Partition(ds)
	if err != nil {
		t.Fatal(err)
	}
	var replies []StatsReply
	for k, rows := range parts {
		p := &Participant{Name: fmt.Sprintf("client-%d", k+1), Data: ds, Rows: rows, Source: "simulation"}
		req, _ := json.Marshal(NewStatsRequest(cfg, k))
		u, err := p.Execute(context.Background(), fed.Task{Kind: fed.Stats, Payload: req})
		if err != nil {
			t.Fatal(err)
		}
		var r StatsReply
		if err := json.Unmarshal(u.Payload, &r); err != nil {
			t.Fatal(err)
		}
		replies = append(replies, r)
	}
	honest, excluded, err := PlanFederation(cfg, replies[:3])
	if err != nil || len(excluded) > 0 {
		t.Fatal(err, excluded)
	}
	replies[3].Moments = attack.ScaleMoments(replies[3].Moments, 1e6)
	got, excluded, err := PlanFederation(cfg, replies)
	if err != nil || len(excluded) != 1 || excluded[3] == "" {
		t.Fatalf("plan: %v, excluded %v: want client 4 left out", err, excluded)
	}
	a, _ := json.Marshal(got)
	b, _ := json.Marshal(honest)
	if string(a) != string(b) {
		t.Fatal("the poisoned statistics changed the plan of the other clients")
	}
}

// syncLog collects log lines from many goroutines.
type syncLog struct {
	mu sync.Mutex
	b  []byte
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.b = append(l.b, p...)
	return len(p), nil
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return string(l.b)
}

// TestClientThatCannotKeepItsStateFails gives one client a state folder
// it cannot write (a file stands where the folder should be): the client
// stops with an error naming its state instead of training on, left out
// of every round, and reporting success.
func TestClientThatCannotKeepItsStateFails(t *testing.T) {
	d := newDeployment(t, study(2))
	d.Server.Quorum = 2
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lis := listen(t, "127.0.0.1:0")
	blocked := filepath.Join(d.Dir, "not-a-folder")
	if err := os.WriteFile(blocked, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	out := make(chan clientOutcome, len(d.Clients))
	for i, set := range d.Clients {
		set.Server = lis.Addr().String()
		state := filepath.Join(d.Dir, set.Name, "state")
		if i == 0 {
			state = blocked
		}
		c, err := NewClient(ClientConfig{Study: d.Study, Settings: set, Dir: d.Dir, StateDir: state, Log: slog.New(slog.NewTextHandler(d.log, nil))})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			res, err := c.Run(ctx)
			out <- clientOutcome{set.Name, res, err}
		}()
	}
	if _, err := d.newServer(t, nil).Run(ctx, lis); err != nil {
		t.Fatalf("the server: %v\n%s", err, d.log)
	}
	for range d.Clients {
		o := <-out
		switch {
		case o.name == "client-1" && (o.err == nil || !strings.Contains(o.err.Error(), "its state")):
			t.Errorf("client-1 without a state folder: %v, want an error about its state", o.err)
		case o.name != "client-1" && o.err != nil:
			t.Errorf("%s: %v", o.name, o.err)
		}
	}
}

// TestClientWithOtherDataIsLeftOut has one client describe other data
// (a modality fewer) in the statistics phase: the federation goes on
// with the other two, and that client is told why it was left out.
func TestClientWithOtherDataIsLeftOut(t *testing.T) {
	d := newDeployment(t, study(2))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lis := listen(t, "127.0.0.1:0")
	full, err := fdrmfl.LoadData(d.Study.Defaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	fewer, err := data.New(full.Len(), full.Modalities[:2], full.ResponseNames, full.Y)
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan clientOutcome, len(d.Clients))
	for i, set := range d.Clients {
		set.Server = lis.Addr().String()
		cc := ClientConfig{Study: d.Study, Settings: set, Dir: d.Dir, StateDir: filepath.Join(d.Dir, set.Name, "state"), Log: slog.New(slog.NewTextHandler(d.log, nil))}
		if i == 2 {
			cc.Data = fewer
		}
		c, err := NewClient(cc)
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			res, err := c.Run(ctx)
			out <- clientOutcome{set.Name, res, err}
		}()
	}
	if _, err := d.newServer(t, nil).Run(ctx, lis); err != nil {
		t.Fatalf("the server: %v\n%s", err, d.log)
	}
	if !strings.Contains(d.log.String(), "client left out") {
		t.Errorf("the server did not log the exclusion:\n%s", d.log)
	}
	for range d.Clients {
		o := <-out
		switch {
		case o.name == "client-3" && (o.err == nil || !strings.Contains(o.err.Error(), "left out")):
			t.Errorf("client-3: %v, want an error saying it was left out", o.err)
		case o.name != "client-3" && o.err != nil:
			t.Errorf("%s: %v", o.name, o.err)
		}
	}
}
