package secagg

import (
	"math"
	"math/rand/v2"
	"testing"
)

func TestSumFloats(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	const n = 5
	blocks := []int{3, 100, 50}
	scales := []float64{1000, 1e-3, 7e5}
	var parts [][]float64
	exact := make([]float64, 153)
	for range n {
		p := make([]float64, 0, 153)
		for b, l := range blocks {
			for range l {
				p = append(p, r.NormFloat64()*scales[b])
			}
		}
		for i, v := range p {
			exact[i] += v
		}
		parts = append(parts, p)
	}
	got, err := SumFloats(parts, blocks, newRand(9))
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for b, l := range blocks {
		var m float64
		for _, p := range parts {
			for _, v := range p[off : off+l] {
				m = max(m, math.Abs(v))
			}
		}
		_, e := math.Frexp(m)
		// n·step/2 with step 2^(E+⌈log₂ n⌉−62), plus float64 rounding of
		// the reference sum itself (a few ulps of n·m).
		bound := n*math.Ldexp(1, e+3-63) + 4*n*m*0x1p-52
		for i := off; i < off+l; i++ {
			if d := math.Abs(got[i] - exact[i]); d > bound {
				t.Fatalf("block %d value %d: off by %g, bound %g", b, i, d, bound)
			}
		}
		off += l
	}
	if _, err := SumFloats(parts[:1], blocks, nil); err == nil {
		t.Fatal("one party summed")
	}
}
