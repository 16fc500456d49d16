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

// TestExponentsAndEncodingRefuse checks the errors of the two halves of
// SumFloats that a deployment calls on its own.
func TestExponentsAndEncodingRefuse(t *testing.T) {
	for _, c := range []struct {
		name   string
		x      []float64
		blocks []int
	}{
		{"too few values", []float64{1, 2}, []int{3}},
		{"too many values", []float64{1, 2, 3, 4}, []int{3}},
		{"a negative block", []float64{1}, []int{2, -1}},
		{"NaN", []float64{1, math.NaN()}, []int{2}},
		{"infinity", []float64{math.Inf(-1)}, []int{1}},
	} {
		if _, err := Exponents(c.x, c.blocks); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
	h, err := Exponents([]float64{3, -5, 0.25}, []int{2, 1})
	if err != nil {
		t.Fatal(err)
	}
	enc, err := FloatEncoding(h, []int{2, 1}, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Largest magnitudes 5 and 0.25: clips 8 and 0.5, the least powers of
	// two above them.
	if enc.Blocks[0].Clip != 8 || enc.Blocks[1].Clip != 0.5 || enc.Bits != FloatBits {
		t.Fatalf("encoding %+v", enc)
	}
	for _, c := range []struct {
		name   string
		h      Vec
		blocks []int
		n      int
	}{
		{"no party", h, []int{2, 1}, 0},
		{"another layout", h, []int{3}, 2},
		{"another ring", NewVec(64, ExponentLen(2)), []int{2, 1}, 2},
	} {
		if _, err := FloatEncoding(c.h, c.blocks, c.n); err == nil {
			t.Errorf("%s: accepted", c.name)
		}
	}
}
