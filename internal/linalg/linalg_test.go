package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestCholeskySolveRefinesToFloat64(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, p := range []int{1, 5, 97, 200, 301} {
		n := p/2 + 3 // rank-deficient cross-product: the shift makes it definite
		x := make([]float64, n*p)
		for i := range x {
			x[i] = r.NormFloat64()
		}
		a := CrossProduct(x, n, p)
		// check the cross-product against float64
		for i := 0; i < p; i += max(1, p/7) {
			for j := 0; j < p; j += max(1, p/5) {
				var s float64
				for k := range n {
					s += x[k*p+i] * x[k*p+j]
				}
				if math.Abs(a[i*p+j]-s) > 1e-4*math.Sqrt(float64(n)) {
					t.Fatalf("p=%d: XᵀX[%d,%d] = %v, want %v", p, i, j, a[i*p+j], s)
				}
			}
		}
		b := make([]float64, p*2)
		for i := range b {
			b[i] = r.NormFloat64()
		}
		shift := 0.5
		c, err := Factor(a, p, shift)
		if err != nil {
			t.Fatal(err)
		}
		sol := c.Solve(a, shift, b, 2)
		for j := range 2 {
			var rn, bn float64
			for i := range p {
				s := b[i*2+j] - shift*sol[i*2+j]
				for k := range p {
					s -= a[i*p+k] * sol[k*2+j]
				}
				rn += s * s
				bn += b[i*2+j] * b[i*2+j]
			}
			if math.Sqrt(rn/bn) > 1e-10 {
				t.Fatalf("p=%d column %d: relative residual %.3g", p, j, math.Sqrt(rn/bn))
			}
		}
	}
	if _, err := Factor([]float64{-1}, 1, 0); err != ErrNotPositiveDefinite {
		t.Fatalf("a negative matrix factored: %v", err)
	}
}

// gram3604 is XᵀX of 1000 samples of 3604 standard normal inputs, the
// simulation's size, and its order.
func gram3604() ([]float64, int) {
	p, n := 3604, 1000
	r := rand.New(rand.NewPCG(1, 2))
	x := make([]float64, n*p)
	for i := range x {
		x[i] = r.NormFloat64()
	}
	return CrossProduct(x, n, p), p
}

func BenchmarkFactor3604(b *testing.B) {
	a, p := gram3604()
	rhs := make([]float64, p)
	for i := range rhs {
		rhs[i] = 1
	}
	b.ResetTimer()
	for range b.N {
		c, err := Factor(a, p, 10)
		if err != nil {
			b.Fatal(err)
		}
		c.Solve(a, 10, rhs, 1)
	}
}

// TestTopEigenMatchesFullDecomposition compares the leading pairs with
// gonum's full decomposition on a matrix with a decaying spectrum.
func TestTopEigenMatchesFullDecomposition(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	p, n := 120, 60
	x := make([]float64, n*p)
	for i := range n {
		for j := range p {
			x[i*p+j] = r.NormFloat64() * math.Exp(-float64(j)/15)
		}
	}
	a := CrossProduct(x, n, p)
	vals, vecs, ok := TopEigen(a, p, 0.9, p, 1)
	if !ok || len(vals) == 0 {
		t.Fatal("no eigenpairs")
	}
	var trace, sum float64
	for i := range p {
		trace += a[i*p+i]
	}
	for _, v := range vals {
		sum += v
	}
	if sum < 0.9*trace {
		t.Fatalf("eigenvalues sum to %.4g of trace %.4g", sum, trace)
	}
	k := len(vals)
	for c := range k { // A v = λ v
		var res, nv float64
		for i := range p {
			s := -vals[c] * vecs[i*k+c]
			for t := range p {
				s += a[i*p+t] * vecs[t*k+c]
			}
			res += s * s
			nv += vecs[i*k+c] * vecs[i*k+c]
		}
		if math.Sqrt(res) > 1e-6*vals[0] || math.Abs(nv-1) > 1e-9 {
			t.Fatalf("pair %d: residual %.3g, norm² %.6f", c, math.Sqrt(res), nv)
		}
	}
}

func BenchmarkFactorOnly3604(b *testing.B) {
	a, p := gram3604()
	b.ResetTimer()
	for range b.N {
		if _, err := Factor(a, p, 10); err != nil {
			b.Fatal(err)
		}
	}
}
