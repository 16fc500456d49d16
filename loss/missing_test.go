package loss_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/ag/agtest"
	"github.com/fdrmfl/fdrmfl/loss"
)

// A NaN target is a missing response: the terms that read y skip it.
func TestMissingResponses(t *testing.T) {
	nan := math.NaN()
	tests := []struct {
		name string
		f    func(tp *Tp) *V
		want float64
	}{
		// Observed: (1−1)² and (3−1)² → 4/2.
		{"MSE", func(tp *Tp) *V {
			return loss.MSE(tp, c(tp, []float64{1, 2, 3, 4}, 4, 1), c(tp, []float64{1, nan, 1, nan}, 4, 1))
		}, 2},
		// Two responses, three of four targets observed: (1 + 0 + 4)/3.
		{"MSETwoResponses", func(tp *Tp) *V {
			return loss.MSE(tp, c(tp, []float64{1, 2, 3, 4}, 2, 2), c(tp, []float64{0, 2, nan, 2}, 2, 2))
		}, 5.0 / 3},
		{"MSENothingObserved", func(tp *Tp) *V {
			return loss.MSE(tp, c(tp, []float64{1, 2}, 2, 1), c(tp, []float64{nan, nan}, 2, 1))
		}, 0},
		// Response 1 over all four samples, response 2 over the three that
		// have it: ρ₁ = 4/5 as in TestTermsOnHandWorkedValues, ρ₂ that of
		// u = (1, 2, 4) and y = (1, 3, 4).
		{"CorrelationMI", func(tp *Tp) *V {
			m := &loss.CorrelationMI[float64]{F: identity()}
			return m.Loss(tp, c(tp, []float64{1, 2, 3, 4}, 4, 1), c(tp, []float64{1, 1, 3, 3, 2, nan, 4, 4}, 4, 2))
		}, 0.5 * (-math.Log(4/(5+1e-8)) - math.Log(pearson([]float64{1, 2, 4}, []float64{1, 3, 4})))},
		// A response seen in fewer than 3 samples of the batch is left out.
		{"CorrelationMIOneResponseTooSparse", func(tp *Tp) *V {
			m := &loss.CorrelationMI[float64]{F: identity()}
			return m.Loss(tp, c(tp, []float64{1, 2, 3, 4}, 4, 1), c(tp, []float64{1, nan, 3, 5, 2, nan, 4, nan}, 4, 2))
		}, -math.Log(4 / (5 + 1e-8))},
		{"CorrelationMINothingObserved", func(tp *Tp) *V {
			m := &loss.CorrelationMI[float64]{F: identity()}
			return m.Loss(tp, c(tp, []float64{1, 2, 3, 4}, 4, 1), c(tp, []float64{nan, 1, nan, nan}, 4, 1))
		}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.f(ag.NewTape[float64]()).Item()
			if math.Abs(got-tt.want) > 1e-7*max(1, math.Abs(tt.want)) {
				t.Fatalf("got %.12g, want %.12g", got, tt.want)
			}
		})
	}
}

// pearson is the sample correlation, with the 1e-8 of ag.Pearson.
func pearson(a, b []float64) float64 {
	var ma, mb float64
	for i := range a {
		ma += a[i] / float64(len(a))
		mb += b[i] / float64(len(b))
	}
	var sab, saa, sbb float64
	for i := range a {
		sab += (a[i] - ma) * (b[i] - mb)
		saa += (a[i] - ma) * (a[i] - ma)
		sbb += (b[i] - mb) * (b[i] - mb)
	}
	return sab / (math.Sqrt(saa*sbb) + 1e-8)
}

// TestMissingResponseGradients checks the gradients of the terms with
// missing targets by finite differences, and that a missing target sends
// no gradient to its prediction.
func TestMissingResponseGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	nan := math.NaN()
	pred, z := agtest.Param(r, -1, 1, 6, 2), agtest.Param(r, -1, 1, 6, 4)
	y := []float64{0.5, nan, -1, 0.2, nan, nan, 0.3, 1, -0.7, 0.1, 0.9, nan}
	mi := loss.NewCorrelationMI[float64](4, 5, r)
	gmi := loss.NewGaussianMI[float64](4, r)
	for _, tc := range []struct {
		name string
		p    *V
		f    func(tp *Tp) *V
	}{
		{"MSE", pred, func(tp *Tp) *V { return loss.MSE(tp, pred, c(tp, y, 6, 2)) }},
		{"CorrelationMI", z, func(tp *Tp) *V { return mi.Loss(tp, z, c(tp, y, 6, 2)) }},
		{"GaussianMI", z, func(tp *Tp) *V { return gmi.Loss(tp, z, c(tp, y, 6, 2)) }},
	} {
		t.Run(tc.name, func(t *testing.T) { agtest.Gradients(t, tc.f, []*V{tc.p}, agtest.Options{}) })
	}
	tp := ag.NewTape[float64]()
	for i := range pred.Grad() {
		pred.Grad()[i] = 0
	}
	tp.Backward(loss.MSE(tp, pred, c(tp, y, 6, 2)))
	for i, g := range pred.Grad() {
		if math.IsNaN(y[i]) != (g == 0) {
			t.Errorf("prediction %d (target %v) has gradient %v", i, y[i], g)
		}
	}
}
