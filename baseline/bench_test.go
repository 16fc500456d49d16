package baseline

import (
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// spectra makes n rows of p smooth, offset, correlated columns (like NIR
// spectra) and a response driven by 4 latent factors.
func spectra(n, p int, seed uint64) (*mat.Dense, []float64) {
	rng := rand.New(rand.NewPCG(seed, 1))
	lat := randDense(rng, n, 4)
	x := mat.NewDense(n, p, nil)
	for i := range n {
		for j := range p {
			t := float64(j) / float64(p)
			v := 0.5 + 0.2*t
			for k := range 4 {
				v += 0.05 * lat.At(i, k) * float64(k+1) * t * (1 - t) * float64((j/(p/(k+2)+1))%2*2-1)
			}
			x.Set(i, j, v+0.002*rng.NormFloat64())
		}
	}
	y := make([]float64, n)
	for i := range y {
		y[i] = 10 + lat.At(i, 0) - 0.5*lat.At(i, 1) + 0.3*lat.At(i, 3) + 0.05*rng.NormFloat64()
	}
	return x, y
}

// BenchmarkPLSCV fits PLS with its component count chosen by 5-fold CV up
// to 10 components on 64 spectra of 700 channels (a corn training split).
func BenchmarkPLSCV(b *testing.B) {
	x, y := spectra(64, 700, 1)
	for b.Loop() {
		m := PLS{MaxComponents: 10}
		if err := m.Fit(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRidgeLOO chooses α among 13 by exact LOO on 64×700.
func BenchmarkRidgeLOO(b *testing.B) {
	x, y := spectra(64, 700, 1)
	for b.Loop() {
		m := Ridge{Alphas: LogSpace(-3, 3, 13), Standardize: true}
		if err := m.Fit(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRidgeFit fits ridge at a fixed α on 666×834 (the simulation's
// PCA features), the downstream-regressor case.
func BenchmarkRidgeFit(b *testing.B) {
	x := randDense(rand.New(rand.NewPCG(2, 2)), 666, 834)
	y := mat.Col(nil, 0, randDense(rand.New(rand.NewPCG(3, 3)), 666, 1))
	for b.Loop() {
		m := Ridge{Alpha: 10, Standardize: true}
		if err := m.Fit(x, y); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPCA fits the 0.90-variance PCA on 666×834.
func BenchmarkPCA(b *testing.B) {
	x := randDense(rand.New(rand.NewPCG(2, 2)), 666, 834)
	for b.Loop() {
		m := PCA{Standardize: true}
		if err := m.Fit(x); err != nil {
			b.Fatal(err)
		}
	}
}

// fedSetup splits 64 spectra over three uneven clients and returns their
// statistics and their within-client 5-fold statistics.
func fedSetup(b *testing.B) (stats []*SuffStats, folds [][]*SuffStats) {
	x, y := spectra(64, 700, 4)
	ym := mat.NewDense(64, 1, y)
	var clients [][]*SuffStats
	start := 0
	for c, size := range []int{12, 20, 32} {
		idx := make([]int, size)
		for i := range idx {
			idx[i] = start + i
		}
		xc, yc := rows(x, idx), rows(ym, idx)
		s, err := NewSuffStats(xc, yc)
		if err != nil {
			b.Fatal(err)
		}
		stats = append(stats, s)
		fs, err := FoldStats(xc, yc, KFold(size, 5, uint64(c)))
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, fs)
		start += size
	}
	return stats, ByFold(clients)
}

// BenchmarkClientStats is one client's work: statistics of 32×700 rows.
func BenchmarkClientStats(b *testing.B) {
	x, y := spectra(32, 700, 4)
	ym := mat.NewDense(32, 1, y)
	for b.Loop() {
		if _, err := NewSuffStats(x, ym); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFedRidge is the server's work for a fixed α: merge three
// clients' 700-column statistics and solve.
func BenchmarkFedRidge(b *testing.B) {
	stats, _ := fedSetup(b)
	for b.Loop() {
		merged, err := MergeStats(stats...)
		if err != nil {
			b.Fatal(err)
		}
		r := Ridge{Alpha: 1, Standardize: true}
		if err := r.FitStats(merged); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFedRidgeFolds chooses α among 13 by within-client 5-fold CV
// over statistics (5 eigendecompositions of 700×700) and refits.
func BenchmarkFedRidgeFolds(b *testing.B) {
	_, folds := fedSetup(b)
	for b.Loop() {
		r := Ridge{Alphas: LogSpace(-3, 3, 13), Standardize: true}
		if err := r.FitFolds(folds); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFedPLS merges three clients' statistics and runs kernel PLS
// with 10 components.
func BenchmarkFedPLS(b *testing.B) {
	stats, _ := fedSetup(b)
	for b.Loop() {
		merged, err := MergeStats(stats...)
		if err != nil {
			b.Fatal(err)
		}
		m := PLS{Components: 10}
		if err := m.FitStats(merged); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkFedPLSFolds chooses the PLS component count (≤ 10) by
// within-client 5-fold CV over statistics and refits.
func BenchmarkFedPLSFolds(b *testing.B) {
	_, folds := fedSetup(b)
	for b.Loop() {
		m := PLS{MaxComponents: 10}
		if err := m.FitFolds(folds); err != nil {
			b.Fatal(err)
		}
	}
}

// clientFolds splits rows among three clients, each making 5 folds, as
// the study does.
func clientFolds(b *testing.B, x *mat.Dense, y []float64) [][]*SuffStats {
	n, _ := x.Dims()
	var clients [][]*SuffStats
	for c := range 3 {
		var idx []int
		for i := c; i < n; i += 3 {
			idx = append(idx, i)
		}
		fs, err := FoldStats(rows(x, idx), mat.NewDense(len(idx), 1, pick(y, idx)), KFold(len(idx), 5, uint64(c)))
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, fs)
	}
	return ByFold(clients)
}

// BenchmarkFedBaselines2100 runs the federated baselines of a corn P2
// repetition — 64 training spectra of 3 × 700 channels held by three
// clients, 5 folds each — from the clients' statistics (held as factors)
// to the final fit. These synthetic spectra are near-exactly of rank 4,
// which makes the elastic net's path long (a few hundred nonzeros at
// ρ = 0.9); on the real corn spectra it costs about a quarter of this.
func BenchmarkFedBaselines2100(b *testing.B) {
	x, y := spectra(64, 2100, 3)
	b.Run("stats", func(b *testing.B) {
		for b.Loop() {
			clientFolds(b, x, y)
		}
	})
	folds := clientFolds(b, x, y)
	total, err := checkFolds("bench", folds)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("pls-30", func(b *testing.B) {
		for b.Loop() {
			m := PLS{MaxComponents: 30}
			if err := m.FitFolds(folds); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ridge-gcv", func(b *testing.B) {
		for b.Loop() {
			var m Ridge
			if err := m.FitGCV(total); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("enet-50x2", func(b *testing.B) {
		for b.Loop() {
			m := ElasticNet{NAlphas: 50, L1Ratios: []float64{0.9, 1}}
			if err := m.FitFolds(folds); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("blockpls-3", func(b *testing.B) {
		for b.Loop() {
			m := BlockPLS{Blocks: []Block{{"a", 0, 700}, {"b", 700, 1400}, {"c", 1400, 2100}}}
			if err := m.FitFolds(folds); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("ridge-folds-reference", func(b *testing.B) {
		// What the study ran before: α among 6 by 2-fold CV, a p×p
		// factorisation per candidate and fold.
		denseOnly = true
		defer func() { denseOnly = false }()
		f2 := clientFoldsK(b, x, y, 2)
		b.ResetTimer()
		for b.Loop() {
			m := Ridge{Alphas: LogSpace(-1, 4, 6)}
			if err := m.FitFolds(f2); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func clientFoldsK(b *testing.B, x *mat.Dense, y []float64, k int) [][]*SuffStats {
	n, _ := x.Dims()
	var clients [][]*SuffStats
	for c := range 3 {
		var idx []int
		for i := c; i < n; i += 3 {
			idx = append(idx, i)
		}
		fs, err := FoldStats(rows(x, idx), mat.NewDense(len(idx), 1, pick(y, idx)), KFold(len(idx), k, uint64(c)))
		if err != nil {
			b.Fatal(err)
		}
		clients = append(clients, fs)
	}
	return ByFold(clients)
}
