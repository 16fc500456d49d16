package fdrmfl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/sim"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/privacy"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// Mode says who trains with whom.
type Mode int

const (
	// Federated: the clients train one model by federated rounds.
	Federated Mode = iota
	// Local: each client trains its own model on its own data alone, for
	// the same rounds and epochs (what a client gets without federation).
	Local
	// Central: one model trained on the pooled training data of every
	// client (what pooling the raw data would give).
	Central
)

func (m Mode) String() string {
	switch m {
	case Local:
		return "local"
	case Central:
		return "central"
	}
	return "federated"
}

// Prepared is a dataset split among clients — each client's samples cut
// into train, validation and test sets — and standardised, so that
// several trainings (federated, local, central, with different settings)
// see exactly the same data.
type Prepared struct {
	// Config holds the data and federation settings the split was made
	// with (defaults applied).
	Config Config
	// Data is the full, raw dataset.
	Data *data.Dataset
	// Standardizer is the pooled standardisation of the clients' training data.
	Standardizer *data.Standardizer
	// Excluded maps a client left out in the statistics phase (its
	// statistics stood out, site.Screen) to the reason; it takes no part.
	Excluded map[string]string
	// Preprocess is the spectral preprocessing fitted on the clients'
	// training data (data.preprocess), applied before standardisation.
	Preprocess []Preprocessing
	clients    []*site.Sets
	adv        Adversary
}

// Prepare splits ds among the clients cfg describes, fits and applies the
// spectral preprocessing (data.preprocess) and standardises it.
func Prepare(cfg Config, ds *data.Dataset) (*Prepared, error) {
	return prepare(cfg, ds, nil)
}

func prepare(cfg Config, ds *data.Dataset, adv Adversary) (*Prepared, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	clients, err := splitClients(cfg, ds)
	if err != nil {
		return nil, err
	}
	pre, err := preprocessClients(cfg, clients)
	if err != nil {
		return nil, err
	}
	std, kept, excluded, err := standardizeClients(cfg, clients, adv)
	if err != nil {
		return nil, err
	}
	return &Prepared{Config: cfg, Data: ds, Standardizer: std, Preprocess: pre, Excluded: excluded, clients: kept, adv: adv}, nil
}

// Log writes to l, per client, the sizes of the sets of a fixed split and
// the samples left out for having no response.
func (p *Prepared) Log(l *slog.Logger) {
	if l == nil {
		return
	}
	for _, c := range p.clients {
		if c.Fixed {
			l.Info("fixed split (data.split)", "client", c.Name, "train", len(c.TrainIndex), "val", len(c.ValIndex), "test", len(c.TestIndex))
		}
		if n := len(c.Unlabelled); n > 0 {
			l.Warn("samples without any response left out", "client", c.Name, "samples", n)
		}
	}
}

// Clients returns the clients' standardised sets (shared, not copied: do
// not modify).
func (p *Prepared) Clients() []site.Sets {
	out := make([]site.Sets, len(p.clients))
	for i, c := range p.clients {
		out[i] = *c
	}
	return out
}

