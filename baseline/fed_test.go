package baseline

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// clientData makes pooled rows with latent structure, large column offsets
// (as spectra have) and q responses, split into clients of the given
// sizes; it returns the pooled matrices and each client's statistics.
func clientData(t testing.TB, seed uint64, sizes []int, p, q int) (x, y *mat.Dense, stats []*SuffStats) {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	n := 0
	for _, s := range sizes {
		n += s
	}
	lat := randDense(rng, n, 3)
	load := randDense(rng, 3, p)
	x = mat.NewDense(n, p, nil)
	x.Mul(lat, load)
	for i := range n {
		for j := range p {
			x.Set(i, j, x.At(i, j)+0.2*rng.NormFloat64()+100+float64(j))
		}
	}
	beta := randDense(rng, 3, q)
	y = mat.NewDense(n, q, nil)
	y.Mul(lat, beta)
	for i := range n {
		for k := range q {
			y.Set(i, k, y.At(i, k)+0.1*rng.NormFloat64()+50)
		}
	}
	start := 0
	for _, s := range sizes {
		idx := make([]int, s)
		for i := range idx {
			idx[i] = start + i
		}
		st, err := NewSuffStats(rows(x, idx), rows(y, idx))
		if err != nil {
			t.Fatal(err)
		}
		stats = append(stats, st)
		start += s
	}
	return x, y, stats
}

// uneven is the client sizes used throughout: three clients, unequal.
var uneven = []int{7, 23, 50}

func TestSuffStatsMergeEqualsPooled(t *testing.T) {
	x, y, stats := clientData(t, 1, uneven, 9, 2)
	pooled, err := NewSuffStats(x, y)
	if err != nil {
		t.Fatal(err)
	}
	// Any merge order gives the pooled statistics.
	for _, order := range [][]int{{0, 1, 2}, {2, 0, 1}, {1, 2, 0}} {
		merged, err := MergeStats(stats[order[0]], stats[order[1]], stats[order[2]])
		if err != nil {
			t.Fatal(err)
		}
		if merged.N != pooled.N {
			t.Fatalf("N = %d, want %d", merged.N, pooled.N)
		}
		for _, c := range []struct {
			name      string
			got, want mat.Matrix
		}{
			{"Sxx", merged.Sxx, pooled.Sxx}, {"Sxy", merged.Sxy, pooled.Sxy}, {"Syy", merged.Syy, pooled.Syy},
		} {
			if d := relDiff(c.got, c.want); d > 1e-12 {
				t.Errorf("order %v: %s differs by %g", order, c.name, d)
			}
		}
		if d := vecDiff(merged.MeanX, pooled.MeanX); d > 1e-14 {
			t.Errorf("order %v: MeanX differs by %g", order, d)
		}
	}
	// Merging leaves its inputs alone, and empty statistics are neutral.
	before := stats[1].Clone()
	var acc SuffStats
	if err := acc.Merge(stats[1]); err != nil {
		t.Fatal(err)
	}
	if err := acc.Merge(&SuffStats{}); err != nil {
		t.Fatal(err)
	}
	if err := acc.Merge(stats[2]); err != nil {
		t.Fatal(err)
	}
	if relDiff(stats[1].Sxx, before.Sxx) != 0 || stats[1].N != before.N {
		t.Error("Merge modified its argument")
	}
}

func TestSuffStatsMergeRejectsMismatch(t *testing.T) {
	_, _, a := clientData(t, 2, []int{5}, 4, 1)
	_, _, b := clientData(t, 3, []int{5}, 3, 1)
	err := a[0].Merge(b[0])
	want := "baseline: SuffStats.Merge: statistics of 4 x and 1 y columns merged with 3 and 1"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %q", err, want)
	}
}

func TestFederatedRidgeEqualsPooled(t *testing.T) {
	for _, c := range []struct {
		name        string
		p           int
		alpha       float64
		standardize bool
	}{
		{"tall", 9, 0.7, false},
		{"tall-std", 9, 0.7, true},
		{"wide-std", 120, 5, true}, // p > n: pooled uses the dual system
		{"ols", 9, 0, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, y, stats := clientData(t, 4, uneven, c.p, 2)
			pooled := Ridge{Alpha: c.alpha, Standardize: c.standardize}
			if err := pooled.FitMulti(x, y); err != nil {
				t.Fatal(err)
			}
			merged, err := MergeStats(stats...)
			if err != nil {
				t.Fatal(err)
			}
			fed := Ridge{Alpha: c.alpha, Standardize: c.standardize}
			if err := fed.FitStats(merged); err != nil {
				t.Fatal(err)
			}
			if d := relDiff(fed.Coef, pooled.Coef); d > 1e-8 {
				t.Errorf("coef differs by %g", d)
			}
			pp, _ := pooled.PredictMulti(x)
			fp, _ := fed.PredictMulti(x)
			if d := relDiff(fp, pp); d > 1e-10 {
				t.Errorf("predictions differ by %g", d)
			}
		})
	}
}

