package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
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
	dir     string
	server  serverFile
	clients []clientFile
	log     *syncLog
}

func newDeployment(t *testing.T, cfg fdrmfl.Config) *deployment {
	t.Helper()
	d := &deployment{dir: t.TempDir(), log: &syncLog{}}
	ca, err := pki.NewCA("test CA")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ca.Server("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, b []byte) {
		if err := os.WriteFile(filepath.Join(d.dir, name), b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("ca.crt", ca.Cert)
	write("server.crt", srv.Cert)
	write("server.key", srv.Key)
	d.server.Config = cfg
	d.server.Server.TLS.Cert, d.server.Server.TLS.Key = "server.crt", "server.key"
	// Generous: a client starved of CPU on a loaded machine must not be
	// dropped for silence, or the round would go on without it.
	d.server.Server.Heartbeat = duration(time.Second)
	d.server.Server.JoinTimeout = duration(20 * time.Second)
	for k := 1; k <= 3; k++ {
		name := fmt.Sprintf("client-%d", k)
		tok := pki.Token()
		write(name+".token", []byte(tok+"\n"))
		d.server.Server.Clients = append(d.server.Server.Clients, memberSpec{Name: name, TokenSHA256: fedgrpc.HashToken(tok)})
		var c clientFile
		c.Config = cfg // the same seed and partition: part k is the simulation's client k
		c.Client = clientSection{Name: name, CA: "ca.crt", TokenFile: name + ".token", Part: k}
		d.clients = append(d.clients, c)
	}
	return d
}

// serve runs the server on lis until it finishes or ctx is done.
func (d *deployment) serve(ctx context.Context, t *testing.T, lis net.Listener, afterRound func(int)) error {
	s, err := newFederationServer(d.server, filepath.Join(d.dir, "server.yaml"), filepath.Join(d.dir, "server"), false, slog.New(slog.NewTextHandler(d.log, nil)))
	if err != nil {
		t.Fatal(err)
	}
	s.afterRound = afterRound
	return s.run(ctx, lis)
}

// startClients runs the three clients against addr; their results arrive
// on the returned channel when they finish.
func (d *deployment) startClients(ctx context.Context, addr string) <-chan clientOutcome {
	out := make(chan clientOutcome, len(d.clients))
	for _, f := range d.clients {
		f.Client.Server = addr
		c := &federationClient{file: f, config: filepath.Join(d.dir, f.Client.Name+".yaml"), out: filepath.Join(d.dir, f.Client.Name), log: slog.New(slog.NewTextHandler(d.log, nil))}
		go func() {
			res, err := c.run(ctx)
			out <- clientOutcome{f.Client.Name, res, err}
		}()
	}
	return out
}

type clientOutcome struct {
	name string
	res  *fdrmfl.Result
	err  error
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

// TestFederationMatchesSimulate runs a server and three clients, each in
// its own goroutine and talking TLS over 127.0.0.1, and checks that they
// reach the model fdrmfl.Simulate reaches with the same seed, bit for
// bit, and the same features on every client's test samples.
func TestFederationMatchesSimulate(t *testing.T) {
	cfg := study(2)
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	results := d.startClients(ctx, lis.Addr().String())
	if err := d.serve(ctx, t, lis, nil); err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	_, weights, err := loadModel(filepath.Join(d.dir, "server", "model"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(weights, sim.Weights) {
		t.Fatalf("the federation's model differs from the simulation's\n%s", d.log)
	}
	for range d.clients {
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
		got := o.res.Clients[0]
		for s := range want.Splits {
			if !sameBits(got.Splits[s].Z, want.Splits[s].Z) {
				t.Fatalf("%s: %s features differ from the simulation's", o.name, want.Splits[s].Name)
			}
		}
	}
}

// TestServerResumesFromCheckpoint stops the server (its context is
// cancelled) right after round 2 of 4 and starts it again on the same
// address: it resumes at round 3 from its checkpoint, the clients
// reconnect, and the final model is the uninterrupted simulation's.
func TestServerResumesFromCheckpoint(t *testing.T) {
	cfg := study(4)
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	results := d.startClients(ctx, addr)

	first, stop := context.WithCancel(ctx)
	err = d.serve(first, t, lis, func(r int) {
		if r == 2 {
			stop()
		}
	})
	if err == nil {
		t.Fatal("the stopped server reported success")
	}
	lis.Close()
	var resumed []int
	var mu sync.Mutex
	lis, err = net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	if err := d.serve(ctx, t, lis, func(r int) { mu.Lock(); resumed = append(resumed, r); mu.Unlock() }); err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	if fmt.Sprint(resumed) != "[3 4]" {
		t.Fatalf("the restarted server ran rounds %v, want [3 4]", resumed)
	}
	m, weights, err := loadModel(filepath.Join(d.dir, "server", "model"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(weights, sim.Weights) {
		t.Fatalf("the resumed federation's model differs from the simulation's\n%s", d.log)
	}
	if m.Values != len(sim.Weights) {
		t.Fatalf("manifest values %d", m.Values)
	}
	rounds, err := os.ReadFile(filepath.Join(d.dir, "server", "rounds.csv"))
	if err != nil || strings.Count(string(rounds), "\n") != 5 {
		t.Fatalf("rounds.csv holds\n%s\nwant a header and 4 rounds (%v)", rounds, err)
	}
	for range d.clients {
		if o := <-results; o.err != nil {
			t.Fatalf("%s: %v", o.name, o.err)
		}
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

// TestServerKilledResumes runs the server as a process of its own (this
// test binary again, see TestServerProcess) and kills it with SIGKILL once
// round 2 of 4 is checkpointed: no clean-up of any kind runs. A new server
// process on the same listening socket resumes at round 3, the clients
// reconnect, and the final model is the uninterrupted simulation's, bit
// for bit.
func TestServerKilledResumes(t *testing.T) {
	cfg := study(4)
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, cfg)
	spec, err := json.Marshal(d.server)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(d.dir, "server.json"), spec, 0o600); err != nil {
		t.Fatal(err)
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	socket, err := lis.(*net.TCPListener).File() // handed to each server process
	if err != nil {
		t.Fatal(err)
	}
	defer socket.Close()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	results := d.startClients(ctx, lis.Addr().String())
	var logs syncLog
	server := func(hold int) (*exec.Cmd, *strings.Builder) {
		cmd := exec.CommandContext(ctx, exe, "-test.run=^TestServerProcess$")
		cmd.Env = append(os.Environ(), "FDRMFL_TEST_SERVER_DIR="+d.dir, "FDRMFL_TEST_SERVER_HOLD="+strconv.Itoa(hold))
		cmd.ExtraFiles = []*os.File{socket}
		var out strings.Builder
		cmd.Stdout, cmd.Stderr = &out, &logs
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		return cmd, &out
	}

	first, _ := server(2)
	held := filepath.Join(d.dir, "held")
	for {
		if _, err := os.Stat(held); err == nil {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the first server never finished round 2\n%s", &logs)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := first.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	first.Wait()

	second, out := server(0)
	if err := second.Wait(); err != nil {
		t.Fatalf("the restarted server: %v\n%s\n%s", err, out, &logs)
	}
	if ran := strings.Fields(out.String()); !strings.Contains(out.String(), "PASS") || fmt.Sprint(ran[:len(ran)-1]) != "[round 3 round 4]" {
		t.Fatalf("the restarted server printed %q, want rounds 3 and 4", out)
	}
	_, weights, err := loadModel(filepath.Join(d.dir, "server", "model"))
	if err != nil {
		t.Fatal(err)
	}
	if !sameBits(weights, sim.Weights) {
		t.Fatalf("the resumed federation's model differs from the simulation's\n%s", &logs)
	}
	for range d.clients {
		if o := <-results; o.err != nil {
			t.Fatalf("%s: %v", o.name, o.err)
		}
	}
}

// TestServerProcess is TestServerKilledResumes's server process: it serves
// the deployment in FDRMFL_TEST_SERVER_DIR on the listening socket it
// inherits, prints each round it completes and, after round
// FDRMFL_TEST_SERVER_HOLD, marks the folder and hangs, to be killed. It
// does nothing unless that test starts it.
func TestServerProcess(t *testing.T) {
	dir := os.Getenv("FDRMFL_TEST_SERVER_DIR")
	if dir == "" {
		t.Skip("run by TestServerKilledResumes")
	}
	hold, _ := strconv.Atoi(os.Getenv("FDRMFL_TEST_SERVER_HOLD"))
	d := &deployment{dir: dir, log: &syncLog{}}
	spec, err := os.ReadFile(filepath.Join(dir, "server.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(spec, &d.server); err != nil {
		t.Fatal(err)
	}
	lis, err := net.FileListener(os.NewFile(3, "listener"))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { os.Stderr.WriteString(d.log.String()) }()
	err = d.serve(context.Background(), t, lis, func(r int) {
		fmt.Printf("round %d\n", r)
		if r == hold {
			os.WriteFile(filepath.Join(dir, "held"), nil, 0o600)
			time.Sleep(time.Hour) // until killed
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}
