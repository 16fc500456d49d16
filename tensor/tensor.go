// Package tensor provides dense n-dimensional arrays of float32 or float64.
//
// A Tensor is a view: a shape, strides and an offset into a backing slice.
// Reshaping a contiguous tensor, slicing along an axis and permuting axes
// create new views without copying; Contiguous copies only when it must.
// Shape errors are programmer errors and panic with messages that name
// the operation and the shapes involved.
package tensor

import (
	"fmt"
	"slices"
)

// Float is the element type of tensors: float32 for training, float64 for
// gradient checks and statistics.
type Float interface{ ~float32 | ~float64 }

// Tensor is an n-dimensional view over a slice of T.
//
// The zero value is an empty tensor of rank 0 with no data; use New or
// FromSlice to make one. Element (i0, i1, …) lives at
// data[offset + Σ ik·strides[k]].
type Tensor[T Float] struct {
	shape   []int
	strides []int
	offset  int
	data    []T
}

// New returns a zero-filled contiguous tensor of the given shape.
func New[T Float](shape ...int) *Tensor[T] {
	n := Size(shape)
	return &Tensor[T]{shape: slices.Clone(shape), strides: ContiguousStrides(shape), data: make([]T, n)}
}

// FromSlice returns a contiguous tensor of the given shape that uses data
// as its backing store (no copy). It panics if len(data) != Size(shape).
func FromSlice[T Float](data []T, shape ...int) *Tensor[T] {
	if n := Size(shape); n != len(data) {
		panic(fmt.Sprintf("tensor.FromSlice: shape %v needs %d elements, got %d", shape, n, len(data)))
	}
	return &Tensor[T]{shape: slices.Clone(shape), strides: ContiguousStrides(shape), data: data}
}

// Size returns the number of elements of a tensor of the given shape
// (1 for rank 0). It panics on a negative dimension.
func Size(shape []int) int {
	n := 1
	for _, d := range shape {
		if d < 0 {
			panic(fmt.Sprintf("tensor: negative dimension in shape %v", shape))
		}
		n *= d
	}
	return n
}

// ContiguousStrides returns the row-major strides of shape.
func ContiguousStrides(shape []int) []int {
	st := make([]int, len(shape))
	s := 1
	for i := len(shape) - 1; i >= 0; i-- {
		st[i] = s
		s *= shape[i]
	}
	return st
}

// Shape returns the tensor's dimensions. The caller must not modify it.
func (t *Tensor[T]) Shape() []int { return t.shape }

// Strides returns the element strides per axis. The caller must not modify it.
func (t *Tensor[T]) Strides() []int { return t.strides }

// Rank returns the number of axes.
func (t *Tensor[T]) Rank() int { return len(t.shape) }

// Dim returns the size of axis i; negative i counts from the end.
func (t *Tensor[T]) Dim(i int) int { return t.shape[t.axis("Dim", i)] }

// Len returns the number of elements.
func (t *Tensor[T]) Len() int { return Size(t.shape) }

// IsContiguous reports whether the elements are laid out row-major without
// gaps, so that Data returns them in order.
func (t *Tensor[T]) IsContiguous() bool {
	s := 1
	for i := len(t.shape) - 1; i >= 0; i-- {
		if t.shape[i] != 1 && t.strides[i] != s {
			return false
		}
		s *= t.shape[i]
	}
	return true
}

// Data returns the elements of a contiguous tensor in row-major order; the
// slice aliases the tensor. It panics if the tensor is not contiguous
// (call Contiguous first).
func (t *Tensor[T]) Data() []T {
	if !t.IsContiguous() {
		panic(fmt.Sprintf("tensor.Data: tensor of shape %v with strides %v is not contiguous", t.shape, t.strides))
	}
	return t.data[t.offset : t.offset+t.Len()]
}

// Contiguous returns t if it is contiguous and otherwise a contiguous copy.
func (t *Tensor[T]) Contiguous() *Tensor[T] {
	if t.IsContiguous() {
		return t
	}
	return t.Clone()
}

// Clone returns a contiguous copy of t.
func (t *Tensor[T]) Clone() *Tensor[T] {
	out := New[T](t.shape...)
	dst := out.data
	k := 0
	t.each(func(off int) {
		dst[k] = t.data[off]
		k++
	})
	return out
}

// each calls f with the data offset of every element in row-major order.
func (t *Tensor[T]) each(f func(off int)) {
	n := t.Len()
	if n == 0 {
		return
	}
	idx := make([]int, len(t.shape))
	off := t.offset
	for range n {
		f(off)
		for ax := len(t.shape) - 1; ax >= 0; ax-- {
			idx[ax]++
			off += t.strides[ax]
			if idx[ax] < t.shape[ax] {
				break
			}
			off -= idx[ax] * t.strides[ax]
			idx[ax] = 0
		}
	}
}

