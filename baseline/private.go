package baseline

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// ClipRows scales each row of x to L2 norm at most bx and each row of y
// to at most by, in place: the bound on one record's contribution that
// the Gaussian mechanism on statistics needs (StatsSensitivity).
func ClipRows(x, y *mat.Dense, bx, by float64) {
	for _, c := range []struct {
		m *mat.Dense
		b float64
	}{{x, bx}, {y, by}} {
		r, _ := c.m.Dims()
		for i := range r {
			row := c.m.RawRowView(i)
			var s float64
			for _, v := range row {
				s += v * v
			}
			if n := math.Sqrt(s); n > c.b {
				for j := range row {
					row[j] *= c.b / n
				}
			}
		}
	}
}

// StatsSensitivity is the L2 sensitivity, to adding or removing one row
// with ‖x‖ ≤ bx and ‖y‖ ≤ by, of the raw sums (N, Σx, Σy, XᵀX, XᵀY, YᵀY)
// that a client's statistics hold: the norm of one row's contribution
// (1, x, y, xxᵀ, xyᵀ, yyᵀ), √(1 + bx² + by² + bx⁴ + bx²by² + by⁴).
func StatsSensitivity(bx, by float64) float64 {
	bx2, by2 := bx*bx, by*by
	return math.Sqrt(1 + bx2 + by2 + bx2*bx2 + bx2*by2 + by2*by2)
}

// GaussianStats releases merged statistics by the Gaussian mechanism:
// Gaussian noise of standard deviation noise·StatsSensitivity(bx, by) is
// added to each raw sum — the count, Σx, Σy and every entry of XᵀX, XᵀY
// and YᵀY (symmetrically) — and the result is centred again. The rows
// behind s must have been clipped (ClipRows) to bx and by. Released once
// (folds of disjoint rows count once, by parallel composition), it is
// the Gaussian mechanism of multiplier noise: privacy.Accountant's
// Compose(1, noise, 1). Noise can leave Sxx indefinite; ridge's penalty
// and PLS's few components cope with moderate noise.
func GaussianStats(s *SuffStats, noise, bx, by float64, r *rand.Rand) *SuffStats {
	std := noise * StatsSensitivity(bx, by)
	p, q := len(s.MeanX), len(s.MeanY)
	n := float64(s.N)
	nn := n + std*r.NormFloat64()
	if nn < 1 {
		nn = 1
	}
	sx, sy := make([]float64, p), make([]float64, q)
	for j := range p {
		sx[j] = n*s.MeanX[j] + std*r.NormFloat64()
	}
	for j := range q {
		sy[j] = n*s.MeanY[j] + std*r.NormFloat64()
	}
	out := &SuffStats{N: int(math.Round(nn)), MeanX: make([]float64, p), MeanY: make([]float64, q),
		Sxx: mat.NewSymDense(p, nil), Sxy: mat.NewDense(p, q, nil), Syy: mat.NewSymDense(q, nil)}
	for j := range p {
		out.MeanX[j] = sx[j] / nn
	}
	for j := range q {
		out.MeanY[j] = sy[j] / nn
	}
	// raw = centred + N·mean·meanᵀ, noised, then centred about the noisy means.
	for i := range p {
		for j := i; j < p; j++ {
			raw := s.Sxx.At(i, j) + n*s.MeanX[i]*s.MeanX[j] + std*r.NormFloat64()
			out.Sxx.SetSym(i, j, raw-nn*out.MeanX[i]*out.MeanX[j])
		}
		for j := range q {
			raw := s.Sxy.At(i, j) + n*s.MeanX[i]*s.MeanY[j] + std*r.NormFloat64()
			out.Sxy.Set(i, j, raw-nn*out.MeanX[i]*out.MeanY[j])
		}
	}
	for i := range q {
		for j := i; j < q; j++ {
			raw := s.Syy.At(i, j) + n*s.MeanY[i]*s.MeanY[j] + std*r.NormFloat64()
			out.Syy.SetSym(i, j, raw-nn*out.MeanY[i]*out.MeanY[j])
		}
	}
	return out
}

// CentredSensitivity is StatsSensitivity for data centred by a public
// standardisation, whose means are not released: one row's contribution
// (1, xxᵀ, xyᵀ, yyᵀ) has norm √(1 + bx⁴ + bx²by² + by⁴).
func CentredSensitivity(bx, by float64) float64 {
	bx2, by2 := bx*bx, by*by
	return math.Sqrt(1 + bx2*bx2 + bx2*by2 + by2*by2)
}

// GaussianCentredStats releases statistics of data whose pooled means are
// zero by a standardisation the clients already share (fdrmfl's pooled
// standardisation of the training data): only the count and the second
// moments get Gaussian noise of std noise·CentredSensitivity(bx, by), and
// the means are released as zero. No noisy mean is subtracted, which would
// add a large negative rank-one term to Sxx.
func GaussianCentredStats(s *SuffStats, noise, bx, by float64, r *rand.Rand) *SuffStats {
	std := noise * CentredSensitivity(bx, by)
	p, q := len(s.MeanX), len(s.MeanY)
	n := float64(s.N)
	out := &SuffStats{N: max(1, int(math.Round(n+std*r.NormFloat64()))), MeanX: make([]float64, p), MeanY: make([]float64, q),
		Sxx: mat.NewSymDense(p, nil), Sxy: mat.NewDense(p, q, nil), Syy: mat.NewSymDense(q, nil)}
	for i := range p {
		for j := i; j < p; j++ {
			out.Sxx.SetSym(i, j, s.Sxx.At(i, j)+n*s.MeanX[i]*s.MeanX[j]+std*r.NormFloat64())
		}
		for j := range q {
			out.Sxy.Set(i, j, s.Sxy.At(i, j)+n*s.MeanX[i]*s.MeanY[j]+std*r.NormFloat64())
		}
	}
	for i := range q {
		for j := i; j < q; j++ {
			out.Syy.SetSym(i, j, s.Syy.At(i, j)+n*s.MeanY[i]*s.MeanY[j]+std*r.NormFloat64())
		}
	}
	return out
}
