package baseline

import (
	"math"
	"slices"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"
)

// linearRef is testdata/linear_ref.json, written by linear_ref.py.
type linearRef struct {
	Cases map[string]struct {
		XTrain [][]float64 `json:"xtrain"`
		YTrain []float64   `json:"ytrain"`
		XTest  [][]float64 `json:"xtest"`
		Folds  []int       `json:"folds"`
		Fixed  []struct {
			Standardize bool      `json:"standardize"`
			Alpha       float64   `json:"alpha"`
			L1Ratio     float64   `json:"l1_ratio"`
			Coef        []float64 `json:"coef"`
			Pred        []float64 `json:"pred"`
		} `json:"fixed"`
		CV []struct {
			L1Ratios []float64   `json:"l1_ratios"`
			Alphas   [][]float64 `json:"alphas"`
			CVMSE    [][]float64 `json:"cvmse"`
			Alpha    float64     `json:"alpha"`
			L1Ratio  float64     `json:"l1_ratio"`
			Coef     []float64   `json:"coef"`
			Pred     []float64   `json:"pred"`
		} `json:"cv"`
		Ridge struct {
			Alphas   []float64 `json:"alphas"`
			LOO      []float64 `json:"loo"`
			LOOAlpha float64   `json:"loo_alpha"`
			GCV      []float64 `json:"gcv"`
		} `json:"ridge"`
		PLSCVMSE []float64 `json:"pls_cvmse"`
	} `json:"cases"`
}

func loadLinearRef(t *testing.T) *linearRef {
	t.Helper()
	var r linearRef
	readJSON(t, "linear_ref.json", &r)
	if len(r.Cases) == 0 {
		t.Fatal("linear_ref.json holds no cases")
	}
	return &r
}

// refFolds returns the fold statistics of the reference rows, one client.
func refFolds(t *testing.T, x *mat.Dense, y []float64, folds []int) [][]*SuffStats {
	t.Helper()
	fs, err := FoldStats(x, mat.NewDense(len(y), 1, y), folds)
	if err != nil {
		t.Fatal(err)
	}
	return ByFold([][]*SuffStats{fs})
}

// maxAbs returns max |a_i − b_i| (Inf on a length mismatch).
func maxAbs(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	var d float64
	for i := range a {
		d = max(d, math.Abs(a[i]-b[i]))
	}
	return d
}

func TestElasticNetMatchesSklearn(t *testing.T) {
	t.Run("feature-sign", testElasticNetMatchesSklearn)
	t.Run("coordinate-descent", func(t *testing.T) {
		cdOnly = true
		defer func() { cdOnly = false }()
		testElasticNetMatchesSklearn(t)
	})
}

func testElasticNetMatchesSklearn(t *testing.T) {
	ref := loadLinearRef(t)
	var worstCoef, worstPred float64
	for _, name := range slices.Sorted(mapsKeys(ref.Cases)) {
		c := ref.Cases[name]
		x, xt := dense(c.XTrain), dense(c.XTest)
		for _, f := range c.Fixed {
			m := ElasticNet{Alpha: f.Alpha, L1Ratio: f.L1Ratio, Standardize: f.Standardize, Tol: 1e-12, MaxIter: 1_000_000}
			if err := m.Fit(x, c.YTrain); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			pred, err := m.Predict(xt)
			if err != nil {
				t.Fatal(err)
			}
			dc := vecDiff(mat.Col(nil, 0, m.Coef), f.Coef)
			dp := vecDiff(pred, f.Pred)
			worstCoef, worstPred = max(worstCoef, dc), max(worstPred, dp)
			if dc > 1e-7 || dp > 1e-9 {
				t.Errorf("%s, α = %.3g, ρ = %g, standardised %v: coefficients differ by %.2g, predictions by %.2g (relative)",
					name, f.Alpha, f.L1Ratio, f.Standardize, dc, dp)
			}
		}
	}
	t.Logf("fixed penalties: coefficients within %.2g, predictions within %.2g of sklearn (relative to the largest)", worstCoef, worstPred)
}

