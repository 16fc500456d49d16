package ag

import (
	"math"

	"github.com/fdrmfl/fdrmfl/internal/vec"
)

// unary applies f elementwise and records a backward step that multiplies
// the incoming gradient by the local derivative d(x, y) = ∂y/∂x.
func (tp *Tape[T]) unary(x *Var[T], f func(x T) T, d func(x, y T) T) *Var[T] {
	out := tp.newVar(x.shape, x.needGrad)
	y, xs := out.data, x.data
	for i, v := range xs {
		y[i] = f(v)
	}
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		for i, v := range g {
			gx[i] += v * d(xs[i], y[i])
		}
	})
	return out
}

// Exp returns eˣ elementwise.
func (tp *Tape[T]) Exp(x *Var[T]) *Var[T] {
	return tp.mapped(x, expInto[T], func(_, y T) T { return y })
}

// mapped is unary with a whole-slice forward kernel.
func (tp *Tape[T]) mapped(x *Var[T], f func(y, x []T), d func(x, y T) T) *Var[T] {
	out := tp.newVar(x.shape, x.needGrad)
	y, xs := out.data, x.data
	f(y, xs)
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		for i, v := range g {
			gx[i] += v * d(xs[i], y[i])
		}
	})
	return out
}

// Log returns the natural logarithm elementwise.
func (tp *Tape[T]) Log(x *Var[T]) *Var[T] {
	return tp.unary(x, func(v T) T { return T(math.Log(float64(v))) }, func(x, _ T) T { return 1 / x })
}

// Sqrt returns √x elementwise.
func (tp *Tape[T]) Sqrt(x *Var[T]) *Var[T] {
	return tp.unary(x, func(v T) T { return T(math.Sqrt(float64(v))) }, func(_, y T) T { return 0.5 / y })
}

// Abs returns |x| elementwise; its derivative at 0 is taken as 0.
func (tp *Tape[T]) Abs(x *Var[T]) *Var[T] {
	return tp.unary(x, func(v T) T { return T(math.Abs(float64(v))) }, func(x, _ T) T {
		switch {
		case x > 0:
			return 1
		case x < 0:
			return -1
		}
		return 0
	})
}

// Clamp returns min(max(x, lo), hi) elementwise; the gradient passes where
// lo ≤ x ≤ hi and is 0 elsewhere.
func (tp *Tape[T]) Clamp(x *Var[T], lo, hi T) *Var[T] {
	return tp.unary(x, func(v T) T { return min(max(v, lo), hi) }, func(x, _ T) T {
		if x < lo || x > hi {
			return 0
		}
		return 1
	})
}

// Tanh returns tanh(x) elementwise.
func (tp *Tape[T]) Tanh(x *Var[T]) *Var[T] {
	return tp.mapped(x, tanhInto[T], func(_, y T) T { return 1 - y*y })
}

// Sigmoid returns 1/(1+e⁻ˣ) elementwise.
func (tp *Tape[T]) Sigmoid(x *Var[T]) *Var[T] {
	return tp.mapped(x, sigmoidInto[T], func(_, y T) T { return y * (1 - y) })
}

// ReLU returns max(x, 0) elementwise; its derivative at 0 is taken as 0.
func (tp *Tape[T]) ReLU(x *Var[T]) *Var[T] {
	out := tp.newVar(x.shape, x.needGrad)
	y := out.data
	if yf, ok := any(y).([]float32); ok {
		vec.ReLU(yf, any(x.data).([]float32))
	} else {
		for i, v := range x.data {
			y[i] = max(v, 0)
		}
	}
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		if gf, ok := any(gx).([]float32); ok {
			vec.ReLUBackward(gf, any(g).([]float32), any(y).([]float32))
			return
		}
		for i, v := range g {
			if y[i] > 0 {
				gx[i] += v
			}
		}
	})
	return out
}

// GELU returns x·Φ(x) elementwise, with Φ the standard normal distribution
// function (the exact form, as torch.nn.GELU's default).
func (tp *Tape[T]) GELU(x *Var[T]) *Var[T] {
	return tp.unary(x, func(v T) T {
		f := float64(v)
		return T(0.5 * f * (1 + math.Erf(f/math.Sqrt2)))
	}, func(v, _ T) T {
		f := float64(v)
		return T(0.5*(1+math.Erf(f/math.Sqrt2)) + f*math.Exp(-0.5*f*f)/math.Sqrt(2*math.Pi))
	})
}

// Neg returns −x.
func (tp *Tape[T]) Neg(x *Var[T]) *Var[T] { return tp.Scale(x, -1) }

// Scale returns c·x.
func (tp *Tape[T]) Scale(x *Var[T], c T) *Var[T] {
	out := tp.newVar(x.shape, x.needGrad)
	y := out.data
	for i, v := range x.data {
		y[i] = c * v
	}
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		for i, v := range g {
			gx[i] += c * v
		}
	})
	return out
}

// AddScalar returns x + c.
func (tp *Tape[T]) AddScalar(x *Var[T], c T) *Var[T] {
	out := tp.newVar(x.shape, x.needGrad)
	y := out.data
	for i, v := range x.data {
		y[i] = v + c
	}
	tp.record(out, func(g []T) { addTo(tp.gradOf(x), g) })
	return out
}

// Square returns x² elementwise.
func (tp *Tape[T]) Square(x *Var[T]) *Var[T] {
	return tp.unary(x, func(v T) T { return v * v }, func(x, _ T) T { return 2 * x })
}

// Pow returns xᵖ elementwise for a constant exponent p (x > 0 unless p is
// an integer).
func (tp *Tape[T]) Pow(x *Var[T], p float64) *Var[T] {
	return tp.unary(x, func(v T) T { return T(math.Pow(float64(v), p)) },
		func(x, _ T) T { return T(p * math.Pow(float64(x), p-1)) })
}

// StopGradient returns x's value as a variable through which no gradient
// flows (the value is shared, not copied).
func (tp *Tape[T]) StopGradient(x *Var[T]) *Var[T] {
	return &Var[T]{shape: x.shape, data: x.data}
}
