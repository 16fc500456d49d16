package baseline

import (
	"math"
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestPLSCVMatchesSklearn checks the federated k-fold CV MSE of 1..30
// components (statistics of the reference folds) against sklearn's
// PLSRegression fitted and scored fold by fold.
func TestPLSCVMatchesSklearn(t *testing.T) {
	ref := loadLinearRef(t)
	var worst float64
	for _, name := range slices.Sorted(mapsKeys(ref.Cases)) {
		c := ref.Cases[name]
		x := dense(c.XTrain)
		m := PLS{MaxComponents: 30}
		if err := m.FitFolds(refFolds(t, x, c.YTrain, c.Folds)); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := vecDiff(m.CVMSE, c.PLSCVMSE)
		worst = max(worst, d)
		if d > 1e-8 {
			t.Errorf("%s: CV MSE of %d components differs by %.2g from sklearn's %d", name, len(m.CVMSE), d, len(c.PLSCVMSE))
		}
	}
	t.Logf("PLS CV MSE (up to 30 components) within %.2g of sklearn (relative)", worst)
}

// twoInstruments returns rows of two blocks: the first carries the
// response, the second is noise.
func twoInstruments(n int) (*mat.Dense, []float64) {
	x, y := spectra(n, 60, 11)
	noise, _ := spectra(n, 40, 12)
	return concat(x, noise), y
}

func concat(a, b *mat.Dense) *mat.Dense {
	n, p := a.Dims()
	_, q := b.Dims()
	out := mat.NewDense(n, p+q, nil)
	for i := range n {
		copy(out.RawRowView(i), a.RawRowView(i))
		copy(out.RawRowView(i)[p:], b.RawRowView(i))
	}
	return out
}

func TestBlockPLSChoosesTheInformativeBlock(t *testing.T) {
	x, y := twoInstruments(60)
	fs, err := FoldStats(x, mat.NewDense(60, 1, y), KFold(60, 5, 3))
	if err != nil {
		t.Fatal(err)
	}
	b := BlockPLS{Blocks: []Block{{"good", 0, 60}, {"noise", 60, 100}}, PLS: PLS{MaxComponents: 10}}
	if err := b.FitFolds(ByFold([][]*SuffStats{fs})); err != nil {
		t.Fatal(err)
	}
	if len(b.Scores) != 3 {
		t.Fatalf("%d candidates scored, want 3 (good, noise, both)", len(b.Scores))
	}
	if b.ChosenNames() == "noise" {
		t.Fatalf("chose %s; scores %v", b.ChosenNames(), b.Scores)
	}
	if b.Scores[1] < b.Scores[0] {
		t.Errorf("the noise block scored %g, better than the informative one's %g", b.Scores[1], b.Scores[0])
	}
	// The chosen candidate's score is that of PLS on its columns alone.
	xs, err := b.Select(x)
	if err != nil {
		t.Fatal(err)
	}
	_, k := xs.Dims()
	fs2, err := FoldStats(xs, mat.NewDense(60, 1, y), KFold(60, 5, 3))
	if err != nil {
		t.Fatal(err)
	}
	alone := PLS{MaxComponents: 10}
	if err := alone.FitFolds(ByFold([][]*SuffStats{fs2})); err != nil {
		t.Fatal(err)
	}
	best := b.Scores[0]
	for _, s := range b.Scores {
		best = min(best, s)
	}
	if d := math.Abs(best-alone.CVMSE[argmin(alone.CVMSE)]) / best; d > 1e-10 {
		t.Errorf("best score %g, PLS on the %d chosen columns alone %g", best, k, alone.CVMSE[argmin(alone.CVMSE)])
	}
	pred, err := b.Predict(x)
	if err != nil {
		t.Fatal(err)
	}
	direct, _ := alone.Predict(xs)
	if d := vecDiff(pred, direct); d > 1e-10 {
		t.Errorf("predictions differ from PLS on the chosen columns by %g", d)
	}
	if err := (&BlockPLS{Blocks: []Block{{"x", 0, 200}}}).FitFolds(ByFold([][]*SuffStats{fs})); err == nil {
		t.Error("a block past the columns: no error")
	}
}

func TestCorrect(t *testing.T) {
	yhat := []float64{1, 2, 3, 4, 5, 6, 7, 8}
	tests := []struct {
		name string
		y    []float64
		kind string
	}{
		{"exact", []float64{1, 2, 3, 4, 5, 6, 7, 8}, "none"},
		{"offset", []float64{3.01, 3.98, 5.02, 5.99, 7.01, 7.98, 9.02, 9.99}, "bias"},
		{"slope", []float64{0.5, 2.01, 3.49, 5.02, 6.5, 7.99, 9.51, 11.0}, "slope-bias"},
	}
	for _, tc := range tests {
		c, err := Correct(tc.y, yhat)
		if err != nil {
			t.Fatal(err)
		}
		if c.Kind != tc.kind {
			t.Errorf("%s: chose %s, want %s (LOO %v)", tc.name, c, tc.kind, c.LOOMSE)
		}
		got := c.Apply(yhat)
		var sse0, sse float64
		for i := range yhat {
			sse0 += (tc.y[i] - yhat[i]) * (tc.y[i] - yhat[i])
			sse += (tc.y[i] - got[i]) * (tc.y[i] - got[i])
		}
		if sse > sse0+1e-12 {
			t.Errorf("%s: the correction raised the training error from %g to %g", tc.name, sse0, sse)
		}
	}
	if c, _ := Correct([]float64{1}, []float64{3}); c.Kind != "none" {
		t.Errorf("one point: %s, want none", c)
	}
	if _, err := Correct([]float64{1, 2}, []float64{1}); err == nil {
		t.Error("mismatched lengths: no error")
	}
}

func TestOutOfFold(t *testing.T) {
	x, y := spectra(40, 30, 4)
	folds := KFold(40, 4, 2)
	fs, err := FoldStats(x, mat.NewDense(40, 1, y), folds)
	if err != nil {
		t.Fatal(err)
	}
	m := PLS{MaxComponents: 8}
	if err := m.FitFolds(ByFold([][]*SuffStats{fs})); err != nil {
		t.Fatal(err)
	}
	oof, err := m.OutOfFold(x, folds)
	if err != nil {
		t.Fatal(err)
	}
	a := argmin(m.CVMSE) + 1
	var sse float64
	for f := range 4 {
		train, test := splitFold(folds, f)
		p := PLS{Components: a}
		if err := p.Fit(rows(x, train), pick(y, train)); err != nil {
			t.Fatal(err)
		}
		pred, _ := p.Predict(rows(x, test))
		for i, r := range test {
			if d := math.Abs(pred[i] - oof[r]); d > 1e-8*math.Abs(pred[i]) {
				t.Fatalf("row %d: out-of-fold %g, PLS without its fold %g", r, oof[r], pred[i])
			}
			sse += (y[r] - oof[r]) * (y[r] - oof[r])
		}
	}
	if d := math.Abs(sse/40-m.CVMSE[a-1]) / m.CVMSE[a-1]; d > 1e-9 {
		t.Errorf("out-of-fold MSE %g, CV MSE %g", sse/40, m.CVMSE[a-1])
	}
}
