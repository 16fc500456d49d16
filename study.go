package fdrmfl

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/sim"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/privacy"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
	"github.com/fdrmfl/fdrmfl/warm"
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

	mu     sync.Mutex
	linear map[string]linearCache // warm starts fitted so far
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
	store := opt.Store
	if store == nil {
		store = &site.MemoryStore{}
	}
	res := &Result{Config: cfg, Excluded: p.Excluded}
	var pooled train.Stats
	addClient := func(cr ClientResult) {
		res.Clients = append(res.Clients, cr)
		if cr.Test != nil {
			pooled.Add(clientTestStats(cr))
		}
	}
	// groups are the sites that train together, with the clients whose
	// features their model gives.
	type group struct {
		sites   []*site.Site
		clients []int
	}
	var groups []group
	seedOf := func(k int) uint64 { return seed.For(cfg.Seed, seed.Client, uint64(k)) }
	switch mode {
	case Federated, Local:
		var all group
		for k, s := range p.sitesFor(cfg, store) {
			if mode == Local {
				groups = append(groups, group{sites: []*site.Site{s}, clients: []int{k}})
			}
			all.sites, all.clients = append(all.sites, s), append(all.clients, k)
		}
		if mode == Federated {
			groups = []group{all}
		}
	case Central:
		all := &site.Site{Name: "central", Store: store, Seed: seed.For(cfg.Seed, seed.Client, 1<<32)}
		var trains, vals []*data.Dataset
		for _, c := range p.clients {
			trains, vals = append(trains, c.Train), append(vals, c.Val)
		}
		var err error
		if all.Train, err = concat(trains); err != nil {
			return nil, err
		}
		if all.Val, err = concat(vals); err != nil {
			return nil, err
		}
		g := group{sites: []*site.Site{all}}
		for k := range p.clients {
			g.clients = append(g.clients, k)
		}
		groups = []group{g}
	default:
		return nil, fmt.Errorf("unknown training mode %d", mode)
	}
	for _, g := range groups {
		where := ""
		switch mode {
		case Local:
			where = g.sites[0].Name + " alone: "
		case Central:
			where = "central: "
		}
		sel, err := p.choose(ctx, cfg, g.sites, workers, opt)
		if err != nil {
			return nil, fmt.Errorf("%s%w", where, err)
		}
		gcfg := cfg
		if sel != nil {
			gcfg = sel.cfg
			res.Selection = &sel.report
			rounds := cfg.Federation.Rounds
			res.Config = sel.cfg
			res.Config.Federation.Rounds, res.Config.Select = rounds, cfg.Select
		}
		pool, err := site.NewTrainerPool(gcfg.Model, gcfg.Train, workers)
		if err != nil {
			return nil, err
		}
		for _, s := range g.sites {
			s.Trainers = pool
		}
		var final []float32
		if sel != nil && sel.weights != nil {
			final = sel.weights
			for _, s := range g.sites { // the winning run's client states (FedBN's local layers)
				st, err := sel.states.Load(s.Name)
				if err != nil {
					return nil, err
				}
				if err := store.Save(s.Name, st); err != nil {
					return nil, err
				}
			}
			res.Rounds, res.Init = sel.rounds, sel.init
		} else if final, err = p.federate(ctx, gcfg, g.sites, pool, workers, "", res, opt, nil); err != nil {
			return nil, fmt.Errorf("%s%w", where, err)
		}
		if mode != Local {
			res.Weights = final
		}
		for _, k := range g.clients {
			s := g.sites[0]
			if mode != Central {
				s = g.sites[slices.Index(g.clients, k)]
			} else {
				s = &site.Site{Name: p.clients[k].Name, Train: p.clients[k].Train, Val: p.clients[k].Val, Test: p.clients[k].Test, Store: store, Trainers: pool, Seed: seedOf(k)}
			}
			cr, err := ClientFeatures(s, p.clients[k], final, p.Standardizer)
			if err != nil {
				return nil, err
			}
			if sel != nil && mode != Central {
				if err := personalize(&cr, cfg.Federation.Personalize, sel.heldOut[s.Name], p.Standardizer); err != nil {
					return nil, err
				}
			}
			addClient(cr)
		}
	}
	if mode == Federated || mode == Central {
		cfg = res.Config
	}
	if res.Weights != nil {
		res.Manifest = newManifest(cfg, p.Data, p.Standardizer, len(res.Weights))
		res.Manifest.Preprocess = p.Preprocess
	}
	res.Preprocess = p.Preprocess
	slices.SortFunc(res.Clients, func(a, b ClientResult) int { return strings.Compare(a.Name, b.Name) })
	if pooled.N > 0 {
		res.Test = metricsOf(pooled)
	}
	return res, nil
}

// sitesFor returns the clients as the sites of a federation trained with
// cfg, keeping their states in store (their trainers are set later).
func (p *Prepared) sitesFor(cfg Config, store site.StateStore) []*site.Site {
	out := make([]*site.Site, len(p.clients))
	for k, c := range p.clients {
		out[k] = &site.Site{Name: c.Name, Train: c.Train, Val: c.Val, Test: c.Test, Store: store, Seed: seed.For(cfg.Seed, seed.Client, uint64(k))}
	}
	return out
}