// Train trains on the prepared clients with the model, training and
// federation settings of cfg (its data settings are those the split was
// made with) and returns the features and predictions of every client's
// samples. Under Local, Result.Weights is nil: each client has its own
// model, and its features come from it.
func (p *Prepared) Train(ctx context.Context, cfg Config, mode Mode, opt Options) (*Result, error) {
	cfg = cfg.Defaults()
	cfg.Data, cfg.Federation.Clients, cfg.Federation.Partition = p.Config.Data, p.Config.Federation.Clients, p.Config.Federation.Partition
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	if cfg.IsLinear() {
		return p.trainLinear(ctx, cfg, mode, opt)
	}
	mc, err := completeModel(cfg, p.Data)
	if err != nil {
		return nil, err
	}
	cfg.Model = mc
	if mode == Federated && len(p.clients) > 1 { // the clients train by DP-SGD
		for _, c := range p.clients {
			cfg.privacySizes = append(cfg.privacySizes, c.Train.Len())
		}
		if err := cfg.calibrateDPSGD(cfg.privacySizes); err != nil {
			return nil, err
		}
	}
	workers := cfg.Federation.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	pool, err := site.NewTrainerPool(mc, cfg.Train, workers)
	if err != nil {
		return nil, err
	}
	store := opt.Store
	if store == nil {
		store = &site.MemoryStore{}
	}
	sites := make([]*site.Site, len(p.clients))
	for k, c := range p.clients {
		sites[k] = &site.Site{Name: c.Name, Train: c.Train, Val: c.Val, Test: c.Test, Store: store, Trainers: pool, Seed: seed.For(cfg.Seed, seed.Client, uint64(k))}
	}
	res := &Result{Config: cfg, Excluded: p.Excluded}
	var pooled train.Stats
	addClient := func(cr ClientResult) {
		res.Clients = append(res.Clients, cr)
		if cr.Test != nil {
			pooled.Add(clientTestStats(cr))
		}
	}
	switch mode {
	case Federated:
		final, err := p.federate(ctx, cfg, sites, pool, workers, res, opt, mode)
		if err != nil {
			return nil, err
		}
		res.Weights = final
		for k, s := range sites {
			cr, err := ClientFeatures(s, p.clients[k], final, p.Standardizer)
			if err != nil {
				return nil, err
			}
			addClient(cr)
		}
	case Local:
		for k, s := range sites {
			final, err := p.federate(ctx, cfg, []*site.Site{s}, pool, workers, res, opt, mode)
			if err != nil {
				return nil, fmt.Errorf("%s alone: %w", s.Name, err)
			}
			cr, err := ClientFeatures(s, p.clients[k], final, p.Standardizer)
			if err != nil {
				return nil, err
			}
			addClient(cr)
		}
	case Central:
		all := &site.Site{Name: "central", Store: store, Trainers: pool, Seed: seed.For(cfg.Seed, seed.Client, 1<<32)}
		var trains, vals []*data.Dataset
		for _, c := range p.clients {
			trains, vals = append(trains, c.Train), append(vals, c.Val)
		}
		if all.Train, err = concat(trains); err != nil {
			return nil, err
		}
		if all.Val, err = concat(vals); err != nil {
			return nil, err
		}
		final, err := p.federate(ctx, cfg, []*site.Site{all}, pool, workers, res, opt, mode)
		if err != nil {
			return nil, fmt.Errorf("central: %w", err)
		}
		res.Weights = final
		for k, s := range sites {
			cr, err := ClientFeatures(s, p.clients[k], final, p.Standardizer)
			if err != nil {
				return nil, err
			}
			addClient(cr)
		}
	default:
		return nil, fmt.Errorf("unknown training mode %d", mode)
	}
	if res.Weights != nil {
		res.Manifest = newManifest(cfg, p.Data, p.Standardizer, len(res.Weights))
		res.Manifest.Preprocess = p.Preprocess
	}
	res.Preprocess = p.Preprocess
	if pooled.N > 0 {
		res.Test = metricsOf(pooled)
	}
	return res, nil
}

