package cli

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/grpc/credentials"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
	"github.com/fdrmfl/fdrmfl/internal/disk"
	"github.com/fdrmfl/fdrmfl/internal/pki"
)

func runServer(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "server", "--config server.yaml [--out dir]", `
Runs the server of a real federation: clients ("fdrmfl client") dial in over
TLS, authenticate with a token or a certificate the configuration lists,
send the statistics of their training data, and then train the model round
by round; the server aggregates with the configured strategy, exactly as
"fdrmfl simulate" does, and needs no data of its own.

After every round it writes a checkpoint (out/state/checkpoint); run the
same command again after a crash or a stop and it resumes where it was.
SIGTERM or Ctrl-C abandons the current round cleanly. At the end it writes
the model in the layout of "fdrmfl simulate":
  model/manifest.json, model/model.safetensors   the trained model
  rounds.csv, rounds.json                        per-round metrics
  config.yaml                                    the configuration as run`)
	config := fs.String("config", "", "server configuration `file` (see README: Running a real federation)")
	out := fs.String("out", "out/server", "output `folder`")
	listen := fs.String("listen", "", "override server.listen (`address`)")
	insecure := fs.Bool("insecure", false, "serve without TLS (local tests only: tokens travel in clear)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *config == "" {
		return errors.New("--config is required")
	}
	var file serverFile
	if err := readFile(*config, &file, &file.Config); err != nil {
		return err
	}
	if *listen != "" {
		file.Server.Listen = *listen
	}
	addr := file.Server.Listen
	if addr == "" {
		addr = "127.0.0.1:7443"
	}
	s, err := newFederationServer(file, *config, *out, *insecure, newLogger(e.stderr, slog.LevelInfo))
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "fdrmfl server: listening on %s (%s), %d clients, %d rounds; output in %s\n", lis.Addr(), s.security(), len(s.members), s.cfg.Federation.Rounds, *out)
	if err := s.run(ctx, lis); err != nil {
		if ctx.Err() != nil { // a stop asked for (SIGTERM, Ctrl-C) is not a failure
			fmt.Fprintf(e.stdout, "stopped; run the same command to resume from the last checkpoint in %s\n", filepath.Join(*out, "state"))
			return nil
		}
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (model, rounds)\n", *out)
	return nil
}

// federationServer is one run of "fdrmfl server".
type federationServer struct {
	cfg     fdrmfl.Config
	sec     serverSection
	config  string
	out     string
	creds   credentials.TransportCredentials
	members []fedgrpc.Member
	index   map[string]int // a client's place in the list
	log     *slog.Logger
	// afterRound, if set, is called after each round's checkpoint (tests).
	afterRound func(round int)
}

func newFederationServer(file serverFile, config, out string, insecure bool, log *slog.Logger) (*federationServer, error) {
	s := &federationServer{cfg: file.Config.Defaults(), sec: file.Server, config: config, out: out, log: log, index: map[string]int{}}
	if err := s.cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", config, err)
	}
	var err error
	if s.members, err = s.sec.members(config); err != nil {
		return nil, err
	}
	for i, m := range s.members {
		s.index[m.Name] = i
	}
	if !insecure {
		if s.creds, err = s.sec.creds(config); err != nil {
			return nil, err
		}
	}
	return s, nil
}

func (s *federationServer) security() string {
	switch {
	case s.creds == nil:
		return "INSECURE: no TLS"
	case s.sec.TLS.RequireClientCert:
		return "mutual TLS"
	}
	return "TLS"
}

// checkpoint is the server's state after a round, enough to resume.
type checkpoint struct {
	Study      string // hash of the configuration it belongs to
	Federation string
	Round      int
	Manifest   []byte // JSON
	Global     []float32
	Strategy   []byte
	Rounds     []fdrmfl.RoundMetrics
}

