package fdrmfl

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/data/partition"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/nn"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// Options are what a simulation needs from its caller besides the Config.
type Options struct {
	// FS is the folder CSV data are read from (the configuration's root).
	FS fs.FS
	// Store keeps the clients' states between rounds (nil: in memory).
	Store site.StateStore
	// Progress is called after every round.
	Progress func(RoundMetrics)
	// ClientsDone, if set, is called within a round each time a client
	// finishes its task: the round, "fit" or "evaluate", and how many of
	// the round's clients have finished. Calls never overlap.
	ClientsDone func(round int, phase string, done, total int)
	// Log receives warnings (nil: discard).
	Log *slog.Logger
	// Wrap, if set, wraps each client of a federation as the server sees
	// it: fault injection (a client that drops out) in tests and
	// demonstrations.
	Wrap func(name string, c fed.Client) fed.Client
	// Adversary, if set, makes some clients hostile (robustness studies).
	Adversary Adversary
}

// RoundMetrics summarise a round.
type RoundMetrics struct {
	Round    int
	Clients  int                // updates merged
	Rejected map[string]string  // client → reason
	Train    map[string]float64 // loss terms of the last local epoch, weighted by samples
	// Val holds the global model's validation error after the round, over
	// all clients' validation samples, in the responses' units.
	Val *Metrics
	// Epsilon and Delta are the differential privacy spent up to and
	// including this round (0 without privacy.dp).
	Epsilon float64 `json:"epsilon,omitempty"`
	Delta   float64 `json:"delta,omitempty"`
}

// Metrics are prediction errors per response.
type Metrics struct {
	N   int
	MSE []float64
	R2  []float64
	// Count holds, per response, the samples that have it, when some lack
	// one (a missing response is left out of that response's MSE and R²).
	Count []int `json:",omitempty"`
}

// metricsJSON is Metrics in JSON, where an undefined metric (no sample
// has the response) is null rather than NaN, which JSON cannot hold.
type metricsJSON struct {
	N     int
	MSE   []*float64
	R2    []*float64
	Count []int `json:",omitempty"`
}

// MarshalJSON writes an undefined metric (NaN) as null.
func (m Metrics) MarshalJSON() ([]byte, error) {
	ptrs := func(v []float64) []*float64 {
		if v == nil {
			return nil
		}
		out := make([]*float64, len(v))
		for i := range v {
			if !math.IsNaN(v[i]) {
				out[i] = &v[i]
			}
		}
		return out
	}
	return json.Marshal(metricsJSON{N: m.N, MSE: ptrs(m.MSE), R2: ptrs(m.R2), Count: m.Count})
}

// UnmarshalJSON reads what MarshalJSON writes (null: NaN).
func (m *Metrics) UnmarshalJSON(b []byte) error {
	var j metricsJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	vals := func(p []*float64) []float64 {
		if p == nil {
			return nil
		}
		out := make([]float64, len(p))
		for i, v := range p {
			out[i] = math.NaN()
			if v != nil {
				out[i] = *v
			}
		}
		return out
	}
	*m = Metrics{N: j.N, MSE: vals(j.MSE), R2: vals(j.R2), Count: j.Count}
	return nil
}

func metricsOf(s train.Stats) *Metrics {
	m := &Metrics{N: s.N}
	for j := range s.SSE {
		m.MSE = append(m.MSE, s.MSE(j))
		m.R2 = append(m.R2, s.R2(j))
		if s.Count != nil {
			m.Count = append(m.Count, s.Observed(j))
		}
	}
	return m
}

// Result is the outcome of a simulated federation.
type Result struct {
	Config   Config // as run, with defaults
	Manifest *Manifest
	Weights  []float32 // the final global model
	Rounds   []RoundMetrics
	Clients  []ClientResult
	// Test is the network head's error over every client's test samples.
	Test *Metrics
	// Excluded maps a client left out in the statistics phase to the
	// reason; it took no part, and Clients and Test leave it out.
	Excluded map[string]string
	// Preprocess is the spectral preprocessing the run fitted (and chose,
	// under "auto") on the training data.
	Preprocess []Preprocessing
	// Init is the linear model training started from (nil: random).
	Init *LinearChoice
	// Selection is the model selection's record (nil: none ran).
	Selection *Selection
}

// ClientResult is one client's share of the result.
type ClientResult struct {
	Name   string
	Splits []Split // train, val, test
	Test   *Metrics
	// Personal is the client's personal head, nil when it deploys the
	// global model (federation.personalize).
	Personal *Calibration
}

// Split is a client's subset of samples with their features.
type Split struct {
	Name  string    // "train", "val" or "test"
	Index []int     // each sample's row in the full dataset
	IDs   []string  // each sample's ID (nil when the data have none)
	Z     []float32 // features, len(Index)×d
	Pred  []float32 // head predictions, len(Index)×q, in the responses' units
	Y     []float32 // observed responses, len(Index)×q
	// Personal holds the personal head's predictions (nil when the client
	// deploys the global model).
	Personal []float32
}