// Reshape returns a view with a new shape of the same size. One dimension
// may be -1 and is then inferred. A non-contiguous tensor is copied first.
func (t *Tensor[T]) Reshape(shape ...int) *Tensor[T] {
	shape = InferShape("tensor.Reshape", t.shape, shape)
	c := t.Contiguous()
	return &Tensor[T]{shape: shape, strides: ContiguousStrides(shape), offset: c.offset, data: c.data}
}

// InferShape resolves a single -1 in shape so that it has as many elements
// as from, and panics, naming op and both shapes, if that is impossible.
func InferShape(op string, from, shape []int) []int {
	shape = slices.Clone(shape)
	n, infer := 1, -1
	for i, d := range shape {
		switch {
		case d == -1 && infer < 0:
			infer = i
		case d < 0:
			panic(fmt.Sprintf("%s: bad target shape %v for shape %v", op, shape, from))
		default:
			n *= d
		}
	}
	size := Size(from)
	if infer >= 0 {
		if n == 0 || size%n != 0 {
			panic(fmt.Sprintf("%s: cannot reshape %v into %v", op, from, shape))
		}
		shape[infer] = size / n
		n = size
	}
	if n != size {
		panic(fmt.Sprintf("%s: cannot reshape %v (%d elements) into %v (%d elements)", op, from, size, shape, n))
	}
	return shape
}

// Slice returns the view of elements from..to-1 along axis, sharing data.
func (t *Tensor[T]) Slice(axis, from, to int) *Tensor[T] {
	ax := t.axis("Slice", axis)
	if from < 0 || to < from || to > t.shape[ax] {
		panic(fmt.Sprintf("tensor.Slice: range [%d:%d] out of bounds for axis %d of shape %v", from, to, ax, t.shape))
	}
	shape := slices.Clone(t.shape)
	shape[ax] = to - from
	return &Tensor[T]{shape: shape, strides: slices.Clone(t.strides), offset: t.offset + from*t.strides[ax], data: t.data}
}

// Transpose returns a view with axes permuted: axis i of the result is axis
// perm[i] of t. With no arguments it reverses the axes.
func (t *Tensor[T]) Transpose(perm ...int) *Tensor[T] {
	if len(perm) == 0 {
		perm = make([]int, len(t.shape))
		for i := range perm {
			perm[i] = len(perm) - 1 - i
		}
	}
	CheckPerm("tensor.Transpose", t.shape, perm)
	shape := make([]int, len(perm))
	strides := make([]int, len(perm))
	for i, p := range perm {
		shape[i], strides[i] = t.shape[p], t.strides[p]
	}
	return &Tensor[T]{shape: shape, strides: strides, offset: t.offset, data: t.data}
}

// CheckPerm panics, naming op, unless perm is a permutation of the axes of shape.
func CheckPerm(op string, shape, perm []int) {
	if len(perm) != len(shape) {
		panic(fmt.Sprintf("%s: permutation %v does not fit shape %v", op, perm, shape))
	}
	seen := make([]bool, len(perm))
	for _, p := range perm {
		if p < 0 || p >= len(perm) || seen[p] {
			panic(fmt.Sprintf("%s: %v is not a permutation of the axes of shape %v", op, perm, shape))
		}
		seen[p] = true
	}
}

// At returns the element at the given index.
func (t *Tensor[T]) At(idx ...int) T { return t.data[t.offsetOf("At", idx)] }

// Set stores v at the given index.
func (t *Tensor[T]) Set(v T, idx ...int) { t.data[t.offsetOf("Set", idx)] = v }

func (t *Tensor[T]) offsetOf(op string, idx []int) int {
	if len(idx) != len(t.shape) {
		panic(fmt.Sprintf("tensor.%s: index %v does not fit shape %v", op, idx, t.shape))
	}
	off := t.offset
	for i, j := range idx {
		if j < 0 || j >= t.shape[i] {
			panic(fmt.Sprintf("tensor.%s: index %v out of bounds for shape %v", op, idx, t.shape))
		}
		off += j * t.strides[i]
	}
	return off
}

func (t *Tensor[T]) axis(op string, i int) int {
	if i < 0 {
		i += len(t.shape)
	}
	if i < 0 || i >= len(t.shape) {
		panic(fmt.Sprintf("tensor.%s: axis %d out of range for shape %v", op, i, t.shape))
	}
	return i
}

// Fill sets every element to v.
func (t *Tensor[T]) Fill(v T) {
	t.each(func(off int) { t.data[off] = v })
}

// String formats the shape and, for small tensors, the values.
func (t *Tensor[T]) String() string {
	if t.Len() > 32 {
		return fmt.Sprintf("Tensor%v", t.shape)
	}
	vals := make([]T, 0, t.Len())
	t.each(func(off int) { vals = append(vals, t.data[off]) })
	return fmt.Sprintf("Tensor%v%v", t.shape, vals)
}