// federate runs cfg's rounds over the given sites and returns the final
// global model; round metrics are appended to res (if not nil). tag
// tells apart runs on different rows of the same sites (folds of a
// model selection), whose warm starts differ. onRound, if set, is called
// with the initial model (round 0) and after every round with the global
// model; an error stops the run.
func (p *Prepared) federate(ctx context.Context, cfg Config, sites []*site.Site, pool *site.TrainerPool, workers int, tag string, res *Result, opt Options, onRound func(round int, global []float32) error) ([]float32, error) {
	global, choice, err := p.initialWeights(cfg, sites, tag)
	if err != nil {
		return nil, err
	}
	if res != nil {
		res.Init = choice
	}
	if onRound != nil {
		if err := onRound(0, global); err != nil {
			return nil, err
		}
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
		if base, ok := strat.(*strategy.FedAvg); ok { // no differential privacy
			strat = cfg.rule(base, pool)
		}
	}
	secure := private && cfg.Privacy.Secure.Enabled
	// A hostile client (the attack study) acts in every federation of
	// several sites, the model selection's included.
	hostile := p.adv != nil && private
	// A client that cannot keep its training state stops the run, as a
	// real client stops, rather than being left out of every round.
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	clients := map[string]fed.Client{}
	declared := map[string]int{}
	for _, s := range sites {
		var c fed.Client = s
		if hostile {
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
	if hostile {
		fleet = p.adv.Fleet(fleet)
	}
	ySD := p.Standardizer.Y.Std
	var best []float32
	bestErr := math.Inf(1)
	server := &fed.Server{
		Strategy: strat, Fleet: fleet, Evaluate: cfg.Data.ValFraction > 0 && res != nil, Log: opt.Log,
		NormBound: cfg.Federation.Bound(), Direction: cfg.Federation.DirectionBound(), DirectionMin: cfg.Federation.DirectionMin, Samples: func(c string) int { return declared[c] },
		Progress: func(r fed.RoundReport) {
			if res == nil {
				return
			}
			rm := roundMetrics(r, cfg.Model.Responses, ySD)
			rm.Epsilon, rm.Delta, _ = spent(strat)
			res.Rounds = append(res.Rounds, rm)
			if opt.Progress != nil {
				opt.Progress(rm)
			}
		},
	}
	keepBest := cfg.Federation.KeepBest && server.Evaluate
	if keepBest || onRound != nil {
		server.Checkpoint = func(_ context.Context, c fed.Checkpoint) error {
			if onRound != nil {
				if err := onRound(c.Round, c.Global); err != nil {
					return err
				}
			}
			if !keepBest || c.Report.EvalClients == 0 {
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
	if cfg.Federation.Rounds == 0 {
		return global, nil
	}
	final, err := server.Run(ctx, global, 1, cfg.Federation.Rounds)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, context.Canceled) {
		return nil, cause
	}
	if errors.Is(err, privacy.ErrBudget) {
		if opt.Log != nil {
			opt.Log.Warn("training stopped: the privacy budget is spent", "err", err)
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

// initialWeights returns the first global model of a federation of the
// given sites: the network's random initialisation, or the linear model
// fitted on the sites' statistics mapped into it (cfg.Init), with what
// the warm start took (nil for a random start).
func (p *Prepared) initialWeights(cfg Config, sites []*site.Site, tag string) ([]float32, *LinearChoice, error) {
	initSeed := seed.For(cfg.Seed, seed.Init)
	if cfg.Init.From == "random" {
		w, err := train.InitialWeights(cfg.Model, initSeed)
		return w, nil, err
	}
	lin, choice, err := p.linearStart(cfg, sites, tag)
	if err != nil {
		return nil, nil, err
	}
	w, carried, err := warmWeights(cfg.Model, initSeed, lin)
	if err != nil {
		return nil, nil, fmt.Errorf("init: %w", err)
	}
	choice.Carried = carried
	return w, &choice, nil
}

// linearStart fits (or recalls: every configuration with the same Init
// trained on the same sites starts from the same linear model) the warm
// start's linear model on the sites' training data.
func (p *Prepared) linearStart(cfg Config, sites []*site.Site, tag string) (*warm.Linear, LinearChoice, error) {
	var names []string
	dims := make([]int, len(cfg.Model.Modalities))
	for i, m := range cfg.Model.Modalities {
		names = append(names, m.Name)
		dims[i] = prodInts(m.Shape)
	}
	key := fmt.Sprint(cfg.Init, names, tag)
	for _, s := range sites {
		key += " " + s.Name
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if c, ok := p.linear[key]; ok {
		return c.lin, c.choice, nil
	}
	clients := make([]*linearClient, len(sites))
	for k, s := range sites {
		x, y, err := site.LinearRows(s.Train, names)
		if err != nil {
			return nil, LinearChoice{}, fmt.Errorf("init: %s: %w", s.Name, err)
		}
		n, _ := x.Dims()
		folds := min(cfg.Init.Folds, n)
		if folds < 2 {
			return nil, LinearChoice{}, fmt.Errorf("init: %s has %d training rows, too few for cross-validation", s.Name, n)
		}
		clients[k] = &linearClient{x: x, y: y, fold: baseline.KFold(n, folds, seed.For(s.Seed, seed.Folds))}
	}
	lin, choice, err := fitLinear(cfg.Init, clients, dims, cfg.Model.Features)
	if err != nil {
		return nil, LinearChoice{}, err
	}
	if p.linear == nil {
		p.linear = map[string]linearCache{}
	}
	p.linear[key] = linearCache{lin, choice}
	return lin, choice, nil
}

type linearCache struct {
	lin    *warm.Linear
	choice LinearChoice
}

func prodInts(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
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
