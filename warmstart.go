package fdrmfl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/nn"
	"github.com/fdrmfl/fdrmfl/warm"
)

// Init says where training starts: the network's random initialisation,
// or a linear model fitted federated from the clients' summed statistics
// (XᵀX, Xᵀy and counts of their standardised training data; no row leaves
// a client) and mapped into the network exactly (package warm), so that
// training starts where the best linear model is.
type Init struct {
	// From is "random" (default), "pls" (PLS with the number of
	// components chosen by federated k-fold CV), "ridge" (α likewise),
	// "enet" (elastic net: α and the L1 ratio likewise) or "linear"
	// (whichever of them has the lowest CV error; ridge only up to 256
	// inputs, where its p×p solves are cheap).
	From string `yaml:"from" json:"from"`
	// Components bounds the PLS components tried (default 30, and at most
	// the rows of the smallest training part less one).
	Components int `yaml:"components" json:"components"`
	// Folds is the number of folds each client cuts its training rows
	// into for the cross-validation (default 5).
	Folds int `yaml:"folds" json:"folds"`
	// Subsets, when true, lets the cross-validation also try PLS on every
	// non-empty subset of the modalities (up to 4 modalities; 15 subsets),
	// as a chemometrician picks the instruments to calibrate on; the
	// modalities left out start with their encoders' random weights and
	// no share in the prediction (default false).
	Subsets bool `yaml:"subsets,omitempty" json:"subsets,omitempty"`
}

// InitFrom lists the values Init.From may take.
var InitFrom = []string{"random", "pls", "ridge", "enet", "linear"}

func (in Init) defaults() Init {
	if in.From == "" {
		in.From = "random"
	}
	if in.Components == 0 {
		in.Components = 30
	}
	if in.Folds == 0 {
		in.Folds = 5
	}
	return in
}

func (in Init) validate() error {
	ok := false
	for _, f := range InitFrom {
		ok = ok || in.From == f
	}
	if !ok {
		return fmt.Errorf("init.from: %q is not one of %q", in.From, InitFrom)
	}
	if in.Components < 1 {
		return fmt.Errorf("init.components: %d must be at least 1", in.Components)
	}
	if in.Folds < 2 {
		return fmt.Errorf("init.folds: %d must be at least 2", in.Folds)
	}
	return nil
}

// LinearChoice says which linear model a warm start took and how well it
// cross-validated (MSE of the standardised responses).
type LinearChoice struct {
	Model      string `json:"model"` // "pls" or "ridge"
	Components int    `json:"components,omitempty"`
	// Modalities the model reads (indices in the network's order; nil:
	// all of them).
	Modalities []int   `json:"modalities,omitempty"`
	Alpha      float64 `json:"alpha,omitempty"`
	L1Ratio    float64 `json:"l1_ratio,omitempty"`
	CVMSE      float64 `json:"cv_mse"`
	Carried    int     `json:"carried"` // directions the network carries (the prediction first)
}

// ridgeAlphas are the penalties the warm start's ridge tries, relative
// to the mean diagonal of the pooled XᵀX (so that the grid suits any
// number of inputs).
var ridgeAlphas = baseline.LogSpace(-4, 2, 13)

// statsInputs is the input size up to which "linear" also tries ridge,
// whose cross-validation solves a p×p system per penalty and fold. The
// elastic net is tried at any size: coordinate descent on the factored
// statistics, its path stopped once the CV error has risen for 5
// penalties, costs about 0.6 s at corn's 2100 inputs and 20 s on a
// simulation's 3604 inputs and 2000 rows (77 s for the whole path).
const statsInputs = 256

