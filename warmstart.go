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
	// components chosen by federated k-fold CV), "ridge" (α by federated
	// k-fold CV) or "linear" (whichever of the two has the lower CV error).
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
var InitFrom = []string{"random", "pls", "ridge", "linear"}

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
	CVMSE      float64 `json:"cv_mse"`
	Carried    int     `json:"carried"` // directions the network carries (the prediction first)
}

// ridgeAlphas are the penalties the warm start's ridge tries, relative
// to the mean diagonal of the pooled XᵀX (so that the grid suits any
// number of inputs).
var ridgeAlphas = baseline.LogSpace(-4, 2, 13)

// largeInputs is the input size above which "linear" leaves ridge out:
// each candidate costs a p×p factorisation per fold.
const largeInputs = 2048

// LinearStart fits the linear model a warm start begins from: clients[k]
// holds client k's fold statistics (site.LinearStats), dims the
// modalities' input sizes in the network's order. Folds are merged
// across clients (fold f of every client is held out together), the
// model and its size are chosen by the pooled CV error, and the winner is
// refitted on everything. The returned Linear carries the prediction and
// the leading PLS directions as features.
func LinearStart(in Init, clients [][]*baseline.SuffStats, dims []int) (*warm.Linear, LinearChoice, error) {
	in = in.defaults()
	folds := baseline.ByFold(clients)
	var nonEmpty [][]*baseline.SuffStats
	for _, f := range folds {
		if len(f) > 0 {
			nonEmpty = append(nonEmpty, f)
		}
	}
	if len(nonEmpty) < 2 {
		return nil, LinearChoice{}, fmt.Errorf("init: %d folds with rows; cross-validation needs 2", len(nonEmpty))
	}
	var all []*baseline.SuffStats
	for _, f := range nonEmpty {
		all = append(all, f...)
	}
	total, err := baseline.MergeStats(all...)
	if err != nil {
		return nil, LinearChoice{}, fmt.Errorf("init: %w", err)
	}
	p := len(total.MeanX)
	pls := &baseline.PLS{MaxComponents: in.Components}
	plsErr := pls.FitFolds(nonEmpty)
	choice := LinearChoice{Model: "pls", CVMSE: math.Inf(1)}
	var coef *mat.Dense
	var b0 []float64
	if plsErr == nil && in.From != "ridge" {
		_, choice.Components = pls.Rotations.Dims()
		choice.CVMSE = minOf(pls.CVMSE)
		coef, b0 = pls.Coef, pls.Intercept
	}
	if in.From == "ridge" || (in.From == "linear" && p <= largeInputs) {
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
		if err := ridge.FitFolds(nonEmpty); err != nil {
			if in.From == "ridge" {
				return nil, LinearChoice{}, fmt.Errorf("init: ridge: %w", err)
			}
		} else if e := minOf(ridge.CVMSE); e < choice.CVMSE {
			choice = LinearChoice{Model: "ridge", Alpha: ridge.AlphaUsed, CVMSE: e}
			coef, b0 = ridge.Coef, ridge.Intercept
		}
	}
	if coef == nil {
		return nil, LinearChoice{}, fmt.Errorf("init: pls: %w", plsErr)
	}
	// The model without inputs, the training mean, is a candidate too:
	// where no linear model predicts better than it out of fold (a
	// response the inputs do not explain linearly), training starts from
	// it and model selection can keep it.
	if e, b := meanModel(nonEmpty, total); e < choice.CVMSE {
		choice = LinearChoice{Model: "mean", CVMSE: e}
		coef, b0 = mat.NewDense(p, len(total.MeanY), nil), b
	}
	var extra *mat.Dense
	if plsErr == nil {
		extra = pls.Rotations
	}
	if in.Subsets && len(dims) > 1 && len(dims) <= 4 && in.From != "ridge" {
		// PLS on each proper subset of the modalities, from the sliced
		// statistics; a winner's coefficients are zero elsewhere.
		for mask := 1; mask < 1<<len(dims)-1; mask++ {
			cols, mods := subsetColumns(dims, mask)
			sub := make([][]*baseline.SuffStats, len(nonEmpty))
			for f, fold := range nonEmpty {
				for _, st := range fold {
					sub[f] = append(sub[f], subStats(st, cols))
				}
			}
			sp := &baseline.PLS{MaxComponents: in.Components}
			if err := sp.FitFolds(sub); err != nil {
				continue
			}
			if e := minOf(sp.CVMSE); e < choice.CVMSE {
				_, a := sp.Rotations.Dims()
				choice = LinearChoice{Model: "pls", Components: a, CVMSE: e, Modalities: mods}
				coef, b0, extra = embedRows(sp.Coef, cols, p), sp.Intercept, embedRows(sp.Rotations, cols, p)
			}
		}
	}
	lin, err := warm.FromStats(total, dims, coef, b0, extra)
	if err != nil {
		return nil, LinearChoice{}, err
	}
	return lin, choice, nil
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

// subStats returns the statistics of the columns cols of s.
func subStats(s *baseline.SuffStats, cols []int) *baseline.SuffStats {
	k := len(cols)
	out := &baseline.SuffStats{N: s.N, MeanY: append([]float64(nil), s.MeanY...), Syy: mat.NewSymDense(len(s.MeanY), nil),
		MeanX: make([]float64, k), Sxx: mat.NewSymDense(k, nil)}
	out.Syy.CopySym(s.Syy)
	_, q := s.Sxy.Dims()
	out.Sxy = mat.NewDense(k, q, nil)
	for a, i := range cols {
		out.MeanX[a] = s.MeanX[i]
		for b := a; b < k; b++ {
			out.Sxx.SetSym(a, b, s.Sxx.At(i, cols[b]))
		}
		for j := range q {
			out.Sxy.Set(a, j, s.Sxy.At(i, j))
		}
	}
	return out
}

// embedRows returns the p-row matrix with m's rows at cols and zeros
// elsewhere.
func embedRows(m *mat.Dense, cols []int, p int) *mat.Dense {
	_, c := m.Dims()
	out := mat.NewDense(p, c, nil)
	for a, i := range cols {
		out.SetRow(i, m.RawRowView(a))
	}
	return out
}

// meanModel returns the pooled CV MSE (per response) of predicting each
// training part's mean, from the fold statistics alone (fold f's squared
// error about a constant c is tr Syy_f + N_f·‖ȳ_f − c‖²), and the mean of
// everything, its refit.
func meanModel(folds [][]*baseline.SuffStats, total *baseline.SuffStats) (float64, []float64) {
	q := len(total.MeanY)
	var sse float64
	for f, fold := range folds {
		mean, n := make([]float64, q), 0.0
		for g, other := range folds {
			if g == f {
				continue
			}
			for _, s := range other {
				n += float64(s.N)
				for k := range q {
					mean[k] += float64(s.N) * s.MeanY[k]
				}
			}
		}
		if n == 0 {
			return math.Inf(1), nil
		}
		for _, s := range fold {
			for k := range q {
				d := s.MeanY[k] - mean[k]/n
				sse += s.Syy.At(k, k) + float64(s.N)*d*d
			}
		}
	}
	return sse / float64(total.N*q), append([]float64(nil), total.MeanY...)
}

func minOf(v []float64) float64 {
	m := math.Inf(1)
	for _, x := range v {
		m = math.Min(m, x)
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
