// Package vec holds the engine's elementwise float32 kernels: AVX2 and FMA
// assembly on amd64 CPUs that have them, and plain Go loops elsewhere (and
// for the tails the vector loops leave). Each function documents the
// formula; the Go loop beside it is the reference.
package vec

import (
	"fmt"
	"math"
)

func check(op string, n int, others ...int) {
	for _, m := range others {
		if m < n {
			panic(fmt.Sprintf("vec.%s: operands of %d and %d elements", op, n, m))
		}
	}
}

// ReLU sets y[i] = max(x[i], 0).
func ReLU(y, x []float32) {
	check("ReLU", len(y), len(x))
	done := reluVec(y, x)
	for i := done; i < len(y); i++ {
		y[i] = max(x[i], 0)
	}
}

// ReLUBackward adds g[i] to gx[i] where y[i] > 0 (y is the ReLU output).
func ReLUBackward(gx, g, y []float32) {
	check("ReLUBackward", len(gx), len(g), len(y))
	done := reluBackVec(gx, g, y)
	for i := done; i < len(gx); i++ {
		if y[i] > 0 {
			gx[i] += g[i]
		}
	}
}

// Add sets dst[i] += x[i].
func Add(dst, x []float32) {
	check("Add", len(dst), len(x))
	done := addVec(dst, x)
	for i := done; i < len(dst); i++ {
		dst[i] += x[i]
	}
}

// SoftThreshold moves every x[i] towards zero by t ≥ 0 and stops it at
// zero: x[i] −= clamp(x[i], −t, t), the proximal step of an L1 penalty.
func SoftThreshold(x []float32, t float32) {
	done := softThresholdVec(x, t)
	for i := done; i < len(x); i++ {
		x[i] -= max(-t, min(t, x[i]))
	}
}

// FirstNonFinite returns the index of the first NaN or ±Inf in x, or −1.
func FirstNonFinite(x []float32) int {
	done, found := firstNonFiniteVec(x)
	if found {
		return done + firstNonFiniteLoop(x[done:min(done+8, len(x))])
	}
	if i := firstNonFiniteLoop(x[done:]); i >= 0 {
		return done + i
	}
	return -1
}

func firstNonFiniteLoop(x []float32) int {
	for i, v := range x {
		if math.Float32bits(v)&0x7f800000 == 0x7f800000 { // every exponent bit set
			return i
		}
	}
	return -1
}

// AddScaled64 sets dst[i] += w·float64(x[i]), rounding as the plain Go
// loop does (a product, then a sum: no fused multiply-add).
func AddScaled64(dst []float64, x []float32, w float64) {
	check("AddScaled64", len(dst), len(x))
	done := addScaled64Vec(dst, x, w)
	for i := done; i < len(dst); i++ {
		dst[i] += w * float64(x[i])
	}
}

// Affine sets y[i] = a·x[i] + b.
func Affine(y, x []float32, a, b float32) {
	check("Affine", len(y), len(x))
	done := affineVec(y, x, a, b)
	for i := done; i < len(y); i++ {
		y[i] = a*x[i] + b
	}
}

// SumDot returns Σ g[i] and Σ g[i]·h[i].
func SumDot(g, h []float32) (sum, dot float32) {
	check("SumDot", len(g), len(h))
	done, s, d := sumDotVec(g, h)
	for i := done; i < len(g); i++ {
		s += g[i]
		d += g[i] * h[i]
	}
	return s, d
}

// NormBackward adds k·(g[i] − mg − h[i]·mgh) to gx[i], the input gradient
// of a normalisation whose normalised output is h.
func NormBackward(gx, g, h []float32, k, mg, mgh float32) {
	check("NormBackward", len(gx), len(g), len(h))
	done := normBackVec(gx, g, h, k, mg, mgh)
	for i := done; i < len(gx); i++ {
		gx[i] += k * (g[i] - mg - h[i]*mgh)
	}
}

// Sum returns Σ x[i].
func Sum(x []float32) float32 {
	done, s := sumVec(x)
	for _, v := range x[done:] {
		s += v
	}
	return s
}

// Exp sets y[i] = e^x[i]. The vector path is accurate to a few units in
// the last place and saturates outside [−87.3, 88.0].
func Exp(y, x []float32) {
	check("Exp", len(y), len(x))
	for i := expVec(y, x); i < len(y); i++ {
		y[i] = float32(math.Exp(float64(x[i])))
	}
}

// Sigmoid sets y[i] = 1/(1 + e^−x[i]).
func Sigmoid(y, x []float32) {
	check("Sigmoid", len(y), len(x))
	for i := sigmoidVec(y, x); i < len(y); i++ {
		y[i] = float32(1 / (1 + math.Exp(-float64(x[i]))))
	}
}

// Tanh sets y[i] = tanh(x[i]).
func Tanh(y, x []float32) {
	check("Tanh", len(y), len(x))
	for i := tanhVec(y, x); i < len(y); i++ {
		y[i] = float32(math.Tanh(float64(x[i])))
	}
}
