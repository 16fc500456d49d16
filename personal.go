package fdrmfl

import (
	"math"

	"github.com/fdrmfl/fdrmfl/data"
)

// Calibration is a client's personal head: the global model's prediction
// ŷ recalibrated as a + b·ŷ for that client, in the responses' units.
// It is fitted on the global model's predictions of the client's own
// held-out training rows (out of fold under k-fold selection), as ridge
// regression of the residual y − ŷ on (1, ŷ) — so shrunk towards the
// identity a = 0, b = 1 — with the penalty chosen by leave-one-out, and
// the client deploys it only when that leave-one-out error is below
// personalMargin times the global model's own error on the same rows:
// out-of-fold predictions come from models trained on fewer rows than the
// final one, so a small gain there need not carry over.
type Calibration struct {
	A, B []float64 // per response, in the responses' units
	// Rows is the number of held-out rows it was fitted on; LOOMSE and
	// GlobalMSE the errors (standardised) that decided, per response.
	Rows      int       `json:"rows"`
	LOOMSE    []float64 `json:"loo_mse"`
	GlobalMSE []float64 `json:"global_mse"`
	Lambda    []float64 `json:"lambda"` // the chosen penalties (relative to the rows)
}

// PersonalizeOnValidation fits a client's personal head (mode as
// federation.personalize) on its validation split's predictions — the
// rows the global model was not trained on — as a client of a real
// federation does once it has the final model; without a validation split
// the client keeps the global model.
func PersonalizeOnValidation(cr *ClientResult, mode string, std *data.Standardizer) error {
	for _, sp := range cr.Splits {
		if sp.Name != "val" || len(sp.Index) == 0 {
			continue
		}
		q := len(sp.Y) / len(sp.Index)
		y, pred := append([]float32(nil), sp.Y...), append([]float32(nil), sp.Pred...)
		for i := range y { // back to the standardised scale the fit works on
			j := i % q
			mu, sd := yScale(std, j)
			y[i] = float32((float64(y[i]) - mu) / sd)
			pred[i] = float32((float64(pred[i]) - mu) / sd)
		}
		return personalize(cr, mode, &heldOut{y: y, pred: pred, q: q}, std)
	}
	return nil
}

// personalMargin is the share of the global model's held-out error that a
// personal head's leave-one-out error must stay below to be deployed.
const personalMargin = 0.9

// calibrationPenalties are the ridge penalties tried, per held-out row.
var calibrationPenalties = []float64{0.01, 0.1, 1, 10}

// personalize fits client cr's personal head on its held-out rows h
// (standardised) and, if the client would deploy it, fills
// cr.Personal and each split's Personal predictions.
func personalize(cr *ClientResult, mode string, h *heldOut, std *data.Standardizer) error {
	if mode == "off" || h == nil || len(h.y) == 0 {
		return nil
	}
	q := h.q
	n := len(h.y) / q
	if n < 3 {
		return nil
	}
	cal := &Calibration{Rows: n}
	use := false
	for j := range q {
		var y, p []float64
		for i := range n {
			if v := h.y[i*q+j]; v == v { // a missing response is left out
				y, p = append(y, float64(v)), append(p, float64(h.pred[i*q+j]))
			}
		}
		if len(y) < 3 {
			cal.A, cal.B = append(cal.A, 0), append(cal.B, 1)
			cal.LOOMSE, cal.GlobalMSE, cal.Lambda = append(cal.LOOMSE, math.NaN()), append(cal.GlobalMSE, math.NaN()), append(cal.Lambda, 0)
			continue
		}
		a, b, loo, lam, glob := fitCalibration(y, p)
		// In units: ŷ_u = μ + σ·ŷ_s, so μ + σ·(a + b·ŷ_s) = (μ(1−b) + σa) + b·ŷ_u.
		mu, sd := yScale(std, j)
		cal.A = append(cal.A, mu*(1-b)+sd*a)
		cal.B = append(cal.B, b)
		cal.LOOMSE, cal.GlobalMSE, cal.Lambda = append(cal.LOOMSE, loo), append(cal.GlobalMSE, glob), append(cal.Lambda, lam)
		use = use || loo < personalMargin*glob
	}
	if !use {
		return nil
	}
	for j := range q {
		if !(cal.LOOMSE[j] < personalMargin*cal.GlobalMSE[j]) { // this response keeps the global model
			cal.A[j], cal.B[j] = 0, 1
		}
	}
	cr.Personal = cal
	for si := range cr.Splits {
		sp := &cr.Splits[si]
		if sp.Pred == nil {
			continue
		}
		sp.Personal = make([]float32, len(sp.Pred))
		for i, v := range sp.Pred {
			j := i % q
			sp.Personal[i] = float32(cal.A[j] + cal.B[j]*float64(v)) // NaN stays NaN
		}
	}
	return nil
}

// fitCalibration fits y ≈ p + a + c·p by ridge (penalty λ·n on a and c)
// for each penalty, and returns the one with the least leave-one-out MSE:
// a, b = 1 + c, that MSE, λ, and the MSE of p itself.
func fitCalibration(y, p []float64) (a, b, loo, lambda, global float64) {
	n := len(y)
	for i := range n {
		d := y[i] - p[i]
		global += d * d
	}
	global /= float64(n)
	loo, b = math.Inf(1), 1
	for _, lam := range calibrationPenalties {
		// X = [1, p], r = y − p; β = (XᵀX + λnI)⁻¹Xᵀr.
		var s11, s12, s22, t1, t2 float64
		for i := range n {
			r := y[i] - p[i]
			s11++
			s12 += p[i]
			s22 += p[i] * p[i]
			t1 += r
			t2 += p[i] * r
		}
		l := lam * float64(n)
		m11, m12, m22 := s11+l, s12, s22+l
		det := m11*m22 - m12*m12
		if det <= 0 {
			continue
		}
		i11, i12, i22 := m22/det, -m12/det, m11/det
		ba := i11*t1 + i12*t2
		bc := i12*t1 + i22*t2
		var e float64
		for i := range n {
			r := y[i] - p[i]
			fit := ba + bc*p[i]
			h := i11 + 2*i12*p[i] + i22*p[i]*p[i] // xᵢᵀ(XᵀX + λnI)⁻¹xᵢ
			d := (r - fit) / (1 - h)
			e += d * d
		}
		e /= float64(n)
		if e < loo {
			a, b, loo, lambda = ba, 1+bc, e, lam
		}
	}
	return a, b, loo, lambda, global
}

// yScale returns the mean and sd that standardise response j.
func yScale(std *data.Standardizer, j int) (mean, sd float64) {
	y := std.Y
	if len(y.Mean) == 0 {
		return 0, 1
	}
	return y.Mean[j%len(y.Mean)], y.Std[j%len(y.Std)]
}
