package optim

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamVectorMatchesScalar runs the vector kernel and the reference loop
// on the same long vectors; they differ only by the fused multiply-adds'
// single rounding.
func TestAdamVectorMatchesScalar(t *testing.T) {
	for _, decoupled := range []bool{false, true} {
		r := rand.New(rand.NewPCG(1, 2))
		n := 1003
		w, g := make([]float32, n), make([]float32, n)
		for i := range w {
			w[i], g[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		w2 := append([]float32(nil), w...)
		a := &Adam{Rate: 0.01, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.1, Decoupled: decoupled}
		m2, v2 := make([]float32, n), make([]float32, n)
		for step := 1; step <= 3; step++ {
			a.Step(w, g)
			bc1, bc2 := 1-math.Pow(0.9, float64(step)), 1-math.Pow(0.999, float64(step))
			c := adamConsts{b1: 0.9, omb1: 0.1, b2: 0.999, omb2: 0.001, step: float32(0.01 / bc1), invSqrtBC2: float32(1 / math.Sqrt(bc2)), eps: 1e-8, decay: 1}
			if decoupled {
				c.decay = float32(1 - 0.01*0.1)
			} else {
				c.wd = 0.1
			}
			adamScalar(w2, g, m2, v2, &c)
		}
		for i := range w {
			if d := math.Abs(float64(w[i] - w2[i])); d > 1e-6*max(1, math.Abs(float64(w2[i]))) {
				t.Fatalf("decoupled=%v element %d: vector %v, scalar %v", decoupled, i, w[i], w2[i])
			}
		}
	}
}

func BenchmarkAdamStep(b *testing.B) {
	n := 650_000 // the benchmark network's size
	w, g := make([]float32, n), make([]float32, n)
	for i := range g {
		g[i] = float32(i%7) - 3
	}
	a := NewAdam(1e-3)
	b.SetBytes(int64(16 * n))
	for range b.N {
		a.Step(w, g)
	}
}
