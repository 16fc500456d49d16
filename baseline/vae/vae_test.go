package vae

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestVAELearnsALowDimensionalStructure fits data that lie near a 2-D
// plane in 20 dimensions: the reconstruction loss must fall well below
// the data's variance, and the latent means must carry the plane's
// coordinates (a linear fit from μ recovers them).
func TestVAELearnsALowDimensionalStructure(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n, p := 400, 20
	basis := make([]float64, 2*p)
	for i := range basis {
		basis[i] = r.NormFloat64()
	}
	x := make([]float32, n*p)
	coord := make([]float64, n)
	for i := range n {
		a, b := r.NormFloat64(), r.NormFloat64()
		coord[i] = a
		for j := range p {
			x[i*p+j] = float32(a*basis[j]+b*basis[p+j]) * 0.5
		}
	}
	v, err := Fit(x, n, p, Config{Latent: 4, Hidden: []int{32}, Epochs: 60, Batch: 32, LR: 3e-3}, 7)
	if err != nil {
		t.Fatal(err)
	}
	var varX float64
	for _, f := range x {
		varX += float64(f) * float64(f)
	}
	varX /= float64(len(x))
	if v.LastRecon > 0.6*varX {
		t.Fatalf("final reconstruction error %.3f, data variance %.3f: the VAE did not learn", v.LastRecon, varX)
	}
	mu, err := v.Encode(x, n)
	if err != nil {
		t.Fatal(err)
	}
	// Best single latent coordinate's squared correlation with a.
	best := 0.0
	for k := range 4 {
		var sx, sy, sxx, syy, sxy float64
		for i := range n {
			a, b := float64(mu[i*4+k]), coord[i]
			sx, sy, sxx, syy, sxy = sx+a, sy+b, sxx+a*a, syy+b*b, sxy+a*b
		}
		fn := float64(n)
		c := (sxy - sx*sy/fn) / math.Sqrt((sxx-sx*sx/fn)*(syy-sy*sy/fn))
		best = max(best, c*c)
	}
	if best < 0.3 {
		t.Fatalf("no latent coordinate tracks the data's first coordinate (best r² %.3f)", best)
	}
}

func TestSameSeedSameFeatures(t *testing.T) {
	x := make([]float32, 50*6)
	for i := range x {
		x[i] = float32(i%7) - 3
	}
	a, _ := Fit(x, 50, 6, Config{Epochs: 3, Batch: 16}, 1)
	b, _ := Fit(x, 50, 6, Config{Epochs: 3, Batch: 16}, 1)
	ma, _ := a.Encode(x, 50)
	mb, _ := b.Encode(x, 50)
	for i := range ma {
		if ma[i] != mb[i] {
			t.Fatal("same seed, different features")
		}
	}
	if _, err := Fit(x, 49, 6, Config{}, 1); err == nil {
		t.Fatal("a bad shape was accepted")
	}
}
