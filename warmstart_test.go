package fdrmfl

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
)

// TestWarmStartTriesTheElasticNetOnWideData: on 300 inputs (more than
// ridge's statsInputs) of which three carry a response, the warm start's
// cross-validation picks the elastic net — whose path stops early — over
// PLS, and its CV error is near the noise's variance.
func TestWarmStartTriesTheElasticNetOnWideData(t *testing.T) {
	const p, n = 300, 60
	r := rand.New(rand.NewPCG(9, 1))
	var clients []*linearClient
	for k := range 3 {
		x, y := mat.NewDense(n, p, nil), mat.NewDense(n, 1, nil)
		for i := range n {
			for j := range p {
				x.Set(i, j, r.NormFloat64())
			}
			y.Set(i, 0, 2*x.At(i, 0)-1.5*x.At(i, 1)+x.At(i, 2)+0.1*r.NormFloat64())
		}
		clients = append(clients, &linearClient{x: x, y: y, fold: baseline.KFold(n, 5, uint64(k))})
	}
	_, choice, err := fitLinear(Init{From: "linear"}, clients, []int{p}, 4)
	if err != nil {
		t.Fatal(err)
	}
	if choice.Model != "enet" || !(choice.CVMSE < 0.05) {
		t.Fatalf("chose %+v: want the elastic net, with a CV error near the noise's 0.01", choice)
	}
	t.Logf("%+v", choice)
}

func TestMinOfSkipsNaN(t *testing.T) {
	for _, c := range []struct {
		v    []float64
		want float64
	}{
		{[]float64{3, 1, 2}, 1},
		{[]float64{3, 1, math.NaN(), math.NaN()}, 1},
		{[]float64{math.NaN()}, math.Inf(1)},
		{nil, math.Inf(1)},
	} {
		if got := minOf(c.v); got != c.want {
			t.Errorf("minOf(%v) = %v, want %v", c.v, got, c.want)
		}
	}
}
