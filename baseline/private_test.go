package baseline

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

func TestClipRowsAndSensitivity(t *testing.T) {
	x := mat.NewDense(2, 2, []float64{3, 4, 0.3, 0.4})
	y := mat.NewDense(2, 1, []float64{-5, 0.5})
	ClipRows(x, y, 1, 2)
	if n := math.Hypot(x.At(0, 0), x.At(0, 1)); math.Abs(n-1) > 1e-12 || x.At(1, 0) != 0.3 || y.At(0, 0) != -2 || y.At(1, 0) != 0.5 {
		t.Fatalf("clipped to %v, %v", mat.Formatted(x), mat.Formatted(y))
	}
	// One row's contribution, measured, is within the sensitivity.
	row := []float64{0.6, 0.8}
	yv := 2.0
	var s2 float64 = 1 + 1 + yv*yv
	for _, a := range row {
		for _, b := range row {
			s2 += a * a * b * b
		}
		s2 += a * a * yv * yv
	}
	s2 += yv * yv * yv * yv
	if got, want := math.Sqrt(s2), StatsSensitivity(1, 2); math.Abs(got-want) > 1e-12 {
		t.Fatalf("a row at the bounds contributes %v, the sensitivity is %v", got, want)
	}
}

// TestGaussianStatsNoise checks that the released statistics carry noise
// of the stated scale around the true ones and that little noise leaves
// a ridge fit as it was.
func TestGaussianStatsNoise(t *testing.T) {
	_, _, stats := clientData(t, 5, uneven, 6, 1)
	s, err := MergeStats(stats...)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(1, 1))
	const reps = 2000
	// The count's noise: std σ·Δ, plus rounding to a whole count (1/12).
	var d2 float64
	for range reps {
		d := float64(GaussianStats(s, 0.5, 1, 1, r).N - s.N)
		d2 += d * d
	}
	want := math.Sqrt(math.Pow(0.5*StatsSensitivity(1, 1), 2) + 1.0/12)
	if sd := math.Sqrt(d2 / reps); math.Abs(sd/want-1) > 0.1 {
		t.Fatalf("count noise sd %v, want %v", sd, want)
	}
	a, b := &Ridge{Alpha: 1, Standardize: true}, &Ridge{Alpha: 1, Standardize: true}
	if err := a.FitStats(s); err != nil {
		t.Fatal(err)
	}
	if err := b.FitStats(GaussianStats(s, 1e-9, 1, 1, r)); err != nil {
		t.Fatal(err)
	}
	if d := relDiff(a.Coef, b.Coef); d > 1e-3 {
		t.Fatalf("negligible noise moved the ridge fit by %g", d)
	}
}

func TestGaussianCentredStats(t *testing.T) {
	_, _, stats := clientData(t, 6, uneven, 5, 1)
	s, _ := MergeStats(stats...)
	g := GaussianCentredStats(s, 1e-12, 1, 1, rand.New(rand.NewPCG(2, 2)))
	// With no noise to speak of, the release is the raw second moments about zero.
	want := s.Sxx.At(1, 2) + float64(s.N)*s.MeanX[1]*s.MeanX[2]
	if math.Abs(g.Sxx.At(1, 2)-want) > 1e-6*math.Abs(want) || g.MeanX[0] != 0 || g.N != s.N {
		t.Fatalf("Sxx[1,2] %v, want %v; means %v; N %d", g.Sxx.At(1, 2), want, g.MeanX, g.N)
	}
	if CentredSensitivity(1, 1) >= StatsSensitivity(1, 1) {
		t.Fatal("releasing no means should lower the sensitivity")
	}
}
