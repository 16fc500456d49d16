package baseline

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// Compile-time checks of the contracts.
var (
	_ Extractor           = (*PCA)(nil)
	_ Extractor           = (*TruncatedSVD)(nil)
	_ Extractor           = (*RandomProjection)(nil)
	_ Extractor           = (*Scaler)(nil)
	_ SupervisedExtractor = (*PLS)(nil)
	_ Regressor           = (*Ridge)(nil)
	_ Regressor           = (*PLS)(nil)
)

// knownVariances returns n rows whose column variances are exactly vars
// and whose columns are uncorrelated: each column is ±√var·√((n−1)/n)…
// built from orthogonal ±1 patterns, so PCA's eigenvalues are vars.
func knownVariances(vars []float64) *mat.Dense {
	n := 64 // Walsh patterns of length 64 are orthogonal and centred
	x := mat.NewDense(n, len(vars), nil)
	for j, v := range vars {
		s := math.Sqrt(v * float64(n-1) / float64(n))
		for i := range n {
			sign := 1.0
			if (i>>j)&1 == 1 {
				sign = -1
			}
			x.Set(i, j, sign*s+float64(j)) // column offsets are centred away
		}
	}
	return x
}

func TestPCAVarianceRulePicksCount(t *testing.T) {
	// Variances 50, 25, 12, 8, 5 (total 100): cumulative shares
	// 0.50, 0.75, 0.87, 0.95, 1.00.
	x := knownVariances([]float64{50, 25, 12, 8, 5})
	for _, c := range []struct {
		share float64
		want  int
	}{{0.4, 1}, {0.5 - 1e-9, 1}, {0.74, 2}, {0.80, 3}, {0.90, 4}, {0.94, 4}, {0.96, 5}, {0, 4}} {
		m := PCA{Variance: c.share}
		if err := m.Fit(x); err != nil {
			t.Fatal(err)
		}
		if _, k := m.Basis.Dims(); k != c.want {
			t.Errorf("share %g: %d components, want %d", c.share, k, c.want)
		}
	}
	m := PCA{Components: 2}
	if err := m.Fit(x); err != nil {
		t.Fatal(err)
	}
	if d := vecDiff(m.Variances, []float64{50, 25}); d > 1e-12 {
		t.Errorf("variances %v, want [50 25]", m.Variances)
	}
	if d := vecDiff(m.Ratios, []float64{0.5, 0.25}); d > 1e-12 {
		t.Errorf("ratios %v, want [0.5 0.25]", m.Ratios)
	}
}

func TestRandomProjection(t *testing.T) {
	x := randDense(rand.New(rand.NewPCG(1, 1)), 30, 400)
	a := RandomProjection{Components: 200, Seed: 5}
	b := RandomProjection{Components: 200, Seed: 5}
	c := RandomProjection{Components: 200, Seed: 6}
	for _, m := range []*RandomProjection{&a, &b, &c} {
		if err := m.Fit(x); err != nil {
			t.Fatal(err)
		}
	}
	if !mat.Equal(a.Matrix, b.Matrix) || mat.Equal(a.Matrix, c.Matrix) {
		t.Error("the projection is not a function of the seed")
	}
	// Entries are N(0, 1/k): their mean square is 1/k within sampling error.
	var ss float64
	for _, v := range a.Matrix.RawMatrix().Data {
		ss += v * v
	}
	if ms := ss / (400 * 200); math.Abs(ms*200-1) > 0.02 {
		t.Errorf("mean square entry %g, want 1/200", ms)
	}
	// Squared distances survive on average (Johnson–Lindenstrauss).
	z, _ := a.Transform(x)
	var ratio float64
	for i := 1; i < 30; i++ {
		var d0, d1 float64
		for j := range 400 {
			d := x.At(i, j) - x.At(0, j)
			d0 += d * d
		}
		for j := range 200 {
			d := z.At(i, j) - z.At(0, j)
			d1 += d * d
		}
		ratio += d1 / d0 / 29
	}
	if math.Abs(ratio-1) > 0.1 {
		t.Errorf("mean distance ratio %g, want ≈ 1", ratio)
	}
}

