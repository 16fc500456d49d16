package fdrmfl

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
)

// linearClients returns three clients of n rows of p inputs, with a
// response on a few of them, each cut into k folds.
func linearClients(n, p, k int, seed uint64) []*linearClient {
	r := rand.New(rand.NewPCG(seed, 9))
	var out []*linearClient
	for c := range 3 {
		x, y := mat.NewDense(n, p, nil), mat.NewDense(n, 1, nil)
		for i := range n {
			for j := range p {
				x.Set(i, j, r.NormFloat64()*(1+0.3*float64(j%4))+0.2*float64(c))
			}
			y.Set(i, 0, x.At(i, 0)-0.7*x.At(i, 1)+0.4*x.At(i, p-1)+0.5*r.NormFloat64())
		}
		out = append(out, &linearClient{x: x, y: y, fold: baseline.KFold(n, k, uint64(c)+seed)})
	}
	return out
}

// TestOperatorPLSMatchesBaseline checks the warm start's PLS, which sees
// XᵀX only through products with vectors, against baseline.PLS's
// cross-validation and fit on the same folds of summed statistics: the
// same number of components, CV error and coefficients — on all
// columns, and on a subset of them.
func TestOperatorPLSMatchesBaseline(t *testing.T) {
	const n, p, k, maxA = 15, 12, 4, 6
	clients := linearClients(n, p, k, 1)
	for _, tc := range []struct {
		name string
		cols []int // nil: all
	}{{"all columns", nil}, {"a subset", []int{0, 1, 2, 3, 4, 5, 11}}} {
		t.Run(tc.name, func(t *testing.T) {
			var keep []bool
			pick := func(x *mat.Dense) *mat.Dense { return x }
			if tc.cols != nil {
				keep = make([]bool, p)
				for _, j := range tc.cols {
					keep[j] = true
				}
				pick = func(x *mat.Dense) *mat.Dense {
					rows, _ := x.Dims()
					out := mat.NewDense(rows, len(tc.cols), nil)
					for a, j := range tc.cols {
						out.SetCol(a, mat.Col(nil, j, x))
					}
					return out
				}
			}
			per := make([][]*baseline.SuffStats, len(clients))
			for i, c := range clients {
				var err error
				if per[i], err = baseline.FoldStats(pick(c.x), c.y, c.fold); err != nil {
					t.Fatal(err)
				}
			}
			ref := &baseline.PLS{MaxComponents: maxA}
			if err := ref.FitFolds(baseline.ByFold(per)); err != nil {
				t.Fatal(err)
			}
			a, e, fit, all, err := plsCV(clients, k, maxA, keep)
			if err != nil {
				t.Fatal(err)
			}
			_, want := ref.Rotations.Dims()
			if a != want {
				t.Fatalf("%d components chosen, baseline %d (CV %v)", a, want, ref.CVMSE)
			}
			if got := ref.CVMSE[want-1]; math.Abs(e-got) > 1e-9*got {
				t.Fatalf("CV MSE %v, baseline %v", e, got)
			}
			coef, b0 := fit.coef(all)
			for i, j := range colsOr(tc.cols, p) {
				if d := math.Abs(coef.At(j, 0) - ref.Coef.At(i, 0)); d > 1e-9 {
					t.Fatalf("coefficient %d: %v, baseline %v", j, coef.At(j, 0), ref.Coef.At(i, 0))
				}
			}
			for j := range p {
				if keep != nil && !keep[j] && coef.At(j, 0) != 0 {
					t.Fatalf("column %d outside the subset has coefficient %v", j, coef.At(j, 0))
				}
			}
			if math.Abs(b0[0]-ref.Intercept[0]) > 1e-9 {
				t.Fatalf("intercept %v, baseline %v", b0[0], ref.Intercept[0])
			}
		})
	}
}

func colsOr(cols []int, p int) []int {
	if cols != nil {
		return cols
	}
	out := make([]int, p)
	for j := range out {
		out[j] = j
	}
	return out
}

// TestMeanCandidate checks the candidate without inputs — each fold
// predicted by the mean of the other folds' responses — against that
// computed directly, and that a fit limited to it predicts the mean.
func TestMeanCandidate(t *testing.T) {
	clients := linearClients(20, 5, 4, 3)
	a, e, fit, all, err := plsCV(clients, 4, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	var sse float64
	var n int
	for f := range 4 {
		var sum float64
		var cnt int
		for _, c := range clients {
			for i, fi := range c.fold {
				if fi != f {
					sum += c.y.At(i, 0)
					cnt++
				}
			}
		}
		for _, c := range clients {
			for i, fi := range c.fold {
				if fi == f {
					d := c.y.At(i, 0) - sum/float64(cnt)
					sse += d * d
					n++
				}
			}
		}
	}
	if a != 0 || math.Abs(e-sse/float64(n)) > 1e-12 {
		t.Fatalf("%d components, CV MSE %v; want 0 and %v", a, e, sse/float64(n))
	}
	coef, b0 := fit.coef(all)
	if mat.Norm(coef, 2) != 0 || math.Abs(b0[0]-all.my[0]) > 1e-12 {
		t.Fatalf("the mean model has coefficients of norm %v and intercept %v (mean %v)", mat.Norm(coef, 2), b0[0], all.my[0])
	}
}
