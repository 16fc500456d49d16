package fdrmfl

import (
	"context"
	"fmt"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"sort"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/data/partition"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/nn"
	"github.com/fdrmfl/fdrmfl/train"
)

// Options are what a simulation needs from its caller besides the Config.
type Options struct {
	// FS is the folder CSV data are read from (the configuration's root).
	FS fs.FS
	// Store keeps the clients' states between rounds (nil: in memory).
	Store StateStore
	// Progress is called after every round.
	Progress func(RoundMetrics)
	// Log receives warnings (nil: discard).
	Log *slog.Logger
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
}

// Metrics are prediction errors per response.
type Metrics struct {
	N   int
	MSE []float64
	R2  []float64
}

func metricsOf(s train.Stats) *Metrics {
	m := &Metrics{N: s.N}
	for j := range s.SSE {
		m.MSE = append(m.MSE, s.MSE(j))
		m.R2 = append(m.R2, s.R2(j))
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
}

// ClientResult is one client's share of the result.
type ClientResult struct {
	Name   string
	Splits []Split // train, val, test
	Test   *Metrics
}

// Split is a client's subset of samples with their features.
type Split struct {
	Name  string    // "train", "val" or "test"
	Index []int     // each sample's row in the full dataset
	Z     []float32 // features, len(Index)×d
	Pred  []float32 // head predictions, len(Index)×q, in the responses' units
	Y     []float32 // observed responses, len(Index)×q
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
	ds, err := LoadData(cfg, opt.FS)
	if err != nil {
		return nil, err
	}
	p, err := Prepare(cfg, ds)
	if err != nil {
		return nil, err
	}
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

// clientData is one client's raw split of the samples.
type clientData struct {
	name             string
	trainIdx, valIdx []int
	testIdx          []int
	train, val, test *data.Dataset
}

// Partition returns the samples of ds that each client of the
// simulation holds, as Simulate partitions them (federation.clients,
// partition, mix, beta, min_size and the seed). A demonstration client
// of a real federation may take its part of a shared dataset this way.
// Call it on a Config after Defaults.
func Partition(cfg Config, ds *data.Dataset) ([][]int, error) {
	f := cfg.Federation
	rng := rand.New(rand.NewPCG(seedFor(cfg.Seed, seedPartition), 0))
	var parts [][]int
	var err error
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
	return parts, nil
}

// splitClients partitions ds among the clients and splits each client's
// samples into train, validation and test sets.
func splitClients(cfg Config, ds *data.Dataset) ([]*clientData, error) {
	f := cfg.Federation
	parts, err := Partition(cfg, ds)
	if err != nil {
		return nil, err
	}
	width := len(fmt.Sprint(f.Clients))
	var out []*clientData
	for k, idx := range parts {
		c, err := splitClient(fmt.Sprintf("client-%0*d", width, k+1), cfg.statsRequest(k), ds, idx)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// splitClient splits a client's samples idx of ds into train, validation
// and test sets, as req says, and marks the modalities it lacks absent.
// The simulation and a real client run this same code, so that a client
// with the same samples and request gets the same sets.
func splitClient(name string, req StatsRequest, ds *data.Dataset, idx []int) (*clientData, error) {
	c := &clientData{name: name}
	srng := rand.New(rand.NewPCG(seedFor(req.Seed, seedSplit, uint64(req.Index)), 0))
	tr, te, err := data.TrainTestSplit(len(idx), req.TestFraction, srng)
	if err != nil {
		return nil, fmt.Errorf("%s: test split of %d samples: %w", c.name, len(idx), err)
	}
	var va []int
	if req.ValFraction > 0 {
		var keep []int
		keep, va, err = data.TrainTestSplit(len(tr), req.ValFraction, srng)
		if err != nil {
			return nil, fmt.Errorf("%s: validation split of %d samples: %w", c.name, len(tr), err)
		}
		va = pick(tr, va)
		tr = pick(tr, keep)
	}
	c.trainIdx, c.valIdx, c.testIdx = pick(idx, tr), pick(idx, va), pick(idx, te)
	for _, s := range [][]int{c.trainIdx, c.valIdx, c.testIdx} {
		sort.Ints(s)
	}
	if len(c.trainIdx) < 2 {
		return nil, fmt.Errorf("%s has %d training samples; at least 2 are needed (fewer clients or a smaller test_fraction)", c.name, len(c.trainIdx))
	}
	c.train, c.val, c.test = ds.Subset(c.trainIdx), ds.Subset(c.valIdx), ds.Subset(c.testIdx)
	for _, m := range req.Lacks {
		for _, d := range []*data.Dataset{c.train, c.val, c.test} {
			if err := d.MarkAbsent(m); err != nil {
				return nil, fmt.Errorf("federation.lacks.%d: %w", req.Index+1, err)
			}
		}
	}
	return c, nil
}

func pick(from, pos []int) []int {
	out := make([]int, len(pos))
	for i, p := range pos {
		out[i] = from[p]
	}
	return out
}

// standardizeClients fits the scaling on the clients' training data —
// pooled through summed statistics, or each client's own for the inputs
// under "local" — and standardises every split in place. It returns the
// pooled standardiser, which the saved model carries.
func standardizeClients(cfg Config, clients []*clientData) (*data.Standardizer, error) {
	modes, err := scaleModes(cfg.Data.Scale)
	if err != nil {
		return nil, err
	}
	parts := make([][]Moments, len(clients))
	for k, c := range clients {
		if parts[k], err = c.moments(modes); err != nil {
			return nil, err
		}
	}
	pooled, err := PooledStandardizer(clients[0].train.ResponseNames, parts)
	if err != nil {
		return nil, err
	}
	for k, c := range clients {
		if err := c.standardize(pooled, parts[k], cfg.Data.Standardize); err != nil {
			return nil, err
		}
	}
	return pooled, nil
}

// moments returns the standardisation statistics of the client's
// training set.
func (c *clientData) moments(modes map[string]data.Mode) ([]Moments, error) {
	for name := range modes {
		if c.train.Modality(name) == nil {
			return nil, fmt.Errorf("data.scale: the data have no modality %q", name)
		}
	}
	return ClientMoments(c.train, modes), nil
}

// standardize scales every split of the client with the pooled
// statistics, or, under "local", its inputs with its own (own) and its
// responses with the pooled ones.
func (c *clientData) standardize(pooled *data.Standardizer, own []Moments, mode string) error {
	s := pooled
	if mode == "local" {
		var err error
		if s, err = PooledStandardizer(c.train.ResponseNames, [][]Moments{own}); err != nil {
			return err
		}
		s.Y = pooled.Y
	}
	for _, d := range []**data.Dataset{&c.train, &c.val, &c.test} {
		if (*d).Len() == 0 {
			continue
		}
		var err error
		if *d, err = s.Apply(*d); err != nil {
			return fmt.Errorf("%s: %w", c.name, err)
		}
	}
	return nil
}

// newStrategy returns the server's policy for cfg over a model of the
// given layout.
func newStrategy(cfg Config, layout []nn.Entry[float32]) *strategy.FedAvg {
	f := cfg.Federation
	s := &strategy.FedAvg{
		Fraction: f.Fraction, Smoothing: f.Smoothing,
		Rand: rand.NewPCG(seedFor(cfg.Seed, seedStrategy), 0),
	}
	if f.Strategy == "fedprox" {
		s.Prox = f.Prox
	}
	if f.Strategy == "fedbn" {
		for _, e := range layout {
			if e.Param.Norm {
				s.Local = append(s.Local, strategy.Range{From: e.Offset, To: e.Offset + e.Param.Len()})
			}
		}
	}
	return s
}

// clientFeatures extracts Z and predictions for each split of a client
// with the final model (its own normalisation layers under FedBN).
func clientFeatures(s *Site, c *clientData, global []float32, std *data.Standardizer) (ClientResult, error) {
	cr := ClientResult{Name: s.Name}
	tr, err := s.Trainers.get(context.Background())
	if err != nil {
		return cr, err
	}
	defer s.Trainers.put(tr)
	st, err := s.Store.Load(s.Name)
	if err != nil {
		return cr, err
	}
	w := s.localWeights(tr, global, st)
	for _, sp := range []struct {
		name string
		idx  []int
		ds   *data.Dataset
	}{{"train", c.trainIdx, s.Train}, {"val", c.valIdx, s.Val}, {"test", c.testIdx, s.Test}} {
		out := Split{Name: sp.name, Index: sp.idx}
		if sp.ds.Len() > 0 {
			z, pred, err := tr.Apply(w, sp.ds)
			if err != nil {
				return cr, fmt.Errorf("%s %s: %w", s.Name, sp.name, err)
			}
			std.InverseY(pred)
			y := append([]float32(nil), sp.ds.Y...)
			std.InverseY(y)
			out.Z, out.Pred, out.Y = z, pred, y
			if sp.name == "test" {
				cr.Test = metricsOf(train.PredictionStats(pred, y, len(sp.ds.ResponseNames)))
			}
		}
		cr.Splits = append(cr.Splits, out)
	}
	return cr, nil
}

func clientTestStats(cr ClientResult) train.Stats {
	for _, sp := range cr.Splits {
		if sp.Name == "test" {
			return train.PredictionStats(sp.Pred, sp.Y, len(sp.Y)/len(sp.Index))
		}
	}
	return train.Stats{}
}
