package warm

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
)

// FromStats returns the Linear of a fitted linear model of all modalities
// side by side — coef (p×q, p = Σ dims) and intercept (q), predicting the
// standardised responses from the standardised inputs — with extra
// feature directions (the columns of extra, p×k; nil for none), taking
// the directions' spread from the pooled training statistics s (the
// statistics the model was fitted on). dims are the modalities' input
// sizes in the network's order.
func FromStats(s *baseline.SuffStats, dims []int, coef *mat.Dense, intercept []float64, extra *mat.Dense) (*Linear, error) {
	if s == nil || s.N < 1 || s.Sxx == nil {
		return nil, fmt.Errorf("warm: no statistics")
	}
	gram := func(v []float64) []float64 {
		var out mat.VecDense
		out.MulVec(s.Sxx, mat.NewVecDense(len(v), v))
		return out.RawVector().Data
	}
	return FromGram(s.N, len(s.MeanX), gram, dims, coef, intercept, extra)
}

// FromGram is FromStats with the centred cross-products of the n training
// rows (p inputs) given as an operator, gram(v) = Σ (x − x̄)(x − x̄)ᵀv,
// so that no p×p matrix need exist.
func FromGram(n, p int, gram func([]float64) []float64, dims []int, coef *mat.Dense, intercept []float64, extra *mat.Dense) (*Linear, error) {
	total := 0
	for _, d := range dims {
		total += d
	}
	if n < 1 || p != total {
		return nil, fmt.Errorf("warm: statistics of %d rows and %d columns for modalities of %d inputs", n, p, total)
	}
	r, q := coef.Dims()
	if r != p || len(intercept) != q {
		return nil, fmt.Errorf("warm: coefficients %d×%d and %d intercepts for %d inputs", r, q, len(intercept), p)
	}
	var cols [][]float64
	for k := range q {
		cols = append(cols, mat.Col(nil, k, coef))
	}
	if extra != nil {
		er, k := extra.Dims()
		if er != p {
			return nil, fmt.Errorf("warm: extra directions have %d rows for %d inputs", er, p)
		}
		for j := range k {
			cols = append(cols, mat.Col(nil, j, extra))
		}
	}
	lin := &Linear{Intercept: append([]float64(nil), intercept...)}
	spread := func(v []float64) float64 {
		g := gram(v)
		var s float64
		for i, x := range v {
			s += x * g[i]
		}
		return math.Sqrt(math.Max(s, 0) / float64(n))
	}
	for _, w := range cols {
		d := Direction{W: make([][]float64, len(dims)), PartSD: make([]float64, len(dims))}
		d.SD = spread(w)
		off := 0
		for m, dm := range dims {
			part := w[off : off+dm]
			if nonzero(part) {
				d.W[m] = append([]float64(nil), part...)
				only := make([]float64, p)
				copy(only[off:off+dm], part)
				d.PartSD[m] = spread(only)
			}
			off += dm
		}
		lin.Dirs = append(lin.Dirs, d)
	}
	return lin, nil
}

func nonzero(x []float64) bool {
	for _, v := range x {
		if v != 0 {
			return true
		}
	}
	return false
}
