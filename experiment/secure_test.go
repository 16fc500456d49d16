package experiment

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
)

// TestSecureClientStats checks that the study's statistics merged under
// secure aggregation give the federated baselines the fit they get from
// the plain merge.
func TestSecureClientStats(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var raw []rawClient
	for _, n := range []int{20, 31, 25} {
		x := mat.NewDense(n, 6, nil)
		y := make([]float64, n)
		for i := range n {
			for j := range 6 {
				x.Set(i, j, 0.5+r.NormFloat64()*0.1+float64(j))
			}
			y[i] = 2*x.At(i, 0) - x.At(i, 3) + 0.05*r.NormFloat64()
		}
		raw = append(raw, rawClient{train: []*mat.Dense{x}, yTrain: y})
	}
	u := Unit{Experiment: "t", Task: "y", Split: "iid", Seed: 1}
	plain, err := newClientStats(u, raw, false)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := newClientStats(u, raw, true)
	if err != nil {
		t.Fatal(err)
	}
	a, b := &baseline.Ridge{Alphas: baseline.LogSpace(-3, 2, 6)}, &baseline.Ridge{Alphas: baseline.LogSpace(-3, 2, 6)}
	if err := a.FitFolds(plain.folds); err != nil {
		t.Fatal(err)
	}
	if err := b.FitFolds(sec.folds); err != nil {
		t.Fatal(err)
	}
	var d mat.Dense
	d.Sub(a.Coef, b.Coef)
	if a.AlphaUsed != b.AlphaUsed || mat.Norm(&d, 2) > 1e-10*mat.Norm(a.Coef, 2) {
		t.Fatalf("α %v vs %v, coefficients differ by %g", a.AlphaUsed, b.AlphaUsed, mat.Norm(&d, 2))
	}
	if sec.total.N != plain.total.N {
		t.Fatalf("N %d vs %d", sec.total.N, plain.total.N)
	}
}
