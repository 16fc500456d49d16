package ag

import (
	"math"

	"github.com/fdrmfl/fdrmfl/internal/vec"
)

// These helpers send float32 work to the vector kernels of internal/vec
// and run the same formula as a loop for float64.

// addTo sets dst[i] += x[i].
func addTo[T Float](dst, x []T) {
	if d, ok := any(dst).([]float32); ok {
		vec.Add(d, any(x).([]float32))
		return
	}
	x = x[:len(dst)]
	for i, v := range x {
		dst[i] += v
	}
}

// affine sets y[i] = a·x[i] + b.
func affine[T Float](y, x []T, a, b T) {
	if d, ok := any(y).([]float32); ok {
		vec.Affine(d, any(x).([]float32), float32(a), float32(b))
		return
	}
	x = x[:len(y)]
	for i, v := range x {
		y[i] = a*v + b
	}
}

// sumDot returns Σ g and Σ g·h.
func sumDot[T Float](g, h []T) (sum, dot T) {
	if gf, ok := any(g).([]float32); ok {
		s, d := vec.SumDot(gf, any(h).([]float32))
		return T(s), T(d)
	}
	h = h[:len(g)]
	for i, v := range g {
		sum += v
		dot += v * h[i]
	}
	return sum, dot
}

// normBackward adds k·(g − mg − h·mgh) to gx.
func normBackward[T Float](gx, g, h []T, k, mg, mgh T) {
	if d, ok := any(gx).([]float32); ok {
		vec.NormBackward(d, any(g).([]float32), any(h).([]float32), float32(k), float32(mg), float32(mgh))
		return
	}
	g, h = g[:len(gx)], h[:len(gx)]
	for i, v := range g {
		gx[i] += k * (v - mg - h[i]*mgh)
	}
}

// sum returns Σ x.
func sum[T Float](x []T) T {
	if f, ok := any(x).([]float32); ok {
		return T(vec.Sum(f))
	}
	var s T
	for _, v := range x {
		s += v
	}
	return s
}

// addScalar sets dst[i] += c.
func addScalar[T Float](dst []T, c T) { affine(dst, dst, 1, c) }

// mapInto sets y[i] = f(x[i]), with the float32 vector kernel vf when T is
// float32 and the float64 function f otherwise.
func mapInto[T Float](y, x []T, vf func(y, x []float32), f func(float64) float64) {
	if yf, ok := any(y).([]float32); ok {
		vf(yf, any(x).([]float32))
		return
	}
	x = x[:len(y)]
	for i, v := range x {
		y[i] = T(f(float64(v)))
	}
}

func sigmoid64(v float64) float64 {
	if v >= 0 {
		return 1 / (1 + math.Exp(-v))
	}
	e := math.Exp(v)
	return e / (1 + e)
}

// sigmoidInto sets y = 1/(1+e^−x).
func sigmoidInto[T Float](y, x []T) { mapInto(y, x, vec.Sigmoid, sigmoid64) }

// tanhInto sets y = tanh(x).
func tanhInto[T Float](y, x []T) { mapInto(y, x, vec.Tanh, math.Tanh) }

// expInto sets y = eˣ.
func expInto[T Float](y, x []T) { mapInto(y, x, vec.Exp, math.Exp) }
