package forest_test

import (
	"fmt"
	"math"

	"github.com/fdrmfl/fdrmfl/baseline/forest"
	"gonum.org/v1/gonum/mat"
)

// A forest learns a step and a curve from 200 rows; the same Seed gives
// the same forest at any parallelism.
func ExampleForest() {
	n := 200
	x := mat.NewDense(n, 2, nil)
	y := make([]float64, n)
	for i := range n {
		a, b := float64(i%20)/20, float64(i/20)/10 // a grid on [0,1)²
		x.SetRow(i, []float64{a, b})
		y[i] = math.Sin(2*math.Pi*a) + 2*b*b
		if a > 0.5 {
			y[i]++
		}
	}
	f := forest.Forest{Trees: 50, Seed: 1}
	if err := f.Fit(x, y); err != nil {
		panic(err)
	}
	pred, err := f.Predict(mat.NewDense(2, 2, []float64{0.25, 0.5, 0.75, 0.5}))
	if err != nil {
		panic(err)
	}
	fmt.Printf("f(0.25, 0.5) ≈ %.1f (true %.1f)\n", pred[0], 1+0.5)
	fmt.Printf("f(0.75, 0.5) ≈ %.1f (true %.1f)\n", pred[1], -1+0.5+1)
	// Output:
	// f(0.25, 0.5) ≈ 1.5 (true 1.5)
	// f(0.75, 0.5) ≈ 0.5 (true 0.5)
}
