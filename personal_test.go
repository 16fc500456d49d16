package fdrmfl

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
)

// TestCalibrationLeaveOneOut checks the closed-form leave-one-out error
// of the personal head against refitting without each row in turn, and
// that a client whose predictions are off by a shift and a scale gets the
// correction back.
func TestCalibrationLeaveOneOut(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	n := 15
	y, p := make([]float64, n), make([]float64, n)
	for i := range n {
		p[i] = r.NormFloat64()
		y[i] = 0.8 + 1.3*p[i] + 0.05*r.NormFloat64()
	}
	a, b, loo, lam, global := fitCalibration(y, p)
	if math.Abs(a-0.8) > 0.1 || math.Abs(b-1.3) > 0.1 {
		t.Errorf("calibration a = %v, b = %v, want about 0.8 and 1.3", a, b)
	}
	if loo >= global {
		t.Errorf("leave-one-out MSE %v not below the global model's %v", loo, global)
	}
	// Brute force at the chosen penalty: refit on n−1 rows with the same
	// absolute penalty λ·n, predict the left-out row.
	var brute float64
	for k := range n {
		var s11, s12, s22, t1, t2 float64
		for i := range n {
			if i == k {
				continue
			}
			res := y[i] - p[i]
			s11, s12, s22, t1, t2 = s11+1, s12+p[i], s22+p[i]*p[i], t1+res, t2+p[i]*res
		}
		l := lam * float64(n)
		m11, m12, m22 := s11+l, s12, s22+l
		det := m11*m22 - m12*m12
		ba := (m22*t1 - m12*t2) / det
		bc := (-m12*t1 + m11*t2) / det
		d := y[k] - p[k] - ba - bc*p[k]
		brute += d * d
	}
	brute /= float64(n)
	if math.Abs(brute-loo) > 1e-9*(1+brute) {
		t.Fatalf("closed-form leave-one-out MSE %v, brute force %v", loo, brute)
	}
}

// TestPersonalize checks the decision and the units: a client whose
// held-out predictions are exact keeps the global model; one whose
// predictions are shifted and squeezed gets the correction, applied in
// the responses' units (mean 10, sd 2 here).
func TestPersonalize(t *testing.T) {
	std := &data.Standardizer{Y: data.Scaling{Name: "y", Mode: data.PerFeature, Mean: []float64{10}, Std: []float64{2}}}
	r := rand.New(rand.NewPCG(3, 4))
	exact, skewed := &heldOut{q: 1}, &heldOut{q: 1}
	for range 20 {
		v := float32(r.NormFloat64())
		exact.y, exact.pred = append(exact.y, v), append(exact.pred, v)
		skewed.y, skewed.pred = append(skewed.y, v), append(skewed.pred, (v-1)/2)
	}
	client := func() *ClientResult {
		return &ClientResult{Splits: []Split{{Name: "test", Index: []int{0, 1}, Pred: []float32{10, 12}, Y: []float32{10, 12}}}}
	}
	cr := client()
	if err := personalize(cr, "auto", exact, std); err != nil {
		t.Fatal(err)
	}
	if cr.Personal != nil || cr.Splits[0].Personal != nil {
		t.Fatalf("a client with exact predictions got a personal head %+v", cr.Personal)
	}
	cr = client()
	if err := personalize(cr, "off", skewed, std); err != nil || cr.Personal != nil {
		t.Fatalf("personalize off gave a personal head (%v)", err)
	}
	if err := personalize(cr, "auto", skewed, std); err != nil {
		t.Fatal(err)
	}
	if cr.Personal == nil {
		t.Fatal("a client with skewed predictions kept the global model")
	}
	// Standardised: y = 1 + 2·ŷ; a prediction of 10 (ŷ = 0) becomes 10 + 2·1 = 12,
	// one of 12 (ŷ = 1) becomes 10 + 2·3 = 16 — up to the shrinkage.
	got := cr.Splits[0].Personal
	if math.Abs(float64(got[0])-12) > 0.2 || math.Abs(float64(got[1])-16) > 0.4 {
		t.Fatalf("personal predictions %v, want about [12 16]", got)
	}
	if d := cr.Splits[0].Deployed(); &d[0] != &got[0] {
		t.Fatal("Deployed does not return the personal predictions")
	}
}
