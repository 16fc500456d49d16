package forest

import (
	"fmt"
	"testing"
)

// The study's shapes: PCA features of the simulation (n ≈ 666, p ≈ 834),
// and small spectral or latent inputs (666×16, 60×128).
func BenchmarkFit(b *testing.B) {
	for _, c := range []struct {
		n, p int
		frac float64
	}{
		{666, 834, 0}, {666, 834, 1.0 / 3}, {666, 16, 0}, {60, 128, 0},
	} {
		x, y := friedman1(1, c.n, c.p)
		name := fmt.Sprintf("%dx%d", c.n, c.p)
		if c.frac > 0 {
			name += fmt.Sprintf("/frac=%.2f", c.frac)
		}
		b.Run(name, func(b *testing.B) {
			for b.Loop() {
				f := Forest{FeatureFraction: c.frac}
				if err := f.Fit(x, y); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkPredict(b *testing.B) {
	x, y := friedman1(1, 666, 834)
	var f Forest
	if err := f.Fit(x, y); err != nil {
		b.Fatal(err)
	}
	xt, _ := friedman1(2, 166, 834)
	for b.Loop() {
		if _, err := f.Predict(xt); err != nil {
			b.Fatal(err)
		}
	}
}
