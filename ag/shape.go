package ag

import (
	"fmt"

	"github.com/fdrmfl/fdrmfl/tensor"
)

// Reshape returns x with a new shape of the same size (one dimension may
// be −1 and is inferred). The value is shared, not copied.
func (tp *Tape[T]) Reshape(x *Var[T], shape ...int) *Var[T] {
	shape = tensor.InferShape("ag.Reshape", x.shape, shape)
	out := tp.newVarOn(shape, x.needGrad, x.data)
	tp.record(out, func(g []T) { addTo(tp.gradOf(x), g) })
	return out
}

// Transpose returns x with its axes permuted (a copy): axis i of the
// result is axis perm[i] of x. With no perm it reverses the axes.
func (tp *Tape[T]) Transpose(x *Var[T], perm ...int) *Var[T] {
	if len(perm) == 0 {
		perm = make([]int, x.Rank())
		for i := range perm {
			perm[i] = len(perm) - 1 - i
		}
	}
	tensor.CheckPerm("ag.Transpose", x.shape, perm)
	src := tensor.FromSlice(x.data, x.shape...).Transpose(perm...)
	out := tp.newVar(src.Shape(), x.needGrad)
	permuteInto(out.data, src)
	tp.record(out, func(g []T) {
		// The gradient is g with the inverse permutation applied.
		inv := make([]int, len(perm))
		for i, p := range perm {
			inv[p] = i
		}
		gt := tensor.FromSlice(g, out.shape...).Transpose(inv...)
		gx := tp.gradOf(x)
		tmp := tp.Buffer(len(g))
		permuteInto(tmp, gt)
		addTo(gx, tmp)
	})
	return out
}

// permuteInto copies the elements of the (possibly strided) view src into
// dst in row-major order.
func permuteInto[T Float](dst []T, src *tensor.Tensor[T]) {
	copy(dst, src.Clone().Data())
}

// Concat joins variables along axis; all other axes must agree.
func (tp *Tape[T]) Concat(axis int, xs ...*Var[T]) *Var[T] {
	if len(xs) == 0 {
		panic("ag.Concat: nothing to concatenate")
	}
	ax, outer, _, inner := axisSplit("Concat", xs[0].shape, axis)
	shape := append([]int(nil), xs[0].shape...)
	shape[ax] = 0
	need := false
	for _, x := range xs {
		if x.Rank() != len(shape) {
			panic(fmt.Sprintf("ag.Concat: shapes %v and %v have different ranks", xs[0].shape, x.shape))
		}
		for i := range shape {
			if i != ax && x.shape[i] != xs[0].shape[i] {
				panic(fmt.Sprintf("ag.Concat: shapes %v and %v differ outside axis %d", xs[0].shape, x.shape, ax))
			}
		}
		shape[ax] += x.shape[ax]
		need = need || x.needGrad
	}
	out := tp.newVar(shape, need)
	total := shape[ax] * inner
	off := 0
	for _, x := range xs {
		w := x.shape[ax] * inner
		for o := range outer {
			copy(out.data[o*total+off:o*total+off+w], x.data[o*w:(o+1)*w])
		}
		off += w
	}
	tp.record(out, func(g []T) {
		off := 0
		for _, x := range xs {
			w := x.shape[ax] * inner
			if x.needGrad {
				gx := tp.gradOf(x)
				for o := range outer {
					addTo(gx[o*w:(o+1)*w], g[o*total+off:o*total+off+w])
				}
			}
			off += w
		}
	})
	return out
}

// Slice returns the elements from..to−1 of x along axis (a copy).
func (tp *Tape[T]) Slice(x *Var[T], axis, from, to int) *Var[T] {
	ax, outer, d, inner := axisSplit("Slice", x.shape, axis)
	if from < 0 || to < from || to > d {
		panic(fmt.Sprintf("ag.Slice: range [%d:%d] out of bounds for axis %d of shape %v", from, to, ax, x.shape))
	}
	shape := append([]int(nil), x.shape...)
	shape[ax] = to - from
	out := tp.newVar(shape, x.needGrad)
	w := (to - from) * inner
	for o := range outer {
		copy(out.data[o*w:(o+1)*w], x.data[o*d*inner+from*inner:])
	}
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		for o := range outer {
			addTo(gx[o*d*inner+from*inner:o*d*inner+from*inner+w], g[o*w:(o+1)*w])
		}
	})
	return out
}

// Split cuts x along axis into consecutive pieces of the given sizes,
// which must add up to the axis length.
func (tp *Tape[T]) Split(x *Var[T], axis int, sizes ...int) []*Var[T] {
	ax, _, d, _ := axisSplit("Split", x.shape, axis)
	total := 0
	for _, s := range sizes {
		total += s
	}
	if total != d {
		panic(fmt.Sprintf("ag.Split: sizes %v add up to %d, axis %d of shape %v has %d", sizes, total, ax, x.shape, d))
	}
	parts := make([]*Var[T], len(sizes))
	from := 0
	for i, s := range sizes {
		parts[i] = tp.Slice(x, ax, from, from+s)
		from += s
	}
	return parts
}

// IndexSelect gathers x's entries idx[0], idx[1], … along axis (indices may
// repeat); the result has len(idx) entries on that axis. Gradients are
// scattered back and summed over repeats.
func (tp *Tape[T]) IndexSelect(x *Var[T], axis int, idx []int) *Var[T] {
	ax, outer, d, inner := axisSplit("IndexSelect", x.shape, axis)
	for _, j := range idx {
		if j < 0 || j >= d {
			panic(fmt.Sprintf("ag.IndexSelect: index %d out of range for axis %d of shape %v", j, ax, x.shape))
		}
	}
	shape := append([]int(nil), x.shape...)
	shape[ax] = len(idx)
	out := tp.newVar(shape, x.needGrad)
	k := len(idx)
	for o := range outer {
		for r, j := range idx {
			copy(out.data[(o*k+r)*inner:(o*k+r+1)*inner], x.data[(o*d+j)*inner:(o*d+j+1)*inner])
		}
	}
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		for o := range outer {
			for r, j := range idx {
				dst := gx[(o*d+j)*inner : (o*d+j+1)*inner]
				for i, v := range g[(o*k+r)*inner : (o*k+r+1)*inner] {
					dst[i] += v
				}
			}
		}
	})
	return out
}