func TestTruncatedSVDStandardizedEqualsPCA(t *testing.T) {
	x, _, _ := clientData(t, 12, []int{40}, 8, 1)
	s := TruncatedSVD{Components: 3, Standardize: true}
	p := PCA{Components: 3, Standardize: true}
	if err := s.Fit(x); err != nil {
		t.Fatal(err)
	}
	if err := p.Fit(x); err != nil {
		t.Fatal(err)
	}
	zs, _ := s.Transform(x)
	zp, _ := p.Transform(x)
	if d := relDiffSigned(zs, zp); d > 1e-10 {
		t.Errorf("standardised TSVD and PCA scores differ by %g", d)
	}
}

func TestShapeErrors(t *testing.T) {
	x := mat.NewDense(80, 5, nil)
	for i := range 80 {
		for j := range 5 {
			x.Set(i, j, float64((i*7+j*3)%11)+float64(j*i%5))
		}
	}
	y := make([]float64, 80)
	for i := range y {
		y[i] = float64(i % 7)
	}
	wrong := mat.NewDense(3, 4, nil)
	fitted := func(m Regressor) {
		if err := m.Fit(x, y); err != nil {
			t.Fatal(err)
		}
	}
	ridge, pls := &Ridge{Alpha: 1}, &PLS{Components: 2}
	fitted(ridge)
	fitted(pls)
	pca := &PCA{}
	if err := pca.Fit(x); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		err  error
		want string
	}{
		{"pls rows", new(PLS).Fit(x, y[:79]), "baseline: PLS.Fit: x has 80 rows, y has 79"},
		{"ridge rows", new(Ridge).Fit(x, y[1:]), "baseline: Ridge.Fit: x has 80 rows, y has 79"},
		{"ridge predict", second(ridge.Predict(wrong)), "baseline: Ridge.Predict: x is 3×4, fitted on 5 columns"},
		{"pls transform", second(pls.Transform(wrong)), "baseline: PLS.Transform: x is 3×4, fitted on 5 columns"},
		{"pca transform", second(pca.Transform(wrong)), "baseline: PCA.Transform: x is 3×4, fitted on 5 columns"},
		{"mse", second(MSE(y, y[1:])), "baseline: MSE: y has 80 entries, ŷ has 79"},
		{"pls too many", (&PLS{Components: 6}).Fit(x, y), "baseline: PLS.Fit: 6 components asked, x is 80×5 so at most 5"},
		{"pca too many", (&PCA{Components: 6}).Fit(x), "baseline: PCA.Fit: 6 components asked, data have rank 5"},
		{"pca both", (&PCA{Components: 2, Variance: 0.9}).Fit(x), "baseline: PCA.Fit: both Components (2) and a share (0.9) set"},
		{"rp zero", (&RandomProjection{}).Fit(x), "baseline: RandomProjection.Fit: Components = 0, need at least 1"},
		{"ridge alpha", (&Ridge{Alpha: -1}).Fit(x, y), "baseline: Ridge.Fit: Alpha = -1"},
		{"stats", second(NewSuffStats(x, wrong)), "baseline: NewSuffStats: x is 80×5, y is 3×4: rows differ"},
		{"cv folds", second(CrossValPredict(func() Regressor { return &Ridge{} }, x, y, []int{0, 1})), "baseline: CrossValPredict: folds has 2 entries, y has 80"},
		{"unfitted", second((&Scaler{}).Transform(x)), "baseline: Scaler.Transform: not fitted"},
	} {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("%s: err = %v\nwant %q", c.name, c.err, c.want)
		}
	}
}

func second[T any](_ T, err error) error { return err }

func TestPLSCVChoosesLatentCount(t *testing.T) {
	// y depends on 3 latent factors of x, so CV should pick about 3
	// components, and CVMSE has one entry per count tried.
	x, y, _ := clientData(t, 13, []int{120}, 30, 1)
	m := PLS{MaxComponents: 8, Seed: 1}
	if err := m.Fit(x, mat.Col(nil, 0, y)); err != nil {
		t.Fatal(err)
	}
	if len(m.CVMSE) != 8 {
		t.Fatalf("%d CV scores, want 8", len(m.CVMSE))
	}
	if _, a := m.Rotations.Dims(); a < 3 || a > 6 {
		t.Errorf("chose %d components for 3 latent factors; CV MSE %v", a, m.CVMSE)
	}
	if m.CVMSE[2] > m.CVMSE[0]/4 {
		t.Errorf("3 components barely beat 1: %v", m.CVMSE)
	}
}

