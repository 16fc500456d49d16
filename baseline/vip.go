package baseline

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// VIP returns the variable importance in projection of each column of x
// for the fitted model (Wold's VIP, as chemometrics software reports it):
//
//	VIP_j = √( p · Σ_a SS_a (w_ja / ‖w_a‖)² / Σ_a SS_a ),  SS_a = ‖t_a‖² · Σ_r q_ra²
//
// with the weights w_a, the Y-loadings q_a and the scores t_a = x̃ r_a of
// the rows of x (centred and scaled as the model's inputs). The squares
// of the VIPs average to 1, so VIP > 1 marks a column of more than
// average importance. x is usually the training data.
func (m *PLS) VIP(x *mat.Dense) ([]float64, error) {
	const fn = "PLS.VIP"
	if m.Weights == nil {
		return nil, errorf(fn, "the model is not fitted")
	}
	if err := checkCols(fn, x, len(m.XMean)); err != nil {
		return nil, err
	}
	p, a := m.Weights.Dims()
	q, _ := m.YLoadings.Dims()
	t := project(centre(x, m.XMean, m.XScale), m.Rotations)
	ss := make([]float64, a)
	var total float64
	for k := range a {
		tt := mat.Dot(t.ColView(k), t.ColView(k))
		var qq float64
		for r := range q {
			v := m.YLoadings.At(r, k)
			qq += v * v
		}
		ss[k] = tt * qq
		total += ss[k]
	}
	out := make([]float64, p)
	if total == 0 {
		return out, nil
	}
	for k := range a {
		w := m.Weights.ColView(k)
		norm2 := mat.Dot(w, w)
		if norm2 == 0 {
			continue
		}
		for j := range p {
			v := w.AtVec(j)
			out[j] += ss[k] * v * v / norm2
		}
	}
	for j := range out {
		out[j] = math.Sqrt(float64(p) * out[j] / total)
	}
	return out, nil
}