func TestFederatedRidgeCVEqualsPooledKFold(t *testing.T) {
	x, y, _ := clientData(t, 5, uneven, 15, 1)
	n, _ := x.Dims()
	alphas := LogSpace(-3, 3, 13)
	for _, std := range []bool{false, true} {
		pooled := Ridge{Alphas: alphas, Folds: 5, Seed: 11, Standardize: std}
		if err := pooled.Fit(x, mat.Col(nil, 0, y)); err != nil {
			t.Fatal(err)
		}
		// The same folds, reduced to statistics: as if each fold were a
		// client that sent only its SuffStats.
		fs, err := FoldStats(x, y, KFold(n, 5, 11))
		if err != nil {
			t.Fatal(err)
		}
		folds := ByFold([][]*SuffStats{fs})
		fed := Ridge{Alphas: alphas, Standardize: std}
		if err := fed.FitFolds(folds); err != nil {
			t.Fatal(err)
		}
		if fed.AlphaUsed != pooled.AlphaUsed {
			t.Errorf("std %v: federated α %g, pooled %g", std, fed.AlphaUsed, pooled.AlphaUsed)
		}
		if d := vecDiff(fed.CVMSE, pooled.CVMSE); d > 1e-8 {
			t.Errorf("std %v: CV MSE differs by %g:\n fed %v\npool %v", std, d, fed.CVMSE, pooled.CVMSE)
		}
		if d := relDiff(fed.Coef, pooled.Coef); d > 1e-8 {
			t.Errorf("std %v: final coef differs by %g", std, d)
		}
	}
}

func TestFederatedRidgeCVWithinClients(t *testing.T) {
	// Each of three clients splits its own rows into 4 folds and sends the
	// fold statistics; the server's CV equals pooled CV over the union of
	// those folds, computed here from rows with CrossValPredict.
	x, y, _ := clientData(t, 6, uneven, 10, 1)
	var clients [][]*SuffStats
	folds := make([]int, 0)
	start := 0
	for c, size := range uneven {
		idx := make([]int, size)
		for i := range idx {
			idx[i] = start + i
		}
		ids := KFold(size, 4, uint64(c))
		fs, err := FoldStats(rows(x, idx), rows(y, idx), ids)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, fs)
		folds = append(folds, ids...)
		start += size
	}
	alpha := 0.3
	fed := Ridge{Alpha: alpha, Standardize: true}
	if err := fed.FitFolds(ByFold(clients)); err != nil {
		t.Fatal(err)
	}
	yv := mat.Col(nil, 0, y)
	pred, err := CrossValPredict(func() Regressor { return &Ridge{Alpha: alpha, Standardize: true} }, x, yv, folds)
	if err != nil {
		t.Fatal(err)
	}
	mse, _ := MSE(yv, pred)
	if d := vecDiff(fed.CVMSE, []float64{mse}); d > 1e-9 {
		t.Errorf("federated CV MSE %v, pooled %g", fed.CVMSE, mse)
	}
}

func TestFederatedRidgeLeaveOneClientOut(t *testing.T) {
	x, y, stats := clientData(t, 7, uneven, 10, 1)
	folds := make([]int, 0)
	for c, size := range uneven {
		for range size {
			folds = append(folds, c)
		}
	}
	alphas := []float64{0.01, 1, 100}
	fed := Ridge{Alphas: alphas}
	if err := fed.FitFolds([][]*SuffStats{{stats[0]}, {stats[1]}, {stats[2]}}); err != nil {
		t.Fatal(err)
	}
	yv := mat.Col(nil, 0, y)
	for a, alpha := range alphas {
		pred, err := CrossValPredict(func() Regressor { return &Ridge{Alpha: alpha} }, x, yv, folds)
		if err != nil {
			t.Fatal(err)
		}
		mse, _ := MSE(yv, pred)
		if d := vecDiff([]float64{fed.CVMSE[a]}, []float64{mse}); d > 1e-9 {
			t.Errorf("α %g: leave-one-client-out MSE %g, pooled %g", alpha, fed.CVMSE[a], mse)
		}
	}
}