func TestRidgeKFoldAndLOOAgreeOnScale(t *testing.T) {
	x, y, _ := clientData(t, 14, []int{90}, 12, 1)
	alphas := LogSpace(-2, 4, 7)
	loo := Ridge{Alphas: alphas}
	kf := Ridge{Alphas: alphas, Folds: 10, Seed: 3}
	yv := mat.Col(nil, 0, y)
	if err := loo.Fit(x, yv); err != nil {
		t.Fatal(err)
	}
	if err := kf.Fit(x, yv); err != nil {
		t.Fatal(err)
	}
	for a := range alphas {
		if r := kf.CVMSE[a] / loo.CVMSE[a]; r < 0.7 || r > 1.5 {
			t.Errorf("α %g: 10-fold MSE %g vs LOO %g", alphas[a], kf.CVMSE[a], loo.CVMSE[a])
		}
	}
	if i, j := slices.Index(alphas, loo.AlphaUsed), slices.Index(alphas, kf.AlphaUsed); i < 0 || j < 0 || i-j > 1 || j-i > 1 {
		t.Errorf("LOO chose %g, 10-fold %g", loo.AlphaUsed, kf.AlphaUsed)
	}
}

func TestKFold(t *testing.T) {
	f := KFold(23, 5, 9)
	size := make([]int, 5)
	for _, g := range f {
		size[g]++
	}
	if !slices.Equal(size, []int{5, 5, 5, 4, 4}) {
		t.Errorf("fold sizes %v, want [5 5 5 4 4]", size)
	}
	if !slices.Equal(f, KFold(23, 5, 9)) || slices.Equal(f, KFold(23, 5, 10)) {
		t.Error("folds are not a function of the seed")
	}
}

func TestMetrics(t *testing.T) {
	y := []float64{1, 2, 3, 4}
	yhat := []float64{1, 2, 3, 5}
	r, _ := R2(y, yhat)
	if math.Abs(r-(1-1.0/5)) > 1e-15 {
		t.Errorf("R² = %g, want 0.8", r)
	}
	r, _ = R2Ref(y, yhat, 0)
	if math.Abs(r-(1-1.0/30)) > 1e-15 {
		t.Errorf("R² against 0 = %g, want 29/30", r)
	}
	if r, _ := R2([]float64{2, 2}, []float64{2, 2}); !math.IsNaN(r) {
		t.Errorf("R² of a constant y = %g, want NaN", r)
	}
	m, sd := MeanSD([]float64{2, 4, 4, 4, 5, 5, 7, 9})
	if m != 5 || math.Abs(sd-math.Sqrt(32.0/7)) > 1e-15 {
		t.Errorf("MeanSD = %g, %g", m, sd)
	}
	if _, sd := MeanSD([]float64{1}); !math.IsNaN(sd) {
		t.Error("sd of one value is not NaN")
	}
}

func TestSupervisedAdapterAndInputsUntouched(t *testing.T) {
	x, y, _ := clientData(t, 15, []int{30}, 6, 1)
	before := mat.DenseCopyOf(x)
	yv := mat.Col(nil, 0, y)
	ybefore := slices.Clone(yv)
	for _, e := range []SupervisedExtractor{Supervised(&PCA{}), Supervised(&Scaler{}), &PLS{Components: 2, Standardize: true}} {
		if err := e.Fit(x, yv); err != nil {
			t.Fatal(err)
		}
		if _, err := e.Transform(x); err != nil {
			t.Fatal(err)
		}
	}
	r := Ridge{Alphas: []float64{1, 10}, Standardize: true}
	if err := r.Fit(x, yv); err != nil {
		t.Fatal(err)
	}
	if !mat.Equal(x, before) || !slices.Equal(yv, ybefore) {
		t.Error("a Fit modified its inputs")
	}
	if !strings.HasPrefix(Supervised(&PCA{}).Fit(nil, nil).Error(), "baseline: PCA.Fit") {
		t.Error("adapter hides the extractor's error")
	}
}
