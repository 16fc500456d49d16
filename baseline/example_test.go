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

// The federated lasso: each client splits its rows into folds and sends
// one set of statistics per fold; the server chooses α along the path by
// cross-validation over the folds and fits on everything. Here y depends
// on 2 of 8 inputs (coefficients 3 and −2), which the lasso keeps, shrunk
// a little by the penalty; the other six are exactly zero.
func ExampleElasticNet_FitFolds() {
	var clients [][]*baseline.SuffStats
	for c := range 3 {
		n := 30
		x := mat.NewDense(n, 8, nil)
		y := mat.NewDense(n, 1, nil)
		for i := range n {
			for j := range 8 {
				x.Set(i, j, float64((i*7+j*13+c*5)%17)-8) // deterministic spread
			}
			y.Set(i, 0, 3*x.At(i, 1)-2*x.At(i, 5)+0.01*float64(i%3))
		}
		fs, err := baseline.FoldStats(x, y, baseline.KFold(n, 5, uint64(c))) // on the client
		if err != nil {
			panic(err)
		}
		clients = append(clients, fs)
	}
	lasso := baseline.ElasticNet{NAlphas: 30} // on the server
	if err := lasso.FitFolds(baseline.ByFold(clients)); err != nil {
		panic(err)
	}
	fmt.Printf("coefficients %.2f\n", mat.Col(nil, 0, lasso.Coef))
	// Output:
	// coefficients [0.00 2.95 0.00 0.00 0.00 -1.95 0.00 0.00]
}

// Ridge's α by generalised cross-validation from the merged statistics
// alone: one eigendecomposition scores a fine grid of penalties.
func ExampleRidge_FitGCV() {
	x := mat.NewDense(12, 3, nil)
	y := mat.NewDense(12, 1, nil)
	for i := range 12 {
		a, b := float64(i%4), float64(i/4)
		x.SetRow(i, []float64{a, b, a + b + 0.1*float64(i%2)})
		y.Set(i, 0, 1+a-b+0.05*float64(i%3))
	}
	s, err := baseline.NewSuffStats(x, y)
	if err != nil {
		panic(err)
	}
	var r baseline.Ridge
	if err := r.FitGCV(s); err != nil {
		panic(err)
	}
	pred, _ := r.Predict(mat.NewDense(1, 3, []float64{2, 1, 3}))
	fmt.Printf("%d penalties scored; prediction at (2, 1, 3): %.2f\n", len(r.AlphaGrid), pred[0])
	// Output:
	// 81 penalties scored; prediction at (2, 1, 3): 2.05
}