// fitLinear fits the linear model a warm start begins from on the
// clients' rows (each client's rows, responses and folds; the fit reads
// them only through sums a client computes on its own rows), dims being
// the modalities' input sizes in the network's order and keepDirs the
// number of feature directions worth mapping (the network's features).
// Fold f of every client is held out together; the model — PLS with its
// number of components (the training mean counting as none), optionally
// on a subset of the modalities, or ridge — is chosen by the pooled CV
// error and refitted on every row. The returned Linear carries the
// prediction and the chosen PLS model's directions as features.
func fitLinear(in Init, clients []*linearClient, dims []int, keepDirs int) (*warm.Linear, LinearChoice, error) {
	in = in.defaults()
	_, p := clients[0].x.Dims()
	folds := 0
	for _, c := range clients {
		for _, f := range c.fold {
			folds = max(folds, f+1)
		}
	}
	if folds < 2 {
		return nil, LinearChoice{}, fmt.Errorf("init: %d fold; cross-validation needs 2", folds)
	}
	type cand struct {
		choice LinearChoice
		fit    plsFit
		keep   []bool
	}
	var best *cand
	subsets := [][]int{nil} // nil: every modality
	if in.Subsets && len(dims) > 1 && len(dims) <= 4 && in.From != "ridge" {
		for mask := 1; mask < 1<<len(dims)-1; mask++ {
			_, mods := subsetColumns(dims, mask)
			subsets = append(subsets, mods)
		}
	}
	var all *pooledLinear
	if in.From == "pls" || in.From == "linear" {
		for _, mods := range subsets {
			var keep []bool
			if mods != nil {
				keep = make([]bool, p)
				cols, _ := subsetColumns(dims, maskOf(mods))
				for _, j := range cols {
					keep[j] = true
				}
			}
			a, e, fit, pl, err := plsCV(clients, folds, in.Components, keep)
			if err != nil {
				return nil, LinearChoice{}, err
			}
			all = pl
			if best == nil || e < best.choice.CVMSE {
				model := "pls"
				if a == 0 {
					model = "mean"
				}
				best = &cand{choice: LinearChoice{Model: model, Components: a, CVMSE: e, Modalities: mods}, fit: fit, keep: keep}
			}
		}
	} else {
		all = newPooled(clients, -1)
	}
	var coef *mat.Dense
	var b0 []float64
	var extra *mat.Dense
	choice := LinearChoice{CVMSE: math.Inf(1)}
	if best != nil {
		choice = best.choice
		coef, b0 = best.fit.coef(all)
		extra = best.fit.rotations(p)
	}
	if in.From == "enet" || in.From == "linear" {
		if c, b, e, alpha, ratio, err := enetCV(clients); err != nil {
			if in.From == "enet" {
				return nil, LinearChoice{}, err
			}
		} else if e < choice.CVMSE {
			choice = LinearChoice{Model: "enet", Alpha: alpha, L1Ratio: ratio, CVMSE: e}
			coef, b0 = c, b
		}
	}
	if in.From == "ridge" || (in.From == "linear" && p <= statsInputs) {
		if c, b, e, alpha, err := ridgeCV(clients, folds); err != nil {
			if in.From == "ridge" {
				return nil, LinearChoice{}, err
			}
		} else if e < choice.CVMSE {
			choice = LinearChoice{Model: "ridge", Alpha: alpha, CVMSE: e}
			coef, b0 = c, b
		}
	}
	if extra != nil {
		if _, k := extra.Dims(); k > keepDirs {
			extra = mat.DenseCopyOf(extra.Slice(0, p, 0, keepDirs))
		}
	}
	lin, err := warm.FromGram(all.n, p, func(v []float64) []float64 { return all.sxx(v, nil) }, dims, coef, b0, extra)
	if err != nil {
		return nil, LinearChoice{}, err
	}
	return lin, choice, nil
}

// enetRatios are the elastic net's L1 ratios (1: the lasso) and
// enetAlphas the length of its α path, as the study's baseline; each
// path stops once its CV error has not improved for enetStopRise
// penalties.
var (
	enetRatios   = []float64{0.9, 1}
	enetAlphas   = 50
	enetStopRise = 5
)

