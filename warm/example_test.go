package warm_test

import (
	"fmt"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/warm"
)

// ExampleInit fits PLS on the summed statistics of some rows and starts a
// network of one spectrum-like modality where PLS is: the network's first
// prediction is PLS's.
func ExampleInit() {
	r := rand.New(rand.NewPCG(1, 1))
	n, p := 30, 6
	x, y := mat.NewDense(n, p, nil), mat.NewDense(n, 1, nil)
	for i := range n {
		for j := range p {
			x.Set(i, j, r.NormFloat64())
		}
		y.Set(i, 0, 2*x.At(i, 0)-x.At(i, 3))
	}
	stats, _ := baseline.NewSuffStats(x, y)
	pls := &baseline.PLS{Components: 2}
	if err := pls.FitStats(stats); err != nil {
		fmt.Println(err)
		return
	}
	lin, _ := warm.FromStats(stats, []int{p}, pls.Coef, pls.Intercept, pls.Rotations)
	net, _ := model.New[float64](model.Config{
		Latent: 4, Features: 2,
		Fusion: model.Fusion{Hidden: []int{8}}, Head: model.Head{Hidden: []int{4}},
		Modalities: []model.Modality{{Name: "spectrum", Shape: []int{p}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}}},
	}, rand.New(rand.NewPCG(2, 2)))
	carried, err := warm.Init(net, lin)
	if err != nil {
		fmt.Println(err)
		return
	}
	row := x.RawRowView(0)
	out := net.Forward(ag.NewTape[float64](), model.Input[float64]{N: 1, X: []*ag.Var[float64]{ag.Const(row, 1, p)}})
	plsPred, _ := pls.Predict(mat.NewDense(1, p, row))
	fmt.Printf("directions carried: %d\nnetwork %.6f, PLS %.6f\n", carried, out.Pred.Data()[0], plsPred[0])
	// Output:
	// directions carried: 2
	// network 0.614832, PLS 0.614832
}
