package deploy

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
	"github.com/fdrmfl/fdrmfl/preprocess"
	"github.com/fdrmfl/fdrmfl/privacy"
)

// ServerConfig is what NewServer needs.
type ServerConfig struct {
	// Study is the federation's configuration, as for fdrmfl.Simulate;
	// the server reads no data (data gives the split fractions and
	// scaling only).
	Study    fdrmfl.Config
	Settings ServerSettings
	// Dir is the folder the settings' relative paths start from (the
	// configuration file's).
	Dir string
	// Insecure serves without TLS (local tests only: tokens travel in clear).
	Insecure bool
	// StateDir keeps the checkpoint written after every round; a server
	// started again with the same StateDir resumes from it.
	StateDir string
	// Log receives one structured line per event (nil: discard).
	Log *slog.Logger
	// OnRound, if set, is called after each round's checkpoint with the
	// result so far (the rounds; no weights yet); an error stops the run.
	OnRound func(*fdrmfl.Result) error
	// OnDone, if set, is called with the final result before the clients
	// fetch the final model; an error stops the run.
	OnDone func(*fdrmfl.Result) error
}

// Server is the server of a real federation: it admits the clients its
// settings list, runs the statistics phase, and then trains round by
// round with the strategy of the study, checkpointing after each round.
type Server struct {
	c       ServerConfig
	cfg     fdrmfl.Config
	creds   credentials.TransportCredentials
	members []fedgrpc.Member
	index   map[string]int // a client's place in the list
	log     *slog.Logger
	// afterRound, if set, is called after each round's progress report (tests).
	afterRound func(round int)
	// wrapStats, if set, wraps the fleet of the statistics phase (tests
	// watch what the server receives).
	wrapStats func(fed.Fleet) fed.Fleet
	// partBytes bounds the parts of a linear federation's statistics
	// (0: defaultPartBytes), and linearBatch is the number of clients
	// whose statistics are gathered at once (0: 4); tests make them small.
	partBytes, linearBatch int
}

