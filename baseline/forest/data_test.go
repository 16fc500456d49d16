package forest

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// uniforms is a SplitMix64 stream of uniform [0, 1) doubles, the same
// stream as testdata/sklearn_rf.py's, so both sides fit the same data.
type uniforms struct{ state uint64 }

func (u *uniforms) next() float64 {
	u.state += 0x9e3779b97f4a7c15
	z := u.state
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	z ^= z >> 31
	return float64(z>>11) * 0x1p-53
}

// friedman1 returns n rows of Friedman's (1991) first function on p ≥ 5
// uniform features (the first five matter) with uniform noise of unit
// variance:
//
//	y = 10 sin(π x1 x2) + 20 (x3 − 0.5)² + 10 x4 + 5 x5 + ε.
//
// Rows are drawn feature by feature within a row, then the noise.
func friedman1(seed uint64, n, p int) (*mat.Dense, []float64) {
	u := uniforms{seed}
	x := mat.NewDense(n, p, nil)
	y := make([]float64, n)
	for i := range n {
		r := x.RawRowView(i)
		for j := range r {
			r[j] = u.next()
		}
		y[i] = 10*math.Sin(math.Pi*r[0]*r[1]) + 20*(r[2]-0.5)*(r[2]-0.5) + 10*r[3] + 5*r[4] +
			(u.next()-0.5)*math.Sqrt(12)
	}
	return x, y
}

// r2 is 1 − SSE/SST around the mean of y.
func r2(y, yhat []float64) float64 {
	var m float64
	for _, v := range y {
		m += v
	}
	m /= float64(len(y))
	var sse, sst float64
	for i, v := range y {
		sse += (v - yhat[i]) * (v - yhat[i])
		sst += (v - m) * (v - m)
	}
	return 1 - sse/sst
}
