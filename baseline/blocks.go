package baseline

import (
	"fmt"
	"math"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Block is a named range [From, To) of input columns: one modality (an
// instrument's spectrum) of inputs placed side by side.
type Block struct {
	Name     string
	From, To int
}

// BlockPLS is PLS on the inputs of one block or a set of blocks, the set
// chosen with the number of components by cross-validation over folds of
// statistics: every candidate set is scored with its best component count
// on the same folds, from the statistics restricted to its columns (no
// further communication), and the least CV MSE wins (the first candidate
// on ties). It is what a chemometrician does with several instruments:
// calibrate on the one (or the few) that predict best.
//
// Candidates default to every non-empty set of blocks when there are at
// most four, else each block alone and all of them together. PLS holds
// the settings of every fit (MaxComponents, Standardize).
type BlockPLS struct {
	Blocks     []Block
	Candidates [][]int
	PLS        PLS

	// Set by FitFolds.
	Chosen []int     // the chosen blocks, as indices into Blocks
	Scores []float64 // Scores[c]: the least CV MSE of candidate c
	Model  *PLS      // fitted on the chosen blocks' columns
	cols   []int
	p      int
}

// candidates returns the candidate sets.
func (b *BlockPLS) candidates() [][]int {
	if len(b.Candidates) > 0 {
		return b.Candidates
	}
	k := len(b.Blocks)
	var out [][]int
	if k <= 4 {
		for mask := 1; mask < 1<<k; mask++ {
			var set []int
			for i := range k {
				if mask&(1<<i) != 0 {
					set = append(set, i)
				}
			}
			out = append(out, set)
		}
		return out
	}
	all := make([]int, k)
	for i := range k {
		out = append(out, []int{i})
		all[i] = i
	}
	return append(out, all)
}

// FitFolds chooses the blocks and the number of components by
// cross-validation over folds of statistics of all the blocks' columns
// side by side, then fits on every fold.
func (b *BlockPLS) FitFolds(folds [][]*SuffStats) error {
	const fn = "BlockPLS.FitFolds"
	if err := b.PLS.checkConfig(fn); err != nil {
		return err
	}
	src, err := newFoldSource(fn, folds)
	if err != nil {
		return err
	}
	p, _ := src.total.Stats.Sxy.Dims()
	if len(b.Blocks) == 0 {
		return errorf(fn, "no blocks")
	}
	for _, bl := range b.Blocks {
		if bl.From < 0 || bl.To > p || bl.From >= bl.To {
			return errorf(fn, "block %q covers columns [%d, %d) of %d", bl.Name, bl.From, bl.To, p)
		}
	}
	cands := b.candidates()
	b.Scores = make([]float64, len(cands))
	best, bestModel := -1, (*PLS)(nil)
	var bestCols []int
	for c, set := range cands {
		var cols []int
		for _, i := range set {
			if i < 0 || i >= len(b.Blocks) {
				return errorf(fn, "candidate %d names block %d of %d", c, i, len(b.Blocks))
			}
			for j := b.Blocks[i].From; j < b.Blocks[i].To; j++ {
				cols = append(cols, j)
			}
		}
		m := b.PLS
		if err := m.fitSource(fn, src, cols); err != nil {
			return errorf(fn, "blocks %s: %w", b.names(set), err)
		}
		b.Scores[c] = m.CVMSE[argmin(m.CVMSE)]
		if best < 0 || b.Scores[c] < b.Scores[best] || math.IsNaN(b.Scores[best]) {
			best, bestModel, bestCols = c, &m, cols
		}
	}
	b.Chosen, b.Model, b.cols, b.p = cands[best], bestModel, bestCols, p
	return nil
}

func (b *BlockPLS) names(set []int) string {
	var s []string
	for _, i := range set {
		s = append(s, b.Blocks[i].Name)
	}
	return strings.Join(s, "+")
}

// ChosenNames returns the chosen blocks' names joined by "+".
func (b *BlockPLS) ChosenNames() string { return b.names(b.Chosen) }

// Select returns the chosen columns of x (all the blocks side by side).
func (b *BlockPLS) Select(x *mat.Dense) (*mat.Dense, error) {
	if err := checkCols("BlockPLS", x, b.p); err != nil {
		return nil, err
	}
	n, _ := x.Dims()
	out := mat.NewDense(n, len(b.cols), nil)
	for i := range n {
		src, dst := x.RawRowView(i), out.RawRowView(i)
		for a, j := range b.cols {
			dst[a] = src[j]
		}
	}
	return out, nil
}

// Predict predicts from x holding every block's columns side by side.
func (b *BlockPLS) Predict(x *mat.Dense) ([]float64, error) {
	xs, err := b.Select(x)
	if err != nil {
		return nil, err
	}
	return b.Model.Predict(xs)
}

// Correction is a client's slope/bias correction of a global model's
// predictions, ŷ_c = Bias + Slope·ŷ: the field's standard fix when one
// instrument or site reads differently from the calibration (calibration
// transfer). Kind says which form was chosen: "none" (Slope 1, Bias 0),
// "bias" (Slope 1) or "slope-bias".
type Correction struct {
	Kind        string
	Slope, Bias float64
	// LOOMSE holds each form's leave-one-out MSE on the client's points,
	// in the order none, bias, slope-bias.
	LOOMSE [3]float64
}

// Correct fits a client's correction from its own training responses y
// and the global model's out-of-fold predictions yhat of them (predictions
// of rows the model did not see: in-sample predictions would hide the
// bias). The form — none, bias, or slope and bias by least squares — is
// chosen by its exact leave-one-out error on these points, so a client
// with few or uninformative points keeps the global model. Slope and bias
// need at least 3 points, bias at least 2.
func Correct(y, yhat []float64) (Correction, error) {
	n := len(y)
	if n != len(yhat) {
		return Correction{}, errorf("Correct", "y has %d entries, ŷ has %d", n, len(yhat))
	}
	c := Correction{Kind: "none", Slope: 1}
	var e0 float64
	for i := range y {
		d := y[i] - yhat[i]
		e0 += d * d
	}
	c.LOOMSE = [3]float64{math.Inf(1), math.Inf(1), math.Inf(1)}
	if n == 0 {
		return c, nil
	}
	c.LOOMSE[0] = e0 / float64(n)
	// Bias: the mean residual; leaving row i out, the residual of row i is
	// (d_i − d̄)·n/(n − 1).
	var dbar float64
	for i := range y {
		dbar += y[i] - yhat[i]
	}
	dbar /= float64(n)
	if n >= 2 {
		var e1 float64
		for i := range y {
			r := (y[i] - yhat[i] - dbar) * float64(n) / float64(n-1)
			e1 += r * r
		}
		c.LOOMSE[1] = e1 / float64(n)
	}
	// Slope and bias: least squares of y on ŷ; LOO residuals e_i/(1 − h_ii).
	var slope, bias float64
	if n >= 3 {
		var mx, my float64
		for i := range y {
			mx += yhat[i]
			my += y[i]
		}
		mx /= float64(n)
		my /= float64(n)
		var sxx, sxy float64
		for i := range y {
			sxx += (yhat[i] - mx) * (yhat[i] - mx)
			sxy += (yhat[i] - mx) * (y[i] - my)
		}
		if sxx > 0 {
			slope = sxy / sxx
			bias = my - slope*mx
			var e2 float64
			for i := range y {
				h := 1/float64(n) + (yhat[i]-mx)*(yhat[i]-mx)/sxx
				r := (y[i] - bias - slope*yhat[i]) / (1 - h)
				e2 += r * r
			}
			c.LOOMSE[2] = e2 / float64(n)
		}
	}
	switch argmin(c.LOOMSE[:]) {
	case 1:
		c.Kind, c.Bias = "bias", dbar
	case 2:
		c.Kind, c.Slope, c.Bias = "slope-bias", slope, bias
	}
	return c, nil
}

// Apply returns Bias + Slope·ŷ for each prediction.
func (c Correction) Apply(yhat []float64) []float64 {
	out := make([]float64, len(yhat))
	for i, v := range yhat {
		out[i] = c.Bias + c.Slope*v
	}
	return out
}

// String describes the correction.
func (c Correction) String() string {
	return fmt.Sprintf("%s (slope %.4g, bias %.4g)", c.Kind, c.Slope, c.Bias)
}

// OutOfFold returns a client's out-of-fold predictions from the fold
// models of a PLS fitted by FitFolds: row i, in the client's fold
// folds[i], is predicted by the model fitted without that fold.
func (m *PLS) OutOfFold(x *mat.Dense, folds []int) ([]float64, error) {
	const fn = "PLS.OutOfFold"
	if len(m.FoldCoef) == 0 {
		return nil, errorf(fn, "no fold models (fit with FitFolds)")
	}
	n, _ := x.Dims()
	if len(folds) != n {
		return nil, errorf(fn, "folds has %d entries, x has %d rows", len(folds), n)
	}
	out := make([]float64, n)
	for i := range n {
		f := folds[i]
		if f < 0 || f >= len(m.FoldCoef) {
			return nil, errorf(fn, "row %d is in fold %d of %d", i, f, len(m.FoldCoef))
		}
		if err := checkCols(fn, x, len(m.XMean)); err != nil {
			return nil, err
		}
		out[i] = m.FoldIntercept[f][0] + mat.Dot(x.RowView(i), m.FoldCoef[f].ColView(0))
	}
	return out, nil
}