// Deployed returns the predictions the client deploys: its personal
// head's if it has one, else the global model's.
func (s Split) Deployed() []float32 {
	if s.Personal != nil {
		return s.Personal
	}
	return s.Pred
}

// Simulate runs the federation cfg describes with every client in this
// process, and returns the trained model, per-round metrics and the
// features of every client's samples. The same Config gives the same
// result, bit for bit, whatever the number of workers.
func Simulate(ctx context.Context, cfg Config, opt Options) (*Result, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	ds, rep, err := ReadData(cfg, opt.FS)
	if err != nil {
		return nil, err
	}
	rep.Log(opt.Log)
	p, err := prepare(cfg, ds, opt.Adversary)
	if err != nil {
		return nil, err
	}
	p.Log(opt.Log)
	return p.Train(ctx, cfg, Federated, opt)
}

// unscale converts metrics of standardised responses to original units.
func unscale(m *Metrics, sd []float64) *Metrics {
	for j := range m.MSE {
		s := sd[j%len(sd)]
		m.MSE[j] *= s * s
	}
	return m
}

// Partition returns the samples of ds that each client of the
// simulation holds, as Simulate partitions them (federation.clients,
// partition, mix, beta, min_size and the seed). A demonstration client
// of a real federation may take its part of a shared dataset this way.
// Samples without any response are in no part. Call it on a Config after
// Defaults.
func (c Config) Partition(ds *data.Dataset) ([][]int, error) {
	f := c.Federation
	rng := rand.New(rand.NewPCG(seed.For(c.Seed, seed.Partition), 0))
	var parts [][]int
	var err error
	// Samples without any response take no part: partition the others.
	var labelled []int
	if ds.NumResponses() > 0 {
		if labelled = ds.Labelled(); len(labelled) < ds.Len() {
			if len(labelled) == 0 {
				return nil, fmt.Errorf("data: none of the %d samples has a response", ds.Len())
			}
			ds = ds.Subset(labelled)
		} else {
			labelled = nil
		}
	}
	switch f.Partition {
	case "iid":
		parts, err = partition.IID(ds.Len(), f.Clients, rng)
	case "response":
		parts, err = partition.ByResponse(ds, "", f.Clients, f.Mix, rng)
		if err != nil && len(ds.ResponseNames) > 1 {
			parts, err = partition.ByResponse(ds, ds.ResponseNames[0], f.Clients, f.Mix, rng)
		}
	case "dirichlet":
		parts, err = partition.Dirichlet(ds.Len(), f.Clients, f.Beta, f.MinSize, rng)
	default:
		err = fmt.Errorf("unknown partition %q", f.Partition)
	}
	if err != nil {
		return nil, fmt.Errorf("federation.partition: %w", err)
	}
	if labelled != nil { // back to rows of the full dataset
		for _, p := range parts {
			for i, r := range p {
				p[i] = labelled[r]
			}
		}
	}
	return parts, nil
}

// SplitSpec returns how the client numbered index (from 0) is to split
// its samples. Call it on a Config after Defaults.
func (c Config) SplitSpec(index int) site.SplitSpec {
	return site.SplitSpec{
		Seed: c.Seed, Index: index, TestFraction: c.Data.TestFraction, ValFraction: c.Data.ValFraction,
		Lacks: c.Federation.Lacks[index+1], Sets: c.Data.Sets,
	}
}

// clientName returns the name the simulation gives the client numbered
// index (from 0) of n: client-1, client-2, … (zero-padded to n's width).
func clientName(index, n int) string {
	return fmt.Sprintf("client-%0*d", len(fmt.Sprint(n)), index+1)
}