// federate runs cfg's rounds over the given sites and returns the final
// global model; round metrics are appended to res.
func (p *Prepared) federate(ctx context.Context, cfg Config, sites []*site.Site, pool *site.TrainerPool, workers int, res *Result, opt Options, mode Mode) ([]float32, error) {
	global, err := train.InitialWeights(cfg.Model, seed.For(cfg.Seed, seed.Init))
	if err != nil {
		return nil, err
	}
	// Privacy settings apply to a federation of several sites; the local
	// and central comparisons train one site alone.
	private := len(sites) > 1
	var strat fed.Strategy = cfg.strategy(pool)
	if private {
		n := 0
		for _, s := range sites {
			n += s.Train.Len()
		}
		if strat, err = cfg.privateStrategy(cfg.fedAvg(pool), n); err != nil {
			return nil, err
		}
	}
	secure := private && cfg.Privacy.Secure.Enabled
	// A client that cannot keep its training state stops the run, as a
	// real client stops, rather than being left out of every round.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	clients := map[string]fed.Client{}
	declared := map[string]int{}
	for _, s := range sites {
		var c fed.Client = s
		if p.adv != nil && mode == Federated {
			c = p.adv.Client(s)
		}
		c = stateGuard{c, stop}
		if secure {
			c = &fed.SecureClient{Client: c}
		}
		if opt.Wrap != nil && private {
			c = opt.Wrap(s.Name, c)
		}
		clients[s.Name] = c
		declared[s.Name] = s.Train.Len()
	}
	sf := sim.New(clients)
	sf.Workers = workers
	if opt.ClientsDone != nil {
		sf.Done = func(round int, kind fed.Kind, done, total int) { opt.ClientsDone(round, kind.String(), done, total) }
	}
	var fleet fed.Fleet = sf
	if p.adv != nil && mode == Federated {
		fleet = p.adv.Fleet(fleet)
	}
	ySD := p.Standardizer.Y.Std
	var best []float32
	bestErr := math.Inf(1)
	server := &fed.Server{
		Strategy: strat, Fleet: fleet, Evaluate: cfg.Data.ValFraction > 0, Log: opt.Log,
		NormBound: cfg.Federation.Bound(), Direction: cfg.Federation.DirectionBound(), Samples: func(c string) int { return declared[c] },
		Progress: func(r fed.RoundReport) {
			rm := roundMetrics(r, cfg.Model.Responses, ySD)
			rm.Epsilon, rm.Delta, _ = spent(strat)
			res.Rounds = append(res.Rounds, rm)
			if opt.Progress != nil {
				opt.Progress(rm)
			}
		},
	}
	if cfg.Federation.KeepBest {
		server.Checkpoint = func(_ context.Context, c fed.Checkpoint) error {
			if c.Report.EvalClients == 0 {
				return nil
			}
			st := site.EvalStats(c.Report.Eval, cfg.Model.Responses)
			var e float64
			for j := range st.SSE {
				if st.Observed(j) > 0 {
					e += st.MSE(j) // standardised responses: comparable across responses
				}
			}
			if e < bestErr {
				bestErr, best = e, append(best[:0], c.Global...)
			}
			return nil
		}
	}
	if secure {
		server.Secure = cfg.secureAggregation()
	}
	final, err := server.Run(ctx, global, 1, cfg.Federation.Rounds)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return nil, cause
	}
	if errors.Is(err, privacy.ErrBudget) {
		if opt.Log != nil {
			opt.Log.Warn("training stopped: the privacy budget is spent", "after_round", len(res.Rounds), "err", err)
		}
		err = nil
	}
	if err != nil || best == nil {
		return final, err
	}
	return best, nil
}

// stateGuard stops the run (stop) when its client cannot keep its state.
type stateGuard struct {
	fed.Client
	stop context.CancelCauseFunc
}

func (g stateGuard) Execute(ctx context.Context, t fed.Task) (fed.Update, error) {
	u, err := g.Client.Execute(ctx, t)
	if se := (*site.StateError)(nil); errors.As(err, &se) {
		g.stop(err)
	}
	return u, err
}

// concat returns the samples of several datasets of the same layout, in order.
func concat(parts []*data.Dataset) (*data.Dataset, error) {
	first := parts[0]
	n := 0
	for _, d := range parts {
		n += d.Len()
	}
	mods := make([]data.Modality, len(first.Modalities))
	for i, m := range first.Modalities {
		mods[i] = data.Modality{Name: m.Name, Kind: m.Kind, Shape: slices.Clone(m.Shape)}
		some := false
		for _, d := range parts {
			some = some || d.Modalities[i].Present != nil
		}
		for _, d := range parts {
			dm := d.Modalities[i]
			mods[i].Data = append(mods[i].Data, dm.Data...)
			if some {
				for s := range d.Len() {
					mods[i].Present = append(mods[i].Present, dm.Has(s))
				}
			}
		}
	}
	var y []float32
	var ids []string
	var roles []data.Role
	for _, d := range parts {
		y = append(y, d.Y...)
		if first.IDs != nil {
			ids = append(ids, d.IDs...)
		}
		if first.Roles != nil {
			roles = append(roles, d.Roles...)
		}
	}
	ds, err := data.New(n, mods, slices.Clone(first.ResponseNames), y)
	if err != nil {
		return nil, err
	}
	ds.IDs, ds.Roles = ids, roles
	return ds, ds.Validate()
}