func TestFederatedPLSEqualsPooled(t *testing.T) {
	for _, c := range []struct {
		name        string
		p, q, a     int
		standardize bool
	}{
		{"pls1", 12, 1, 4, false},
		{"pls1-std", 12, 1, 4, true},
		{"pls2", 12, 3, 3, false},
		{"wide", 150, 1, 6, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, y, stats := clientData(t, 8, uneven, c.p, c.q)
			pooled := PLS{Components: c.a, Standardize: c.standardize}
			if err := pooled.FitMulti(x, y); err != nil {
				t.Fatal(err)
			}
			merged, err := MergeStats(stats...)
			if err != nil {
				t.Fatal(err)
			}
			fed := PLS{Components: c.a, Standardize: c.standardize}
			if err := fed.FitStats(merged); err != nil {
				t.Fatal(err)
			}
			for _, m := range []struct {
				name      string
				got, want *mat.Dense
			}{
				{"weights", fed.Weights, pooled.Weights}, {"rotations", fed.Rotations, pooled.Rotations},
				{"x loadings", fed.XLoadings, pooled.XLoadings}, {"coef", fed.Coef, pooled.Coef},
			} {
				if d := relDiff(m.got, m.want); d > 1e-8 {
					t.Errorf("%s differ by %g", m.name, d)
				}
			}
			ps, _ := pooled.Transform(x)
			fs, _ := fed.Transform(x)
			if d := relDiff(fs, ps); d > 1e-8 {
				t.Errorf("scores differ by %g", d)
			}
		})
	}
}

func TestFederatedPLSCVEqualsPooledKFold(t *testing.T) {
	x, y, _ := clientData(t, 9, uneven, 20, 1)
	n, _ := x.Dims()
	pooled := PLS{MaxComponents: 8, Folds: 4, Seed: 3, Standardize: true}
	if err := pooled.Fit(x, mat.Col(nil, 0, y)); err != nil {
		t.Fatal(err)
	}
	fs, err := FoldStats(x, y, KFold(n, 4, 3))
	if err != nil {
		t.Fatal(err)
	}
	fed := PLS{MaxComponents: 8, Standardize: true}
	if err := fed.FitFolds(ByFold([][]*SuffStats{fs})); err != nil {
		t.Fatal(err)
	}
	if d := vecDiff(fed.CVMSE, pooled.CVMSE); d > 1e-8 {
		t.Errorf("CV MSE differs by %g:\n fed %v\npool %v", d, fed.CVMSE, pooled.CVMSE)
	}
	_, a1 := fed.Rotations.Dims()
	_, a2 := pooled.Rotations.Dims()
	if a1 != a2 {
		t.Errorf("federated chose %d components, pooled %d", a1, a2)
	}
	if a2 < 2 {
		t.Errorf("CV chose %d components on 3-factor data", a2)
	}
}

func TestFederatedPCAEqualsPooled(t *testing.T) {
	for _, c := range []struct {
		name string
		p    int
		pca  PCA
	}{
		{"variance", 9, PCA{}},
		{"std-fixed", 9, PCA{Components: 4, Standardize: true}},
		{"wide", 100, PCA{Components: 3}},
	} {
		t.Run(c.name, func(t *testing.T) {
			x, _, stats := clientData(t, 10, uneven, c.p, 1)
			pooled, fed := c.pca, c.pca
			if err := pooled.Fit(x); err != nil {
				t.Fatal(err)
			}
			merged, err := MergeStats(stats...)
			if err != nil {
				t.Fatal(err)
			}
			if err := fed.FitStats(merged); err != nil {
				t.Fatal(err)
			}
			if d := relDiff(fed.Basis, pooled.Basis); d > 1e-8 {
				t.Errorf("basis differs by %g", d)
			}
			if d := vecDiff(fed.Variances, pooled.Variances); d > 1e-10 {
				t.Errorf("variances differ by %g", d)
			}
			zp, _ := pooled.Transform(x)
			zf, _ := fed.Transform(x)
			if d := relDiff(zf, zp); d > 1e-8 {
				t.Errorf("scores differ by %g", d)
			}
		})
	}
}

func TestFederatedNeedsFolds(t *testing.T) {
	_, _, stats := clientData(t, 11, uneven, 5, 1)
	r := Ridge{Alphas: []float64{1, 2}}
	if err := r.FitStats(stats[0]); err == nil {
		t.Error("Ridge.FitStats with Alphas: no error")
	}
	p := PLS{}
	if err := p.FitStats(stats[0]); err == nil {
		t.Error("PLS.FitStats without Components: no error")
	}
	if err := r.FitFolds([][]*SuffStats{stats}); err == nil {
		t.Error("FitFolds with one fold: no error")
	}
}