// splitClients partitions ds among the clients and splits each client's
// samples into train, validation and test sets.
func splitClients(cfg Config, ds *data.Dataset) ([]*site.Sets, error) {
	parts, err := cfg.Partition(ds)
	if err != nil {
		return nil, err
	}
	var out []*site.Sets
	for k, idx := range parts {
		c, err := site.Split(clientName(k, cfg.Federation.Clients), cfg.SplitSpec(k), ds, idx)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// standardizeClients fits the scaling on the clients' training data —
// pooled through summed statistics, or each client's own for the inputs
// under "local" — and standardises every split in place. The statistics
// every client reports (through adv, if set) are screened first
// (site.Screen; not under secure aggregation, where the server sees only
// their sum): the clients left out are returned with the reason, and
// neither pooled nor standardised. It returns the pooled standardiser,
// which the saved model carries, and the clients kept.
func standardizeClients(cfg Config, clients []*site.Sets, adv Adversary) (*data.Standardizer, []*site.Sets, map[string]string, error) {
	modes, err := site.ScaleModes(cfg.Data.Scale)
	if err != nil {
		return nil, nil, nil, err
	}
	own := make([][]site.Moments, len(clients))
	reported := make([][]site.Moments, len(clients))
	declared := make([]int, len(clients))
	for k, c := range clients {
		if own[k], err = c.Moments(modes); err != nil {
			return nil, nil, nil, err
		}
		reported[k], declared[k] = own[k], c.Train.Len()
		if adv != nil {
			reported[k], declared[k] = adv.Statistics(c.Name, own[k], declared[k])
		}
	}
	// The server can screen only statistics it sees: under secure
	// aggregation it sees their sum alone, so no client is screened out.
	out := map[int]string{}
	if !cfg.Privacy.Secure.Enabled {
		out = site.Screen(reported, declared, cfg.Federation.StatsLimit)
	}
	excluded := map[string]string{}
	var kept []*site.Sets
	var parts [][]site.Moments
	for k, c := range clients {
		if why, gone := out[k]; gone {
			excluded[c.Name] = why
			continue
		}
		kept = append(kept, c)
		parts = append(parts, reported[k])
	}
	if len(kept) == 0 {
		return nil, nil, excluded, fmt.Errorf("standardize: every client's statistics were left out: %v", excluded)
	}
	summed, err := cfg.pooledMoments(clients[0].Train.ResponseNames, parts)
	if err != nil {
		return nil, nil, nil, err
	}
	sums := parts
	if summed != nil { // under secure aggregation: only the sums
		sums = [][]site.Moments{summed}
	}
	pooled, err := site.Pooled(clients[0].Train.ResponseNames, sums)
	if err != nil {
		return nil, nil, nil, err
	}
	for k, c := range clients {
		if _, gone := out[k]; gone {
			continue
		}
		if err := c.Standardize(pooled, own[k], cfg.Data.Standardize); err != nil {
			return nil, nil, nil, err
		}
	}
	return pooled, kept, excluded, nil
}

// strategy returns the server's policy for cfg over the pool's network,
// without the privacy settings: FedAvg, FedProx or FedBN merging with the
// configured aggregator, or a drift control or server optimiser around
// FedAvg (see rule).
func (c Config) strategy(pool *site.TrainerPool) fed.Strategy {
	return c.rule(c.fedAvg(pool), pool)
}

// fedAvg returns the FedAvg, FedProx or FedBN that cfg's strategy is
// built on, before the aggregator and the privacy settings.
func (c Config) fedAvg(pool *site.TrainerPool) *strategy.FedAvg {
	f := c.Federation
	avg := &strategy.FedAvg{
		Fraction: f.Fraction, Smoothing: f.Smoothing,
		Rand: rand.NewPCG(seed.For(c.Seed, seed.Strategy), 0),
	}
	switch f.Strategy {
	case "fedprox":
		avg.Prox = f.Prox
	case "fedbn":
		for _, e := range pool.Layout() {
			if e.Param.Norm {
				avg.Local = append(avg.Local, strategy.Range{From: e.Offset, To: e.Offset + e.Param.Len()})
			}
		}
	}
	return avg
}

// rule returns the configured strategy built on FedAvg's settings base:
// for fedavg, fedprox and fedbn, base merging with the configured
// aggregator (Federation.aggregate); else the drift control or server
// optimiser that wraps it (which Validate allows with the mean only).
func (c Config) rule(base *strategy.FedAvg, pool *site.TrainerPool) fed.Strategy {
	f := c.Federation
	weights := 0 // the trained values, at the front of the vector
	for _, e := range pool.Layout() {
		if e.Param.Kind == nn.Weight {
			weights += e.Param.Len()
		}
	}
	switch f.Strategy {
	case strategy.MethodScaffold:
		return &strategy.Scaffold{FedAvg: *base, LR: f.ServerLR, Weights: weights}
	case strategy.MethodFedDyn:
		return &strategy.FedDyn{FedAvg: *base, Alpha: f.DynAlpha, Weights: weights}
	case strategy.OptAvgM, strategy.OptAdagrad, strategy.OptAdam, strategy.OptYogi:
		return &strategy.ServerOpt{FedAvg: *base, Method: f.Strategy, LR: f.ServerLR, Beta1: f.ServerMomentum,
			Beta2: f.ServerBeta2, Tau: f.ServerTau, Weights: weights}
	}
	return f.aggregate(base)
}

// ClientFeatures applies a final global model to each set of a client
// — features, predictions, test error — as Simulate reports them; a
// client of a real federation calls it with the final model.
func ClientFeatures(s *site.Site, sets *site.Sets, global []float32, std *data.Standardizer) (ClientResult, error) {
	cr := ClientResult{Name: s.Name}
	outs, test, err := s.Features(sets, global, std)
	if err != nil {
		return cr, err
	}
	for _, o := range outs {
		cr.Splits = append(cr.Splits, Split{Name: o.Name, Index: o.Index, IDs: o.IDs, Z: o.Z, Pred: o.Pred, Y: o.Y})
	}
	if test.N > 0 {
		cr.Test = metricsOf(test)
	}
	return cr, nil
}

// clientTestStats returns the prediction statistics of a client's test set.
func clientTestStats(cr ClientResult) train.Stats {
	for _, sp := range cr.Splits {
		if sp.Name == "test" {
			return train.PredictionStats(sp.Pred, sp.Y, len(sp.Y)/len(sp.Index))
		}
	}
	return train.Stats{}
}
