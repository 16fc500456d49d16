package data

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Simulate draws n samples of the paper's simulation with response
// function fn (1, 2 or 3), using rng.
//
// Each sample has three modalities of i.i.d. N(0, 1) values: "image", an
// Image of shape [3, 32, 32]; "text", a Sequence of shape [10, 50]; and
// "vector", a Vector of shape [32]. With S_I the sum of every 10th value of
// the flattened image (indices 0, 10, …, 3070: 308 terms), S_T the same for
// the flattened text (50 terms), S_V = v[0]+v[10]+v[20]+v[30] and
// s = S_I + S_T + S_V, the single response "y" is
//
//	fn 1: y = tanh(0.05·s)
//	fn 2: y = log(1 + exp(0.1·s + 1e-4·S_I·S_T))
//	fn 3: y = 16 / (exp(0.02·s) + exp(−0.02·s))
//
// with no added noise. The sums use the stored float32 values, in float64.
// Values are drawn sample by sample (image, then text, then vector), so the
// first m samples of a draw of n > m equal a draw of m from the same seed.
func Simulate(fn int, n int, rng *rand.Rand) (*Dataset, error) {
	var f func(sI, sT, sV float64) float64
	switch fn {
	case 1:
		f = func(sI, sT, sV float64) float64 { return math.Tanh(0.05 * (sI + sT + sV)) }
	case 2:
		f = func(sI, sT, sV float64) float64 { return softplus(0.1*(sI+sT+sV) + 1e-4*sI*sT) }
	case 3:
		f = func(sI, sT, sV float64) float64 { return 8 / math.Cosh(0.02*(sI+sT+sV)) }
	default:
		return nil, fmt.Errorf("simulate: function %d: want 1, 2 or 3", fn)
	}
	if n < 1 {
		return nil, fmt.Errorf("simulate: %d samples: want at least 1", n)
	}
	mods := []Modality{
		{Name: "image", Kind: Image, Shape: []int{3, 32, 32}},
		{Name: "text", Kind: Sequence, Shape: []int{10, 50}},
		{Name: "vector", Kind: Vector, Shape: []int{32}},
	}
	for i := range mods {
		mods[i].Data = make([]float32, n*mods[i].SampleSize())
	}
	y := make([]float32, n)
	var s [3]float64
	for i := range n {
		for k := range mods {
			x := mods[k].Sample(i)
			for j := range x {
				x[j] = float32(rng.NormFloat64())
			}
			s[k] = 0
			for j := 0; j < len(x); j += 10 { // for the vector 0, 10, 20, 30
				s[k] += float64(x[j])
			}
		}
		y[i] = float32(f(s[0], s[1], s[2]))
	}
	return New(n, mods, []string{"y"}, y)
}

// softplus returns log(1 + exp(x)) without overflow for large x.
func softplus(x float64) float64 {
	if x > 0 {
		return x + math.Log1p(math.Exp(-x))
	}
	return math.Log1p(math.Exp(x))
}
