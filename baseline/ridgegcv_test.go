package baseline

import (
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// TestRidgeGCVAndLOOMatchReference checks the federated GCV against the
// hat matrix formed explicitly by numpy, and the federated LOO (three
// clients scoring their own rows) against sklearn's RidgeCV, on
// standardised inputs.
func TestRidgeGCVAndLOOMatchReference(t *testing.T) {
	ref := loadLinearRef(t)
	var worstGCV, worstLOO float64
	for _, name := range slices.Sorted(mapsKeys(ref.Cases)) {
		c := ref.Cases[name]
		x := dense(c.XTrain)
		n, _ := x.Dims()
		y := mat.NewDense(n, 1, c.YTrain)
		s, err := NewSuffStats(x, y)
		if err != nil {
			t.Fatal(err)
		}
		g := Ridge{Alphas: c.Ridge.Alphas, Standardize: true}
		if err := g.FitGCV(s); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d := vecDiff(g.CVMSE, c.Ridge.GCV)
		worstGCV = max(worstGCV, d)
		if d > 2e-6 { // at α = 1e-7·λ_1 the fit nearly interpolates and 1 − df/N is rounding-sensitive
			t.Errorf("%s: GCV differs by %.2g", name, d)
		}
		var clients [][2]*mat.Dense
		for _, rg := range [][2]int{{0, n / 4}, {n / 4, n / 2}, {n / 2, n}} {
			idx := make([]int, 0, rg[1]-rg[0])
			for i := rg[0]; i < rg[1]; i++ {
				idx = append(idx, i)
			}
			clients = append(clients, [2]*mat.Dense{rows(x, idx), rows(y, idx)})
		}
		l := Ridge{Alphas: c.Ridge.Alphas, Standardize: true}
		if err := l.FitLOO(s, clients); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		d = vecDiff(l.CVMSE, c.Ridge.LOO)
		worstLOO = max(worstLOO, d)
		if d > 1e-9 {
			t.Errorf("%s: LOO differs by %.2g", name, d)
		}
		if l.AlphaUsed != c.Ridge.LOOAlpha {
			t.Errorf("%s: LOO chose α = %g, sklearn %g", name, l.AlphaUsed, c.Ridge.LOOAlpha)
		}
		// The spectral coefficients equal the direct solve.
		direct := Ridge{Alpha: l.AlphaUsed, Standardize: true}
		if err := direct.Fit(x, c.YTrain); err != nil {
			t.Fatal(err)
		}
		if d := relDiff(l.Coef, direct.Coef); d > 1e-8 {
			t.Errorf("%s: coefficients differ from the direct solve by %.2g", name, d)
		}
	}
	t.Logf("GCV within %.2g of the explicit hat matrix, LOO within %.2g of sklearn's RidgeCV (relative)", worstGCV, worstLOO)
}

// TestFactoredEqualsDense runs the low-rank (factored) paths of PLS, the
// elastic net and ridge's GCV on spectra of few rows and many channels and
// compares them with the same fits on full p×p matrices.
func TestFactoredEqualsDense(t *testing.T) {
	x, y := spectra(48, 420, 5)
	n, _ := x.Dims()
	fit := func() (pls *PLS, en *ElasticNet, rg *Ridge) {
		var clients [][]*SuffStats
		for _, r := range [][2]int{{0, 15}, {15, 30}, {30, n}} {
			idx := make([]int, 0)
			for i := r[0]; i < r[1]; i++ {
				idx = append(idx, i)
			}
			fs, err := FoldStats(rows(x, idx), mat.NewDense(len(idx), 1, pick(y, idx)), KFold(len(idx), 4, uint64(r[0])))
			if err != nil {
				t.Fatal(err)
			}
			clients = append(clients, fs)
		}
		folds := ByFold(clients)
		pls = &PLS{MaxComponents: 20, Standardize: true}
		if err := pls.FitFolds(folds); err != nil {
			t.Fatal(err)
		}
		en = &ElasticNet{NAlphas: 12, L1Ratios: []float64{0.9, 1}, Standardize: true, Tol: 1e-8, MaxIter: 100000}
		if err := en.FitFolds(folds); err != nil {
			t.Fatal(err)
		}
		total, err := checkFolds("test", folds)
		if err != nil {
			t.Fatal(err)
		}
		rg = &Ridge{Standardize: true}
		if err := rg.FitGCV(total); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !lowRank(n, 420) {
		t.Fatal("the test data are not low-rank")
	}
	st := time.Now()
	fp, fe, fr := fit()
	t.Logf("factored %v", time.Since(st))
	denseOnly = true
	defer func() { denseOnly = false }()
	st = time.Now()
	dp, de, dr := fit()
	t.Logf("dense %v", time.Since(st))
	if d := vecDiff(fp.CVMSE, dp.CVMSE); d > 1e-8 {
		t.Errorf("PLS CV MSE: factored and dense differ by %.2g", d)
	}
	if d := relDiff(fp.Coef, dp.Coef); d > 1e-7 {
		t.Errorf("PLS coefficients differ by %.2g", d)
	}
	for r := range fe.CVMSE {
		if d := vecDiff(fe.CVMSE[r], de.CVMSE[r]); d > 1e-7 {
			t.Errorf("elastic net ρ %g: CV MSE differs by %.2g", fe.L1Ratios[r], d)
		}
	}
	if fe.AlphaUsed != de.AlphaUsed || fe.L1RatioUsed != de.L1RatioUsed {
		t.Errorf("elastic net chose α %g ρ %g factored, α %g ρ %g dense", fe.AlphaUsed, fe.L1RatioUsed, de.AlphaUsed, de.L1RatioUsed)
	}
	if d := relDiff(fe.Coef, de.Coef); d > 1e-6 {
		t.Errorf("elastic net coefficients differ by %.2g", d)
	}
	if d := vecDiff(fr.CVMSE, dr.CVMSE); d > 1e-6 {
		t.Errorf("ridge GCV differs by %.2g", d)
	}
	if d := relDiff(fr.Coef, dr.Coef); d > 1e-7 {
		t.Errorf("ridge coefficients differ by %.2g", d)
	}
}
