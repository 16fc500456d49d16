package baseline

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// TestVIP checks the VIP's defining properties: the squares average to
// one, the columns that carry y stand out from noise, and with one
// component the VIP is |w_j| scaled to those squares.
func TestVIP(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	const n, p = 60, 12
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := range n {
		for j := range p {
			x.Set(i, j, r.NormFloat64())
		}
		y[i] = 2*x.At(i, 0) - x.At(i, 1) + 0.1*r.NormFloat64()
	}
	for _, c := range []struct {
		name string
		pls  PLS
	}{
		{"one component", PLS{Components: 1}},
		{"three standardised", PLS{Components: 3, Standardize: true}},
		{"chosen by CV", PLS{MaxComponents: 6, Seed: 1}},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := c.pls
			if err := m.Fit(x, y); err != nil {
				t.Fatal(err)
			}
			vip, err := m.VIP(x)
			if err != nil {
				t.Fatal(err)
			}
			var sq float64
			for _, v := range vip {
				sq += v * v
			}
			if math.Abs(sq/p-1) > 1e-9 {
				t.Errorf("mean square VIP %v, want 1", sq/p)
			}
			for j := 2; j < p; j++ {
				if vip[j] >= vip[1] || vip[1] >= vip[0] {
					t.Errorf("VIP %v: columns 0 and 1 carry y and must stand out in that order", vip)
					break
				}
			}
			if m.Components == 1 {
				w := m.Weights.ColView(0)
				norm := math.Sqrt(mat.Dot(w, w))
				for j := range p {
					if want := math.Sqrt(p) * math.Abs(w.AtVec(j)) / norm; math.Abs(vip[j]-want) > 1e-12 {
						t.Errorf("column %d: VIP %v, want √p·|w|/‖w‖ = %v", j, vip[j], want)
					}
				}
			}
		})
	}
	var unfitted PLS
	if _, err := unfitted.VIP(x); err == nil {
		t.Error("an unfitted model gave VIPs")
	}
}