// enetCV chooses the elastic net's α and L1 ratio by the pooled k-fold
// error over the clients' folds from their per-fold statistics, and
// refits on everything.
func enetCV(clients []*linearClient) (*mat.Dense, []float64, float64, float64, float64, error) {
	byFold, err := foldStats(clients)
	if err != nil {
		return nil, nil, 0, 0, 0, err
	}
	e := &baseline.ElasticNet{NAlphas: enetAlphas, L1Ratios: enetRatios, StopRise: enetStopRise}
	if err := e.FitFolds(byFold); err != nil {
		return nil, nil, 0, 0, 0, fmt.Errorf("init: elastic net: %w", err)
	}
	best := math.Inf(1)
	for _, row := range e.CVMSE {
		best = math.Min(best, minOf(row))
	}
	return e.Coef, e.Intercept, best, e.AlphaUsed, e.L1RatioUsed, nil
}

// foldStats returns the clients' statistics grouped by fold.
func foldStats(clients []*linearClient) ([][]*baseline.SuffStats, error) {
	per := make([][]*baseline.SuffStats, len(clients))
	for k, c := range clients {
		var err error
		if per[k], err = baseline.FoldStats(c.x, c.y, c.fold); err != nil {
			return nil, fmt.Errorf("init: %w", err)
		}
	}
	return baseline.ByFold(per), nil
}

// ridgeCV chooses ridge's α by the pooled k-fold error over the clients'
// folds from their per-fold statistics, and refits on everything.
func ridgeCV(clients []*linearClient, folds int) (*mat.Dense, []float64, float64, float64, error) {
	byFold, err := foldStats(clients)
	if err != nil {
		return nil, nil, 0, 0, err
	}
	var stats []*baseline.SuffStats
	for _, f := range byFold {
		stats = append(stats, f...)
	}
	total, err := baseline.MergeStats(stats...)
	if err != nil {
		return nil, nil, 0, 0, fmt.Errorf("init: ridge: %w", err)
	}
	p := len(total.MeanX)
	var scale float64
	for j := range p {
		scale += total.Sxx.At(j, j)
	}
	scale /= float64(p)
	alphas := make([]float64, len(ridgeAlphas))
	for i, a := range ridgeAlphas {
		alphas[i] = a * math.Max(scale, 1e-12)
	}
	ridge := &baseline.Ridge{Alphas: alphas}
	if err := ridge.FitFolds(byFold); err != nil {
		return nil, nil, 0, 0, fmt.Errorf("init: ridge: %w", err)
	}
	return ridge.Coef, ridge.Intercept, minOf(ridge.CVMSE), ridge.AlphaUsed, nil
}

func maskOf(mods []int) int {
	m := 0
	for _, i := range mods {
		m |= 1 << i
	}
	return m
}

// minOf returns the least of v, skipping NaN (the CV errors past the
// point where a path stopped).
func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		if !math.IsNaN(x) {
			m = math.Min(m, x)
		}
	}
	return m
}

// warmWeights returns the values of the network mc initialised from seed
// (as train.InitialWeights) with the linear model lin mapped into it.
func warmWeights(mc model.Config, initSeed uint64, lin *warm.Linear) ([]float32, int, error) {
	net, err := model.New[float32](mc, rand.New(rand.NewPCG(initSeed, 0x5eed)))
	if err != nil {
		return nil, 0, err
	}
	carried, err := warm.Init(net, lin)
	if err != nil {
		return nil, 0, err
	}
	return nn.Bind[float32](net).Values, carried, nil
}

// subsetColumns returns the input columns and indices of the modalities
// in mask (bit m: modality m).
func subsetColumns(dims []int, mask int) (cols, mods []int) {
	off := 0
	for m, d := range dims {
		if mask&(1<<m) != 0 {
			mods = append(mods, m)
			for j := range d {
				cols = append(cols, off+j)
			}
		}
		off += d
	}
	return cols, mods
}
