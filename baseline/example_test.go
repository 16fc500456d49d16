package baseline_test

import (
	"fmt"

	"github.com/fdrmfl/fdrmfl/baseline"
	"gonum.org/v1/gonum/mat"
)

// PCA keeps the fewest components that explain more than 90 % of the
// variance, fitted on training rows and applied to new ones. (sklearn gives
// the same numbers, with the opposite sign: its sign convention differs.)
func ExamplePCA() {
	train := mat.NewDense(6, 3, []float64{
		2.5, 2.4, 1.0,
		0.5, 0.7, 1.1,
		2.2, 2.9, 0.9,
		1.9, 2.2, 1.0,
		3.1, 3.0, 1.2,
		2.3, 2.7, 0.8,
	})
	pca := baseline.PCA{Variance: 0.90}
	if err := pca.Fit(train); err != nil {
		panic(err)
	}
	_, k := pca.Basis.Dims()
	fmt.Printf("components: %d, explained: %.3f\n", k, pca.Ratios)
	z, _ := pca.Transform(mat.NewDense(1, 3, []float64{2.0, 2.0, 1.0}))
	fmt.Printf("scores of a new row: %.3f\n", mat.Row(nil, 0, z))
	// Output:
	// components: 1, explained: [0.956]
	// scores of a new row: [-0.280]
}

// Federated ridge: each client reduces its rows to sufficient statistics,
// the server merges them and solves; the result is the pooled fit
// (sklearn's Ridge(alpha=1) on the nine rows gives the same numbers).
func ExampleRidge_FitStats() {
	// Three clients with y = 1 + 2·x1 − x2 (+ small noise), uneven sizes.
	clients := [][][3]float64{ // rows of (x1, x2, y)
		{{0, 0, 1.0}, {1, 0, 3.1}},
		{{0, 1, 0.0}, {1, 1, 1.9}, {2, 1, 4.0}},
		{{2, 0, 5.0}, {3, 2, 5.1}, {1, 2, 0.9}, {0, 3, -2.0}},
	}
	var all []*baseline.SuffStats
	for _, rows := range clients {
		x := mat.NewDense(len(rows), 2, nil)
		y := mat.NewDense(len(rows), 1, nil)
		for i, r := range rows {
			x.SetRow(i, r[:2])
			y.Set(i, 0, r[2])
		}
		s, err := baseline.NewSuffStats(x, y) // on the client
		if err != nil {
			panic(err)
		}
		all = append(all, s) // only s is sent
	}
	merged, err := baseline.MergeStats(all...) // on the server
	if err != nil {
		panic(err)
	}
	r := baseline.Ridge{Alpha: 1}
	if err := r.FitStats(merged); err != nil {
		panic(err)
	}
	fmt.Printf("n = %d, intercept %.4f, coefficients %.4f\n", merged.N, r.Intercept[0], mat.Col(nil, 0, r.Coef))
	// Output:
	// n = 9, intercept 1.1023, coefficients [1.8190 -0.9110]
}