// study hashes what a checkpoint must agree with: the study and the
// clients' places.
func (s *federationServer) study() string {
	var names []string
	for _, m := range s.members {
		names = append(names, m.Name)
	}
	b, _ := json.Marshal(struct {
		Config  fdrmfl.Config
		Members []string
	}{s.cfg, names})
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func (s *federationServer) run(ctx context.Context, lis net.Listener) error {
	auth, err := fedgrpc.NewAuth(s.members)
	if err != nil {
		return fmt.Errorf("server: %w", err)
	}
	active := 0
	for _, m := range s.members {
		if !m.Revoked {
			active++
		}
	}
	quorum := s.sec.Quorum
	if quorum <= 0 {
		quorum = (active + 1) / 2 // a majority: one client's loss does not stop a federation of three
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := fedgrpc.NewMetrics(reg)
	fleet := fedgrpc.NewFleet(fedgrpc.Options{
		Auth: auth, Heartbeat: s.sec.Heartbeat.or(5 * time.Second), MinClients: quorum,
		JoinTimeout: s.sec.JoinTimeout.or(10 * time.Minute), MaxUpdateNorm: s.sec.MaxUpdateNorm,
		Log: s.log, Metrics: metrics,
	})
	gs, health := fedgrpc.NewServer(fleet, s.creds)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(fedgrpc.CountingListener(lis, metrics)) }()
	defer func() {
		health.Shutdown() // NOT_SERVING, so that probes see the stop
		fleet.Close()     // ends the long polls
		stopped := make(chan struct{})
		go func() { gs.GracefulStop(); close(stopped) }()
		select {
		case <-stopped:
		case <-time.After(5 * time.Second):
			gs.Stop()
		}
	}()
	if s.sec.Metrics != "" {
		stop, err := serveMetrics(s.sec.Metrics, reg, health, s.log)
		if err != nil {
			return err
		}
		defer stop()
	}
	s.log.Info("serving", "addr", lis.Addr().String(), "security", s.security(), "clients", len(s.members), "quorum", quorum)

	path := filepath.Join(s.out, "state", "checkpoint")
	var ck checkpoint
	found, err := disk.Load(path, &ck)
	if err != nil {
		return fmt.Errorf("server: %w (move it away to start afresh)", err)
	}
	if found && ck.Study != s.study() {
		return fmt.Errorf("server: %s belongs to another configuration or client list; move it away to start afresh", path)
	}
	var man fdrmfl.Manifest
	if found {
		if err := json.Unmarshal(ck.Manifest, &man); err != nil {
			return fmt.Errorf("server: %s: %w", path, err)
		}
		s.log.Info("resuming from the checkpoint", "round", ck.Round, "federation", ck.Federation)
	} else {
		ck, err = s.setup(ctx, fleet, quorum, active)
		if err != nil {
			return err
		}
		json.Unmarshal(ck.Manifest, &man)
		if err := disk.Save(path, ck); err != nil {
			return fmt.Errorf("server: %w", err)
		}
	}
	strat, err := fdrmfl.NewStrategy(s.cfg, &man)
	if err != nil {
		return err
	}
	if u, ok := strat.(interface{ UnmarshalBinary([]byte) error }); ok && found {
		if err := u.UnmarshalBinary(ck.Strategy); err != nil {
			return fmt.Errorf("server: %s: %w", path, err)
		}
	}
	shapes, err := man.Tensors()
	if err != nil {
		return err
	}
	layout := make(fedgrpc.Layout, len(shapes))
	for i, t := range shapes {
		layout[i] = fedgrpc.TensorSpec{Name: t.Name, Shape: t.Shape}
	}
	fleet.SetSetup(layout, func(client string) ([]byte, error) {
		return json.Marshal(fdrmfl.Plan{Federation: ck.Federation, Manifest: &man, Stats: s.cfg.StatsRequest(s.index[client])})
	})
	res := &fdrmfl.Result{Config: s.cfg, Manifest: &man, Rounds: ck.Rounds}
	start := time.Now()
	server := &fed.Server{
		Strategy: strat, Fleet: fleet, Quorum: quorum, Retries: s.sec.Retries,
		RoundTimeout: s.sec.RoundTimeout.or(10 * time.Minute), MaxUpdateNorm: s.sec.MaxUpdateNorm,
		Evaluate: s.cfg.Data.ValFraction > 0, Log: s.log,
		Checkpoint: func(ctx context.Context, c fed.Checkpoint) error {
			ck.Round, ck.Global = c.Round, c.Global
			if m, ok := strat.(interface{ MarshalBinary() ([]byte, error) }); ok {
				b, err := m.MarshalBinary()
				if err != nil {
					return err
				}
				ck.Strategy = b
			}
			ck.Rounds = append(slices.Clip(ck.Rounds), fdrmfl.RoundMetricsOf(c.Report, &man))
			if err := disk.Save(path, ck); err != nil {
				return err
			}
			res.Rounds = ck.Rounds
			return writeRounds(s.out, res)
		},
		Progress: func(r fed.RoundReport) {
			rm := fdrmfl.RoundMetricsOf(r, &man)
			attrs := []any{"round", r.Round, "accepted", len(r.Accepted), "loss", r.Train["loss"], "elapsed", time.Since(start).Round(time.Millisecond)}
			if rm.Val != nil {
				attrs = append(attrs, "val_mse", rm.Val.MSE, "val_r2", rm.Val.R2)
			}
			for c, why := range r.Rejected {
				attrs = append(attrs, "rejected_"+c, why)
			}
			s.log.Info("round done", attrs...)
			if s.afterRound != nil {
				s.afterRound(r.Round)
			}
		},
	}
	final, err := server.Run(ctx, ck.Global, ck.Round+1, s.cfg.Federation.Rounds)
	if err != nil {
		if ctx.Err() != nil {
			s.log.Warn("stopped; the round in progress was abandoned. Run the same command to resume", "last_checkpoint", ck.Round)
		}
		return err
	}
	for _, step := range []func() error{
		func() error { return saveModel(filepath.Join(s.out, "model"), &man, final) },
		func() error { return writeRounds(s.out, res) },
		func() error { return writeYAML(filepath.Join(s.out, "config.yaml"), s.cfg) },
	} {
		if err := step(); err != nil {
			return fmt.Errorf("writing results to %s: %w", s.out, err)
		}
	}
	s.log.Info("federation done; handing out the final model", "rounds", s.cfg.Federation.Rounds, "model", filepath.Join(s.out, "model"))
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := fleet.Finish(fctx, final); err != nil {
		s.log.Warn("not every client fetched the final model", "err", err)
	}
	select {
	case err := <-served:
		return err
	default:
	}
	return nil
}

// setup runs the statistics phase: every client reports the moments of
// its training data, and the server plans the model and its
// standardisation from them.
func (s *federationServer) setup(ctx context.Context, fleet *fedgrpc.Fleet, quorum, all int) (checkpoint, error) {
	s.log.Info("setup: waiting for every client", "clients", all, "at_most", s.sec.JoinTimeout.or(10*time.Minute))
	ids, err := fleet.Wait(ctx, all, s.sec.JoinTimeout.or(10*time.Minute))
	if err != nil {
		return checkpoint{}, err
	}
	var tasks []fed.Task
	for _, id := range ids {
		b, err := json.Marshal(s.cfg.StatsRequest(s.index[id]))
		if err != nil {
			return checkpoint{}, err
		}
		tasks = append(tasks, fed.Task{Client: id, Kind: fed.Stats, Payload: b})
	}
	rctx, cancel := context.WithTimeout(ctx, s.sec.RoundTimeout.or(10*time.Minute))
	ups, err := fleet.Run(rctx, tasks)
	cancel()
	if err != nil {
		return checkpoint{}, err
	}
	if err := ctx.Err(); err != nil {
		return checkpoint{}, err
	}
	slices.SortFunc(ups, func(a, b fed.Update) int { return s.index[a.Client] - s.index[b.Client] })
	var replies []fdrmfl.StatsReply
	for _, u := range ups {
		var r fdrmfl.StatsReply
		if u.Err == nil {
			u.Err = json.Unmarshal(u.Payload, &r)
		}
		if u.Err != nil {
			s.log.Warn("setup: no statistics from client", "client", u.Client, "err", u.Err)
			continue
		}
		s.log.Info("setup: statistics", "client", u.Client, "train", r.Train, "val", r.Val, "test", r.Test)
		replies = append(replies, r)
	}
	if len(replies) < max(quorum, 1) {
		return checkpoint{}, fmt.Errorf("setup: %d clients sent statistics, the quorum is %d", len(replies), quorum)
	}
	man, err := fdrmfl.PlanFederation(s.cfg, replies)
	if err != nil {
		return checkpoint{}, err
	}
	global, err := fdrmfl.InitialWeights(man)
	if err != nil {
		return checkpoint{}, err
	}
	strat, err := fdrmfl.NewStrategy(s.cfg, man)
	if err != nil {
		return checkpoint{}, err
	}
	ck := checkpoint{Study: s.study(), Federation: pki.Token()[:16], Global: global}
	if m, ok := strat.(interface{ MarshalBinary() ([]byte, error) }); ok {
		if ck.Strategy, err = m.MarshalBinary(); err != nil {
			return checkpoint{}, err
		}
	}
	if ck.Manifest, err = json.Marshal(man); err != nil {
		return checkpoint{}, err
	}
	s.log.Info("setup: model planned", "values", man.Values, "modalities", len(man.Modalities), "clients", len(replies))
	return ck, nil
}

// serveMetrics serves /metrics (Prometheus) and /healthz on addr.
func serveMetrics(addr string, reg *prometheus.Registry, health interface {
	Check(context.Context, *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error)
}, log *slog.Logger) (stop func(), err error) {
	lis, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("server.metrics: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		h, err := health.Check(r.Context(), &healthpb.HealthCheckRequest{})
		if err != nil || h.Status != healthpb.HealthCheckResponse_SERVING {
			http.Error(w, "not serving", http.StatusServiceUnavailable)
			return
		}
		io.WriteString(w, "ok\n")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(lis)
	log.Info("metrics and health", "addr", lis.Addr().String(), "paths", "/metrics /healthz")
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}, nil
}
