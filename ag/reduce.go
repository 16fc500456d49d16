package ag

import (
	"fmt"
	"slices"
)

// reducedShape returns shape with the given axes set to 1 (all axes when
// none are given), panicking on an axis out of range.
func reducedShape(op string, shape []int, axes []int) []int {
	out := slices.Clone(shape)
	if len(axes) == 0 {
		for i := range out {
			out[i] = 1
		}
		return out
	}
	for _, ax := range axes {
		a := ax
		if a < 0 {
			a += len(shape)
		}
		if a < 0 || a >= len(shape) {
			panic(fmt.Sprintf("ag.%s: axis %d out of range for shape %v", op, ax, shape))
		}
		out[a] = 1
	}
	return out
}

// Sum returns the sum over the given axes (all axes when none are given).
// Reduced axes are kept with size 1, so the result broadcasts against x;
// use Reshape to drop them.
func (tp *Tape[T]) Sum(x *Var[T], axes ...int) *Var[T] {
	oshape := reducedShape("Sum", x.shape, axes)
	p := broadcast("Sum", x.shape, oshape)
	out := tp.newVar(oshape, x.needGrad)
	y, xs := out.data, x.data
	clear(y)
	p.rows(func(o, _, bo, n, _, sb int) {
		row := xs[o : o+n]
		if sb == 0 {
			y[bo] += sum(row)
			return
		}
		addTo(y[bo:bo+n], row)
	})
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		p.rows(func(o, _, bo, n, _, sb int) {
			dst := gx[o : o+n]
			if sb == 0 {
				addScalar(dst, g[bo])
				return
			}
			addTo(dst, g[bo:bo+n])
		})
	})
	return out
}

// Mean returns the mean over the given axes (all axes when none are
// given), keeping reduced axes with size 1.
func (tp *Tape[T]) Mean(x *Var[T], axes ...int) *Var[T] {
	s := tp.Sum(x, axes...)
	return tp.Scale(s, T(s.Len())/T(x.Len()))
}

// Max returns the maximum over the given axes (all axes when none are
// given), keeping reduced axes with size 1. The gradient goes to the first
// maximal element.
func (tp *Tape[T]) Max(x *Var[T], axes ...int) *Var[T] {
	oshape := reducedShape("Max", x.shape, axes)
	p := broadcast("Max", x.shape, oshape)
	out := tp.newVar(oshape, x.needGrad)
	y, xs := out.data, x.data
	arg := tp.IntBuffer(len(y))
	for i := range arg {
		arg[i] = -1
	}
	p.rows(func(o, _, bo, n, _, sb int) {
		for i, v := range xs[o : o+n] {
			j := bo + i*sb
			if arg[j] < 0 || v > y[j] {
				y[j], arg[j] = v, o+i
			}
		}
	})
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		for j, v := range g {
			gx[arg[j]] += v
		}
	})
	return out
}

// axisSplit describes x as [outer, d, inner] around one axis.
func axisSplit(op string, shape []int, axis int) (ax, outer, d, inner int) {
	ax = axis
	if ax < 0 {
		ax += len(shape)
	}
	if ax < 0 || ax >= len(shape) {
		panic(fmt.Sprintf("ag.%s: axis %d out of range for shape %v", op, axis, shape))
	}
	outer, inner = 1, 1
	for _, s := range shape[:ax] {
		outer *= s
	}
	for _, s := range shape[ax+1:] {
		inner *= s
	}
	return ax, outer, shape[ax], inner
}
