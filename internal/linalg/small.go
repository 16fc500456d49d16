package linalg

import (
	"math"
	"sort"

	"gonum.org/v1/gonum/mat"
)

// orthonormalize makes the b columns of the p×b row-major v orthonormal
// (modified Gram–Schmidt, twice for stability).
func orthonormalize(v []float64, p, b int) {
	for range 2 {
		for j := range b {
			for k := range j {
				var d float64
				for i := range p {
					d += v[i*b+j] * v[i*b+k]
				}
				for i := range p {
					v[i*b+j] -= d * v[i*b+k]
				}
			}
			var n float64
			for i := range p {
				n += v[i*b+j] * v[i*b+j]
			}
			n = math.Sqrt(n)
			if n == 0 {
				continue
			}
			for i := range p {
				v[i*b+j] /= n
			}
		}
	}
}

// ritz returns the eigenvalues (descending) of H = VᵀW, with W = A·V, and
// its eigenvectors as a b×b row-major rotation.
func ritz(v, w []float64, p, b int) ([]float64, []float64) {
	h := mat.NewSymDense(b, nil)
	for j := range b {
		for k := j; k < b; k++ {
			var s float64
			for i := range p {
				s += v[i*b+j] * w[i*b+k]
			}
			h.SetSym(j, k, s)
		}
	}
	var e mat.EigenSym
	e.Factorize(h, true)
	vals := e.Values(nil)
	var vec mat.Dense
	e.VectorsTo(&vec)
	order := make([]int, b)
	for i := range order {
		order[i] = i
	}
	sort.Slice(order, func(x, y int) bool { return vals[order[x]] > vals[order[y]] })
	outVals := make([]float64, b)
	rot := make([]float64, b*b)
	for c, o := range order {
		outVals[c] = max(vals[o], 0)
		for r := range b {
			rot[r*b+c] = vec.At(r, o)
		}
	}
	return outVals, rot
}

// mulSmall returns V·R for the p×b V and b×b R.
func mulSmall(v, r []float64, p, b int) []float64 {
	out := make([]float64, p*b)
	for i := range p {
		for k := range b {
			x := v[i*b+k]
			if x == 0 {
				continue
			}
			for j := range b {
				out[i*b+j] += x * r[k*b+j]
			}
		}
	}
	return out
}

// keepCols returns the first k columns of the p×b v.
func keepCols(v []float64, p, b, k int) []float64 {
	out := make([]float64, p*k)
	for i := range p {
		copy(out[i*k:(i+1)*k], v[i*b:i*b+k])
	}
	return out
}

// rng is a small deterministic normal generator (splitmix64 and Box–Muller).
type rng struct {
	s     uint64
	spare float64
	has   bool
}

func newRand(seed uint64) *rng { return &rng{s: seed*0x9e3779b97f4a7c15 + 1} }

func (r *rng) next() float64 {
	r.s += 0x9e3779b97f4a7c15
	z := r.s
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return (float64(z>>11) + 0.5) / (1 << 53)
}

func (r *rng) norm() float64 {
	if r.has {
		r.has = false
		return r.spare
	}
	u, v := r.next(), r.next()
	m := math.Sqrt(-2 * math.Log(u))
	r.spare, r.has = m*math.Sin(2*math.Pi*v), true
	return m * math.Cos(2*math.Pi*v)
}