// NewServer checks the configuration and loads the members list and the
// TLS material.
func NewServer(c ServerConfig) (*Server, error) {
	s := &Server{c: c, log: c.Log, index: map[string]int{}}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	var err error
	if s.members, err = c.Settings.members(c.Dir); err != nil {
		return nil, err
	}
	study := c.Study
	if study.Federation.Clients == 0 { // the robust rules' defaults count the members
		study.Federation.Clients = len(s.members)
	}
	s.cfg = study.Defaults()
	if err := s.cfg.Validate(); err != nil {
		return nil, err
	}
	if _, err := s.cfg.DeployedSelection(); err != nil {
		return nil, err
	}
	if c.StateDir == "" {
		return nil, errors.New("server: no state folder for the checkpoint")
	}
	if s.cfg.Privacy.Secure.Enabled && c.Settings.MaxUpdateNorm > 0 {
		return nil, errors.New("server.max_update_norm: the server cannot measure updates it never sees under privacy.secure_aggregation.enabled; bound them with privacy.secure_aggregation.clip (or privacy.dp.clip), which each client applies")
	}
	for i, m := range s.members {
		s.index[m.Name] = i
	}
	if !c.Insecure {
		if s.creds, err = c.Settings.creds(c.Dir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Addr returns the address the settings ask to listen on.
func (s *Server) Addr() string {
	if s.c.Settings.Listen == "" {
		return "127.0.0.1:7443"
	}
	return s.c.Settings.Listen
}

// Config returns the study with its defaults.
func (s *Server) Config() fdrmfl.Config { return s.cfg }

// Clients returns the number of clients the server admits.
func (s *Server) Clients() int { return len(s.members) }

// Security describes the transport: TLS, mutual TLS or none.
func (s *Server) Security() string {
	switch {
	case s.creds == nil:
		return "INSECURE: no TLS"
	case s.c.Settings.TLS.RequireClientCert:
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
	// Excluded maps a client left out in the statistics phase to the reason.
	Excluded map[string]string
	// Declared maps every client taking part to the training-set size it
	// declared: its updates count with at most that many samples.
	Declared map[string]int
	// Best is the global model of the round with the least validation
	// error so far (BestRound; BestMSE over the standardised responses),
	// kept when the study selects the round by validation.
	Best      []float32
	BestRound int
	BestMSE   float64
	// TrainSamples is the total of Declared, which scales each client's
	// weight under secure aggregation.
	TrainSamples int
}

// study hashes what a checkpoint must agree with: the study and the
// clients' places.
func (s *Server) study() string {
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

// CheckpointPath returns the file of the server's checkpoint.
func (s *Server) CheckpointPath() string { return filepath.Join(s.c.StateDir, "checkpoint") }

// Run serves the federation on lis until it is done and returns the
// trained model with its rounds. Cancelling ctx (SIGTERM, Ctrl-C)
// abandons the round in progress; the next Run with the same state
// folder resumes from the last checkpoint.
func (s *Server) Run(ctx context.Context, lis net.Listener) (*fdrmfl.Result, error) {
	set := s.c.Settings
	auth, err := fedgrpc.NewAuth(s.members)
	if err != nil {
		return nil, fmt.Errorf("server: %w", err)
	}
	active := 0
	for _, m := range s.members {
		if !m.Revoked {
			active++
		}
	}
	quorum := set.Quorum
	if quorum <= 0 {
		quorum = (active + 1) / 2 // a majority: one client's loss does not stop a federation of three
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := fedgrpc.NewMetrics(reg)
	fleet := fedgrpc.NewFleet(fedgrpc.Options{
		Auth: auth, Heartbeat: set.Heartbeat.Or(5 * time.Second), MinClients: quorum,
		JoinTimeout: set.JoinTimeout.Or(10 * time.Minute), MaxUpdateNorm: set.MaxUpdateNorm,
		Log: s.log, Metrics: metrics, Limits: fedgrpc.Limits{PeerConnections: set.PeerConnections},
	})
	gs, health := fedgrpc.NewServer(fleet, s.creds)
	served := make(chan error, 1)
	go func() { served <- gs.Serve(fleet.Listener(lis, s.creds != nil)) }()
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
	if set.Metrics != "" {
		stop, err := serveMetrics(set.Metrics, reg, health, s.log)
		if err != nil {
			return nil, err
		}
		defer stop()
	}
	s.log.Info("serving", "addr", lis.Addr().String(), "security", s.Security(), "clients", len(s.members), "quorum", quorum)

	path := s.CheckpointPath()
	var ck checkpoint
	found, err := disk.Load(path, &ck)
	if err != nil {
		return nil, fmt.Errorf("server: %w (move it away to start afresh)", err)
	}
	if found && ck.Study != s.study() {
		return nil, fmt.Errorf("server: %s belongs to another configuration or client list; move it away to start afresh", path)
	}
	if found {
		s.log.Info("resuming from the checkpoint", "round", ck.Round, "federation", ck.Federation)
	} else {
		if ck, err = s.setup(ctx, fleet, quorum, active); err != nil {
			return nil, err
		}
		if err := disk.Save(path, ck); err != nil {
			return nil, fmt.Errorf("server: %w", err)
		}
	}
	var man fdrmfl.Manifest
	if err := json.Unmarshal(ck.Manifest, &man); err != nil {
		return nil, fmt.Errorf("server: the manifest in %s: %w", path, err)
	}
	shapes, err := man.Tensors()
	if err != nil {
		return nil, err
	}
	layout := make(fedgrpc.Layout, len(shapes))
	for i, t := range shapes {
		layout[i] = fedgrpc.TensorSpec{Name: t.Name, Shape: t.Shape}
	}
	fleet.SetSetup(layout, func(client string) ([]byte, error) {
		if why, ok := ck.Excluded[client]; ok {
			return nil, fmt.Errorf("client %s was left out of this federation in the statistics phase: it %s", client, why)
		}
		return json.Marshal(Plan{Federation: ck.Federation, Manifest: &man, Stats: NewStatsRequest(s.cfg, s.index[client])})
	})
	res := &fdrmfl.Result{Config: s.cfg, Manifest: &man, Rounds: ck.Rounds}
	if man.IsLinear() {
		return s.finishLinear(ctx, fleet, served, res, ck)
	}
	strat, err := s.cfg.PrivateStrategy(&man, ck.TrainSamples)
	if err != nil {
		return nil, err
	}
	if u, ok := strat.(interface{ UnmarshalBinary([]byte) error }); ok && found {
		if err := u.UnmarshalBinary(ck.Strategy); err != nil {
			return nil, fmt.Errorf("server: %s: %w", path, err)
		}
	}
	keepBest, err := s.cfg.DeployedSelection()
	if err != nil {
		return nil, err
	}
	start := time.Now()
	server := &fed.Server{
		Strategy: strat, Fleet: fleet, Quorum: quorum, Retries: set.Retries,
		RoundTimeout: set.RoundTimeout.Or(10 * time.Minute), MaxUpdateNorm: set.MaxUpdateNorm,
		NormBound: s.cfg.Federation.Bound(), Direction: s.cfg.Federation.DirectionBound(), DirectionMin: s.cfg.Federation.DirectionMin, Samples: func(c string) int { return ck.Declared[c] },
		Evaluate: s.cfg.Data.ValFraction > 0, Log: s.log, Secure: s.cfg.SecureAggregationSettings(),
		Checkpoint: func(ctx context.Context, c fed.Checkpoint) error {
			ck.Round, ck.Global = c.Round, c.Global
			if e, ok := fdrmfl.ValidationMSE(c.Report, man.Model.Responses); keepBest && ok && (ck.Best == nil || e < ck.BestMSE) {
				ck.Best, ck.BestRound, ck.BestMSE = append(ck.Best[:0], c.Global...), c.Round, e
			}
			if m, ok := strat.(interface{ MarshalBinary() ([]byte, error) }); ok {
				b, err := m.MarshalBinary()
				if err != nil {
					return err
				}
				ck.Strategy = b
			}
			rm := man.RoundMetrics(c.Report)
			rm.Epsilon, rm.Delta, _ = fdrmfl.Spent(strat)
			ck.Rounds = append(slices.Clip(ck.Rounds), rm)
			if err := disk.Save(path, ck); err != nil {
				return err
			}
			res.Rounds = ck.Rounds
			if s.c.OnRound != nil {
				return s.c.OnRound(res)
			}
			return nil
		},
		Progress: func(r fed.RoundReport) {
			rm := man.RoundMetrics(r)
			attrs := []any{"round", r.Round, "accepted", len(r.Accepted), "loss", r.Train["loss"], "elapsed", time.Since(start).Round(time.Millisecond)}
			if rm.Val != nil {
				attrs = append(attrs, "val_mse", rm.Val.MSE, "val_r2", rm.Val.R2)
			}
			if eps, delta, ok := fdrmfl.Spent(strat); ok {
				attrs = append(attrs, "epsilon", eps, "delta", delta)
			}
			for c, why := range r.Rejected {
				attrs = append(attrs, "rejected_"+c, why)
				metrics.Rejected(r.Causes[c])
			}
			s.log.Info("round done", attrs...)
			if s.afterRound != nil {
				s.afterRound(r.Round)
			}
		},
	}
	final, err := server.Run(ctx, ck.Global, ck.Round+1, s.cfg.Federation.Rounds)
	if errors.Is(err, privacy.ErrBudget) {
		s.log.Warn("training stopped: the privacy budget is spent", "err", err)
		err = nil
	}
	if err != nil {
		if ctx.Err() != nil {
			s.log.Warn("stopped; the round in progress was abandoned. Run the same command to resume", "last_checkpoint", ck.Round)
		}
		return nil, err
	}
	res.Weights = final
	if keepBest && ck.Best != nil {
		res.Weights = ck.Best
		res.Selection = &fdrmfl.Selection{Mode: "validation", Rounds: ck.BestRound, Chosen: 0,
			Candidates: []fdrmfl.CandidateScore{{Name: "as configured", Best: ck.BestRound, MSE: ck.BestMSE, Rounds: s.cfg.Federation.Rounds}}}
		s.log.Info("keeping the round with the least validation error", "round", ck.BestRound, "val_mse", ck.BestMSE)
	}
	s.log.Info("federation done; handing out the final model", "rounds", s.cfg.Federation.Rounds)
	return s.finish(ctx, fleet, served, res)
}

// finish hands the final model res.Weights, once the caller's OnDone has
// taken it, to every client, and returns res.
func (s *Server) finish(ctx context.Context, fleet *fedgrpc.Fleet, served <-chan error, res *fdrmfl.Result) (*fdrmfl.Result, error) {
	if s.c.OnDone != nil {
		if err := s.c.OnDone(res); err != nil {
			return nil, err
		}
	}
	fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := fleet.Finish(fctx, res.Weights); err != nil {
		s.log.Warn("not every client fetched the final model", "err", err)
	}
	select {
	case err := <-served:
		return res, err
	default:
	}
	return res, nil
}

// setup runs the statistics phase: every client reports the moments of
// its training data — in the clear, or under secure aggregation only
// their sum (planSecure) — and the server plans the model and its
// standardisation from them.
func (s *Server) setup(ctx context.Context, fleet *fedgrpc.Fleet, quorum, all int) (checkpoint, error) {
	join := s.c.Settings.JoinTimeout.Or(10 * time.Minute)
	s.log.Info("setup: waiting for every client", "clients", all, "at_most", join)
	ids, err := fleet.Wait(ctx, all, join)
	if err != nil {
		return checkpoint{}, err
	}
	var sf fed.Fleet = fleet
	if s.wrapStats != nil {
		sf = s.wrapStats(sf)
	}
	secure := s.cfg.Privacy.Secure.Enabled
	if secure {
		s.log.Info("setup: statistics under secure aggregation: the server learns each client's description and set sizes, and only the sums of the msc spectra and of the moments; screening the statistics (federation.stats_limit) needs each client's and is skipped")
	}
	replies, names, err := s.statsRound(ctx, sf, ids, nil, nil)
	if err != nil {
		return checkpoint{}, err
	}
	var pre []fdrmfl.Preprocessing
	var man *fdrmfl.Manifest
	var excluded map[int]string
	if secure {
		if len(replies) < max(quorum, 1) {
			return checkpoint{}, fmt.Errorf("setup: %d clients described their data, the quorum is %d", len(replies), quorum)
		}
		if man, pre, excluded, err = s.planSecure(ctx, sf, replies, names); err != nil {
			return checkpoint{}, err
		}
	} else {
		if len(s.cfg.Data.Preprocess) > 0 && len(replies) > 0 {
			// Fit the spectral preprocessing (msc references: the federated
			// mean spectrum, from the clients' sums), then ask for the moments
			// of the preprocessed samples.
			schema, err := layoutOf(replies[0])
			if err != nil {
				return checkpoint{}, err
			}
			pre, err = fdrmfl.FitPreprocessing(s.cfg.Data.Preprocess, schema, func(mod string, prefix preprocess.Chain) ([]float64, int, error) {
				sums, _, err := s.statsRound(ctx, sf, ids, nil, &SumRequest{Modality: mod, Prefix: prefix})
				if err != nil {
					return nil, 0, err
				}
				var tot []float64
				n := 0
				for _, r := range sums {
					if tot == nil {
						tot = make([]float64, len(r.Sum))
					}
					if len(r.Sum) != len(tot) {
						continue // another layout: PlanFederation leaves the client out
					}
					for j, v := range r.Sum {
						tot[j] += v
					}
					n += r.SumCount
				}
				return tot, n, nil
			})
			if err != nil {
				return checkpoint{}, err
			}
			for _, p := range pre {
				s.log.Info("setup: preprocessing", "modality", p.Modality, "chain", p.Spec)
			}
			if replies, names, err = s.statsRound(ctx, sf, ids, pre, nil); err != nil {
				return checkpoint{}, err
			}
		}
		if len(replies) < max(quorum, 1) {
			return checkpoint{}, fmt.Errorf("setup: %d clients sent statistics, the quorum is %d", len(replies), quorum)
		}
		if man, excluded, err = PlanFederation(s.cfg, replies); err != nil {
			return checkpoint{}, err
		}
	}
	declared := map[string]int{}
	for i, r := range replies {
		s.log.Info("setup: statistics", "client", names[i], "train", r.Train, "val", r.Val, "test", r.Test)
		declared[names[i]] = r.Train
	}
	man.Preprocess = pre
	leftOut := map[string]string{}
	for k, why := range excluded {
		leftOut[names[k]] = why
		delete(declared, names[k])
		s.log.Warn("setup: client left out", "client", names[k], "reason", why)
	}
	if len(replies)-len(excluded) < max(quorum, 1) {
		return checkpoint{}, fmt.Errorf("setup: %d clients sent usable statistics, the quorum is %d", len(replies)-len(excluded), quorum)
	}
	if man.IsLinear() {
		var kept []string
		for k, name := range names {
			if _, out := excluded[k]; !out {
				kept = append(kept, name)
			}
		}
		if secure {
			return s.setupLinearSecure(ctx, sf, man, kept, leftOut, quorum)
		}
		return s.setupLinear(ctx, fleet, man, kept, leftOut, quorum)
	}
	global, err := man.InitialWeights()
	if err != nil {
		return checkpoint{}, err
	}
	trainSamples := 0
	for _, n := range declared {
		trainSamples += n
	}
	strat, err := s.cfg.PrivateStrategy(man, trainSamples)
	if err != nil {
		return checkpoint{}, err
	}
	ck := checkpoint{Study: s.study(), Federation: pki.Token()[:16], Global: global, Excluded: leftOut, Declared: declared, TrainSamples: trainSamples}
	if m, ok := strat.(interface{ MarshalBinary() ([]byte, error) }); ok {
		if ck.Strategy, err = m.MarshalBinary(); err != nil {
			return checkpoint{}, err
		}
	}
	if ck.Manifest, err = json.Marshal(man); err != nil {
		return checkpoint{}, err
	}
	s.log.Info("setup: model planned", "values", man.Values, "modalities", len(man.Modalities), "clients", len(replies)-len(excluded))
	return ck, nil
}

// statsRound asks every client for its statistics — of its samples after
// the preprocessing pre, or the sums sr asks for; under secure
// aggregation the description of its data alone — and returns the
// replies in client order with the clients' names; a client that fails
// is left out with a warning.
func (s *Server) statsRound(ctx context.Context, fleet fed.Fleet, ids []string, pre []fdrmfl.Preprocessing, sr *SumRequest) ([]StatsReply, []string, error) {
	var tasks []fed.Task
	for _, id := range ids {
		req := NewStatsRequest(s.cfg, s.index[id])
		req.Preprocess, req.Sums = pre, sr
		req.Describe = s.cfg.Privacy.Secure.Enabled // the statistics go through planSecure
		b, err := json.Marshal(req)
		if err != nil {
			return nil, nil, err
		}
		tasks = append(tasks, fed.Task{Client: id, Kind: fed.Stats, Payload: b})
	}
	rctx, cancel := context.WithTimeout(ctx, s.c.Settings.RoundTimeout.Or(10*time.Minute))
	ups, err := fleet.Run(rctx, tasks)
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, nil, err
	}
	slices.SortFunc(ups, func(a, b fed.Update) int { return s.index[a.Client] - s.index[b.Client] })
	var replies []StatsReply
	var names []string
	for _, u := range ups {
		var r StatsReply
		if u.Err == nil {
			u.Err = json.Unmarshal(u.Payload, &r)
		}
		if u.Err != nil {
			s.log.Warn("setup: no statistics from client", "client", u.Client, "err", u.Err)
			continue
		}
		replies = append(replies, r)
		names = append(names, u.Client)
	}
	return replies, names, nil
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
