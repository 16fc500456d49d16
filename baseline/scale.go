package baseline

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Scaler standardises columns with statistics of the training rows:
//
//	z_ij = (x_ij − Mean_j) / Scale_j,
//
// where Mean_j is the column mean and Scale_j the population standard
// deviation √(Σ_i (x_ij − Mean_j)² / n) (ddof = 0, as sklearn's
// StandardScaler). A column whose variance is zero up to rounding
// (var ≤ n·ε·var + (n·|mean|·ε)², sklearn's rule) gets Scale 1, so it maps
// to zeros instead of dividing by zero. The zero value is ready to Fit.
type Scaler struct {
	Mean, Scale []float64 // set by Fit; one entry per column
}

// Fit computes Mean and Scale from the rows of x.
func (s *Scaler) Fit(x *mat.Dense) error {
	if x == nil {
		return errorf("Scaler.Fit", "x is nil")
	}
	n, p := x.Dims()
	if n == 0 || p == 0 {
		return errorf("Scaler.Fit", "x is %d×%d", n, p)
	}
	s.Mean, s.Scale = columnScale(x, true)
	return nil
}

// Transform returns (x − Mean) / Scale column by column.
func (s *Scaler) Transform(x *mat.Dense) (*mat.Dense, error) {
	if err := checkCols("Scaler.Transform", x, len(s.Mean)); err != nil {
		return nil, err
	}
	return centre(x, s.Mean, s.Scale), nil
}

// columnScale returns the column means and, if scale, the population
// standard deviations with constant columns mapped to 1 (nil otherwise).
func columnScale(x *mat.Dense, scale bool) (mean, sd []float64) {
	n, p := x.Dims()
	mean = make([]float64, p)
	for i := range n {
		for j, v := range x.RawRowView(i) {
			mean[j] += v
		}
	}
	for j := range mean {
		mean[j] /= float64(n)
	}
	if !scale {
		return mean, nil
	}
	v := make([]float64, p)
	for i := range n {
		for j, xv := range x.RawRowView(i) {
			d := xv - mean[j]
			v[j] += d * d
		}
	}
	for j := range v {
		v[j] /= float64(n)
	}
	return mean, sdFromVar(v, mean, n)
}

// sdFromVar turns population variances into scales, with sklearn's rule for
// constant columns (scale 1).
func sdFromVar(v, mean []float64, n int) []float64 {
	const eps = 0x1p-52
	sd := make([]float64, len(v))
	fn := float64(n)
	for j, vj := range v {
		bound := fn*eps*vj + (fn*mean[j]*eps)*(fn*mean[j]*eps)
		if vj <= bound {
			sd[j] = 1
		} else {
			sd[j] = math.Sqrt(vj)
		}
	}
	return sd
}

// centre returns (x − mean)/scale as a new matrix; a nil scale means 1.
func centre(x *mat.Dense, mean, scale []float64) *mat.Dense {
	n, p := x.Dims()
	out := mat.NewDense(n, p, nil)
	for i := range n {
		src, dst := x.RawRowView(i), out.RawRowView(i)
		if scale == nil {
			for j, v := range src {
				dst[j] = v - mean[j]
			}
			continue
		}
		for j, v := range src {
			dst[j] = (v - mean[j]) / scale[j]
		}
	}
	return out
}
