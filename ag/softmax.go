package ag

import "math"

// Softmax returns exp(x)/Σ exp(x) along axis.
func (tp *Tape[T]) Softmax(x *Var[T], axis int) *Var[T] {
	_, outer, d, inner := axisSplit("Softmax", x.shape, axis)
	out := tp.newVar(x.shape, x.needGrad)
	y, xs := out.data, x.data
	for o := range outer {
		for i := range inner {
			base := o*d*inner + i
			m := xs[base]
			for j := 1; j < d; j++ {
				m = max(m, xs[base+j*inner])
			}
			var s float64
			for j := range d {
				e := math.Exp(float64(xs[base+j*inner] - m))
				y[base+j*inner] = T(e)
				s += e
			}
			inv := T(1 / s)
			for j := range d {
				y[base+j*inner] *= inv
			}
		}
	}
	tp.record(out, func(g []T) { // dx = y ⊙ (g − Σ g⊙y)
		gx := tp.gradOf(x)
		for o := range outer {
			for i := range inner {
				base := o*d*inner + i
				var dot T
				for j := range d {
					k := base + j*inner
					dot += g[k] * y[k]
				}
				for j := range d {
					k := base + j*inner
					gx[k] += y[k] * (g[k] - dot)
				}
			}
		}
	})
	return out
}

// LogSoftmax returns x − log Σ exp(x) along axis, computed stably.
func (tp *Tape[T]) LogSoftmax(x *Var[T], axis int) *Var[T] {
	_, outer, d, inner := axisSplit("LogSoftmax", x.shape, axis)
	out := tp.newVar(x.shape, x.needGrad)
	y, xs := out.data, x.data
	for o := range outer {
		for i := range inner {
			base := o*d*inner + i
			lse := logSumExpStrided(xs, base, d, inner)
			for j := range d {
				y[base+j*inner] = xs[base+j*inner] - lse
			}
		}
	}
	tp.record(out, func(g []T) { // dx = g − softmax·Σg
		gx := tp.gradOf(x)
		for o := range outer {
			for i := range inner {
				base := o*d*inner + i
				var s T
				for j := range d {
					s += g[base+j*inner]
				}
				for j := range d {
					k := base + j*inner
					gx[k] += g[k] - T(math.Exp(float64(y[k])))*s
				}
			}
		}
	})
	return out
}

// LogSumExp returns log Σ exp(x) along axis, computed stably; the axis is
// kept with size 1.
func (tp *Tape[T]) LogSumExp(x *Var[T], axis int) *Var[T] {
	ax, outer, d, inner := axisSplit("LogSumExp", x.shape, axis)
	oshape := reducedShape("LogSumExp", x.shape, []int{ax})
	out := tp.newVar(oshape, x.needGrad)
	y, xs := out.data, x.data
	for o := range outer {
		for i := range inner {
			y[o*inner+i] = logSumExpStrided(xs, o*d*inner+i, d, inner)
		}
	}
	tp.record(out, func(g []T) { // dx = g·softmax(x)
		gx := tp.gradOf(x)
		for o := range outer {
			for i := range inner {
				base, r := o*d*inner+i, o*inner+i
				for j := range d {
					k := base + j*inner
					gx[k] += g[r] * T(math.Exp(float64(xs[k]-y[r])))
				}
			}
		}
	})
	return out
}

func logSumExpStrided[T Float](xs []T, base, d, stride int) T {
	m := xs[base]
	for j := 1; j < d; j++ {
		m = max(m, xs[base+j*stride])
	}
	if math.IsInf(float64(m), 0) {
		return m
	}
	var s float64
	for j := range d {
		s += math.Exp(float64(xs[base+j*stride] - m))
	}
	return m + T(math.Log(s))
}
