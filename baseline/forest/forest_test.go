package forest

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestDeterministicAcrossParallelism(t *testing.T) {
	x, y := friedman1(3, 200, 20)
	xt, _ := friedman1(4, 50, 20)
	fit := func(procs, workers int) []float64 {
		old := runtime.GOMAXPROCS(procs)
		defer runtime.GOMAXPROCS(old)
		f := Forest{Trees: 30, Seed: 42, Workers: workers}
		if err := f.Fit(x, y); err != nil {
			t.Fatal(err)
		}
		p, err := f.Predict(xt)
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	want := fit(1, 0)
	for _, c := range []struct{ procs, workers int }{{2, 0}, {2, 3}, {1, 7}, {4, 0}} {
		if got := fit(c.procs, c.workers); !slices.Equal(got, want) {
			t.Errorf("GOMAXPROCS %d, Workers %d: predictions differ from the serial fit", c.procs, c.workers)
		}
	}
	// Another seed gives another forest.
	f := Forest{Trees: 30, Seed: 43}
	if err := f.Fit(x, y); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.Predict(xt); slices.Equal(got, want) {
		t.Error("seeds 42 and 43 give identical predictions")
	}
}

func TestLearnsNonlinearFunction(t *testing.T) {
	// y = sin(2π x0) + x1² on 500 rows, no noise; 5 irrelevant features.
	u := uniforms{9}
	gen := func(n int) (*mat.Dense, []float64) {
		x := mat.NewDense(n, 7, nil)
		y := make([]float64, n)
		for i := range n {
			r := x.RawRowView(i)
			for j := range r {
				r[j] = u.next()
			}
			y[i] = math.Sin(2*math.Pi*r[0]) + r[1]*r[1]
		}
		return x, y
	}
	x, y := gen(500)
	xt, yt := gen(300)
	var f Forest
	if err := f.Fit(x, y); err != nil {
		t.Fatal(err)
	}
	p, _ := f.Predict(xt)
	if got := r2(yt, p); got < 0.95 {
		t.Errorf("test R² = %.3f, want ≥ 0.95", got)
	}
}

func TestInterpolatesTrainingRows(t *testing.T) {
	// Fully grown trees on all rows (no bootstrap) reproduce every
	// training response: a check that splits and thresholds agree.
	x, y := friedman1(5, 200, 6)
	f := Forest{Trees: 3, NoBootstrap: true}
	if err := f.Fit(x, y); err != nil {
		t.Fatal(err)
	}
	p, _ := f.Predict(x)
	for i := range y {
		if math.Abs(p[i]-y[i]) > 1e-12 {
			t.Fatalf("row %d: predicted %g, trained on %g", i, p[i], y[i])
		}
	}
}

func TestSettings(t *testing.T) {
	x, y := friedman1(6, 300, 8)
	for _, c := range []struct {
		name  string
		f     Forest
		check func(t *testing.T, f *Forest)
	}{
		{"stumps", Forest{Trees: 5, MaxDepth: 1}, func(t *testing.T, f *Forest) {
			for _, n := range f.NumNodes() {
				if n != 3 {
					t.Errorf("a depth-1 tree has %d nodes", n)
				}
			}
		}},
		{"big leaves", Forest{Trees: 5, MinSamplesLeaf: 40}, func(t *testing.T, f *Forest) {
			// At most 300/40 leaves, so at most 2·7−1 nodes.
			for _, n := range f.NumNodes() {
				if n > 13 {
					t.Errorf("a tree with leaves of ≥ 40 rows has %d nodes", n)
				}
			}
		}},
		{"few bins", Forest{Trees: 5, MaxBins: 4, MaxDepth: 2}, func(t *testing.T, f *Forest) {
			for _, tr := range f.trees {
				for _, nd := range tr {
					if nd.feature >= 0 && (nd.threshold <= 0 || nd.threshold >= 1) {
						t.Errorf("threshold %g outside the data", nd.threshold)
					}
				}
			}
		}},
		{"one feature per split", Forest{Trees: 5, MaxFeatures: 1}, nil},
		{"fraction", Forest{Trees: 5, FeatureFraction: 0.5}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			if err := f.Fit(x, y); err != nil {
				t.Fatal(err)
			}
			if c.check != nil {
				c.check(t, &f)
			}
			p, err := f.Predict(x)
			if err != nil {
				t.Fatal(err)
			}
			if got := r2(y, p); got < 0.3 {
				t.Errorf("training R² = %.3f", got)
			}
		})
	}
}

