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
	p := 0
	for _, d := range dims {
		p += d
	}
	if s == nil || s.N < 1 || len(s.MeanX) != p {
		return nil, fmt.Errorf("warm: statistics of %v columns for modalities of %d inputs", statsCols(s), p)
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
	n := float64(s.N)
	for _, w := range cols {
		d := Direction{W: make([][]float64, len(dims)), PartSD: make([]float64, len(dims))}
		v := mat.NewVecDense(p, w)
		var sv mat.VecDense
		sv.MulVec(s.Sxx, v)
		d.SD = math.Sqrt(math.Max(mat.Dot(v, &sv), 0) / n)
		off := 0
		for m, dm := range dims {
			part := w[off : off+dm]
			if nonzero(part) {
				d.W[m] = append([]float64(nil), part...)
				block := s.Sxx.SliceSym(off, off+dm).(*mat.SymDense)
				pv := mat.NewVecDense(dm, d.W[m])
				var bp mat.VecDense
				bp.MulVec(block, pv)
				d.PartSD[m] = math.Sqrt(math.Max(mat.Dot(pv, &bp), 0) / n)
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

func statsCols(s *baseline.SuffStats) int {
	if s == nil {
		return 0
	}
	return len(s.MeanX)
}