func TestElasticNetCVMatchesSklearn(t *testing.T) {
	ref := loadLinearRef(t)
	var worstMSE, worstCoef float64
	for _, name := range slices.Sorted(mapsKeys(ref.Cases)) {
		c := ref.Cases[name]
		x, xt := dense(c.XTrain), dense(c.XTest)
		folds := refFolds(t, x, c.YTrain, c.Folds)
		for _, cv := range c.CV {
			m := ElasticNet{NAlphas: 25, Eps: 1e-3, Tol: 1e-12, MaxIter: 20_000}
			if len(cv.L1Ratios) > 1 {
				m.L1Ratios = cv.L1Ratios
			}
			st := time.Now()
			if err := m.FitFolds(folds); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			t.Logf("%s %v %v", name, cv.L1Ratios, time.Since(st))
			for r := range cv.L1Ratios {
				if d := vecDiff(m.Grid[r], cv.Alphas[r]); d > 1e-12 {
					t.Errorf("%s ρ = %g: α grid differs by %.2g", name, cv.L1Ratios[r], d)
				}
				worstMSE = max(worstMSE, vecDiff(m.CVMSE[r], cv.CVMSE[r]))
				if d := vecDiff(m.CVMSE[r], cv.CVMSE[r]); d > 1e-8 {
					t.Errorf("%s ρ = %g: CV MSE differs by %.2g", name, cv.L1Ratios[r], d)
				}
			}
			if math.Abs(m.AlphaUsed-cv.Alpha) > 1e-12*cv.Alpha || m.L1RatioUsed != cv.L1Ratio {
				t.Errorf("%s: chose α = %g, ρ = %g; sklearn α = %g, ρ = %g", name, m.AlphaUsed, m.L1RatioUsed, cv.Alpha, cv.L1Ratio)
			}
			pred, err := m.Predict(xt)
			if err != nil {
				t.Fatal(err)
			}
			worstCoef = max(worstCoef, vecDiff(mat.Col(nil, 0, m.Coef), cv.Coef))
			if d := vecDiff(mat.Col(nil, 0, m.Coef), cv.Coef); d > 1e-7 {
				t.Errorf("%s ρ %v: coefficients differ by %.2g", name, cv.L1Ratios, d)
			}
			if d := vecDiff(pred, cv.Pred); d > 1e-9 {
				t.Errorf("%s ρ %v: predictions differ by %.2g", name, cv.L1Ratios, d)
			}
		}
	}
	t.Logf("LassoCV/ElasticNetCV: CV MSE paths within %.2g, final coefficients within %.2g of sklearn (relative)", worstMSE, worstCoef)
}

// TestElasticNetFitEqualsFitFolds checks that Fit on rows with k-fold CV is
// FitFolds over the fold statistics of the same KFold, and that a
// federation of three clients gives the pooled answer.
func TestElasticNetFederatedEqualsPooled(t *testing.T) {
	ref := loadLinearRef(t)
	c := ref.Cases["sparse"]
	x, y := dense(c.XTrain), c.YTrain
	n, _ := x.Dims()
	pooled := ElasticNet{NAlphas: 20, L1Ratios: []float64{0.5, 1}, Folds: 4, Seed: 9, Standardize: true}
	if err := pooled.Fit(x, y); err != nil {
		t.Fatal(err)
	}
	folds := KFold(n, 4, 9)
	var clients [][]*SuffStats
	for _, rg := range [][2]int{{0, 17}, {17, 40}, {40, n}} {
		idx := make([]int, 0, rg[1]-rg[0])
		for i := rg[0]; i < rg[1]; i++ {
			idx = append(idx, i)
		}
		fs, err := FoldStats(rows(x, idx), mat.NewDense(len(idx), 1, pick(y, idx)), pick32(folds, idx))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, fs)
	}
	fed := ElasticNet{NAlphas: 20, L1Ratios: []float64{0.5, 1}, Standardize: true}
	if err := fed.FitFolds(ByFold(clients)); err != nil {
		t.Fatal(err)
	}
	if fed.AlphaUsed != pooled.AlphaUsed || fed.L1RatioUsed != pooled.L1RatioUsed {
		t.Fatalf("federated chose α %g ρ %g, pooled α %g ρ %g", fed.AlphaUsed, fed.L1RatioUsed, pooled.AlphaUsed, pooled.L1RatioUsed)
	}
	for r := range fed.CVMSE {
		if d := vecDiff(fed.CVMSE[r], pooled.CVMSE[r]); d > 1e-9 {
			t.Errorf("ratio %d: CV MSE differs by %g", r, d)
		}
	}
	if d := relDiff(fed.Coef, pooled.Coef); d > 1e-8 {
		t.Errorf("coefficients differ by %g", d)
	}
}

func TestElasticNetErrors(t *testing.T) {
	x := mat.NewDense(4, 2, []float64{1, 2, 3, 4, 5, 6, 7, 9})
	y := []float64{1, 2, 3, 4}
	for _, tc := range []struct {
		name string
		m    ElasticNet
	}{
		{"negative alpha", ElasticNet{Alpha: -1}},
		{"ratio above 1", ElasticNet{L1Ratio: 1.5}},
		{"ratio 0 in a grid", ElasticNet{NAlphas: 5, L1Ratios: []float64{0, 1}}},
		{"too many folds", ElasticNet{NAlphas: 5, Folds: 9}},
	} {
		if err := tc.m.Fit(x, y); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
	m := ElasticNet{NAlphas: 5}
	if err := m.FitStats(&SuffStats{}); err == nil {
		t.Error("FitStats with a grid: no error")
	}
	if _, err := (&ElasticNet{}).Predict(x); err == nil {
		t.Error("Predict before Fit: no error")
	}
}

func pick32(v []int, idx []int) []int {
	out := make([]int, len(idx))
	for i, r := range idx {
		out[i] = v[r]
	}
	return out
}

func mapsKeys[M ~map[string]V, V any](m M) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