func TestConstantResponse(t *testing.T) {
	x, _ := friedman1(7, 50, 5)
	y := make([]float64, 50)
	for i := range y {
		y[i] = 2.5
	}
	var f Forest
	if err := f.Fit(x, y); err != nil {
		t.Fatal(err)
	}
	p, _ := f.Predict(x)
	for _, v := range p {
		if v != 2.5 {
			t.Fatalf("predicted %g for a constant 2.5", v)
		}
	}
	if n := f.NumNodes()[0]; n != 1 {
		t.Errorf("constant response grew %d nodes", n)
	}
}

func TestErrors(t *testing.T) {
	x, y := friedman1(8, 20, 5)
	for _, c := range []struct {
		name string
		f    Forest
		x    *mat.Dense
		y    []float64
		want string
	}{
		{"rows", Forest{}, x, y[:19], "forest: Forest.Fit: x has 20 rows, y has 19"},
		{"both features", Forest{MaxFeatures: 2, FeatureFraction: 0.5}, x, y, "both MaxFeatures"},
		{"fraction", Forest{FeatureFraction: 1.5}, x, y, "FeatureFraction = 1.5"},
		{"bins", Forest{MaxBins: 300}, x, y, "MaxBins = 300"},
		{"negative", Forest{Trees: -1}, x, y, "forest: Forest.Fit: Trees = -1, must not be negative"},
		{"nan", Forest{}, x, append(append([]float64{}, y[:19]...), math.NaN()), "y[19] = NaN"},
	} {
		t.Run(c.name, func(t *testing.T) {
			f := c.f
			err := f.Fit(c.x, c.y)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err = %v, want %q", err, c.want)
			}
		})
	}
	var f Forest
	if _, err := f.Predict(x); err == nil {
		t.Error("Predict before Fit: no error")
	}
	if err := f.Fit(x, y); err != nil {
		t.Fatal(err)
	}
	wide, _ := friedman1(8, 2, 6)
	if _, err := f.Predict(wide); err == nil || err.Error() != "forest: Forest.Predict: x is 2×6, fitted on 5 columns" {
		t.Errorf("err = %v", err)
	}
}

// TestAccuracyMatchesSklearn fits the data of testdata/sklearn_rf.py
// with 10 seeds and compares the mean test R² with sklearn's: a histogram
// forest must not lose accuracy against the reference implementation.
func TestAccuracyMatchesSklearn(t *testing.T) {
	if testing.Short() {
		t.Skip("fits 40 forests")
	}
	b, err := os.ReadFile(filepath.Join("testdata", "sklearn_rf.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			NTrain, NTest, P int
			MaxFeatures      float64   `json:"max_features"`
			R2Mean           float64   `json:"r2_mean"`
			R2SD             float64   `json:"r2_sd"`
			FirstY           []float64 `json:"first_y"`
		}
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	for _, c := range ref.Cases {
		x, y := friedman1(1, c.NTrain, c.P)
		for i, v := range c.FirstY {
			if math.Abs(y[i]-v) > 1e-12 {
				t.Fatalf("data differ from the script's: y[%d] = %g, want %g", i, y[i], v)
			}
		}
		xt, yt := friedman1(2, c.NTest, c.P)
		var scores []float64
		for s := range 10 {
			f := Forest{Seed: uint64(s)}
			if c.MaxFeatures < 1 {
				f.FeatureFraction = c.MaxFeatures
			}
			if err := f.Fit(x, y); err != nil {
				t.Fatal(err)
			}
			p, _ := f.Predict(xt)
			scores = append(scores, r2(yt, p))
		}
		var mean float64
		for _, s := range scores {
			mean += s / float64(len(scores))
		}
		// Both means have sd ≈ r2_sd/√10; allow 0.02 or 5 of those.
		tol := max(0.02, 5*c.R2SD/math.Sqrt(10)*math.Sqrt2)
		t.Logf("n %d p %d max_features %.2f: R² %.4f, sklearn %.4f ± %.4f", c.NTrain, c.P, c.MaxFeatures, mean, c.R2Mean, c.R2SD)
		if math.Abs(mean-c.R2Mean) > tol {
			t.Errorf("n %d p %d max_features %.2f: mean test R² %.4f, sklearn %.4f (tolerance %.3f)",
				c.NTrain, c.P, c.MaxFeatures, mean, c.R2Mean, tol)
		}
	}
}
