// Package ag is the engine's reverse-mode automatic differentiation.
//
// A program writes its forward pass in plain Go by calling operations on a
// Tape; each operation computes its output at once and, when gradients are
// wanted, records a hand-written backward step. Backward then runs those
// steps in reverse and accumulates dL/dx into every variable that asked
// for a gradient (define-by-run, as in PyTorch).
//
// Every operation's result is a *Var whose memory belongs to the tape and
// is reused after Reset: results must not be kept across a Reset. Shape
// errors are programmer errors and panic with the operation's name and the
// shapes involved. A Tape is not safe for concurrent use; use one per
// goroutine.
package ag

import (
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/fdrmfl/fdrmfl/tensor"
)

// Float is the element type: float32 for training, float64 for gradient checks.
type Float = tensor.Float

// Var is a value in a computation: a contiguous row-major array with a
// shape and, if it takes part in differentiation, a gradient of the same
// size. Leaves (parameters, inputs) are made with Param, Const or
// Tape.Const; everything else is the result of an operation.
type Var[T Float] struct {
	shape    []int
	data     []T
	grad     []T
	needGrad bool
}

// Param returns a leaf variable that receives gradients: data and grad are
// its value and gradient storage (usually views into a model's flat
// buffers) and must both have Size(shape) elements. Backward adds into
// grad; zeroing it is the caller's job.
func Param[T Float](data, grad []T, shape ...int) *Var[T] {
	n := tensor.Size(shape)
	if len(data) != n || len(grad) != n {
		panic(fmt.Sprintf("ag.Param: shape %v needs %d elements, got data %d and grad %d", shape, n, len(data), len(grad)))
	}
	return &Var[T]{shape: slices.Clone(shape), data: data, grad: grad, needGrad: true}
}

// Const returns a leaf variable that takes no gradient, backed by data.
func Const[T Float](data []T, shape ...int) *Var[T] {
	if n := tensor.Size(shape); len(data) != n {
		panic(fmt.Sprintf("ag.Const: shape %v needs %d elements, got %d", shape, n, len(data)))
	}
	return &Var[T]{shape: slices.Clone(shape), data: data}
}

// Shape returns the dimensions. The caller must not modify it.
func (v *Var[T]) Shape() []int { return v.shape }

// Dim returns the size of axis i; negative i counts from the end.
func (v *Var[T]) Dim(i int) int {
	if i < 0 {
		i += len(v.shape)
	}
	return v.shape[i]
}

// Rank returns the number of axes.
func (v *Var[T]) Rank() int { return len(v.shape) }

// Len returns the number of elements.
func (v *Var[T]) Len() int { return len(v.data) }

// Data returns the values in row-major order; the slice aliases the variable.
func (v *Var[T]) Data() []T { return v.data }

// Grad returns the accumulated gradient, or nil if none has reached v.
func (v *Var[T]) Grad() []T { return v.grad }

// NeedsGrad reports whether gradients flow to or through v.
func (v *Var[T]) NeedsGrad() bool { return v.needGrad }

// Item returns the single value of a one-element variable.
func (v *Var[T]) Item() T {
	if len(v.data) != 1 {
		panic(fmt.Sprintf("ag.Item: variable of shape %v has %d elements, want 1", v.shape, len(v.data)))
	}
	return v.data[0]
}

// Tensor returns a tensor view of the value (no copy).
func (v *Var[T]) Tensor() *tensor.Tensor[T] { return tensor.FromSlice(v.data, v.shape...) }

// String formats the shape and, for small variables, the values.
func (v *Var[T]) String() string {
	if len(v.data) > 16 {
		return fmt.Sprintf("Var%v", v.shape)
	}
	return fmt.Sprintf("Var%v%v", v.shape, v.data)
}

// Tape records operations for differentiation and owns the memory of their
// results. The zero value is not usable; call NewTape.
type Tape[T Float] struct {
	// Train selects training behaviour in operations that have two modes:
	// dropout drops and batch normalisation uses batch statistics and
	// updates its running statistics. False means evaluation.
	Train bool
	// Rand is the random source of stochastic operations (dropout). It
	// must be set when Train is true and such operations are used.
	Rand *rand.Rand

	noGrad bool
	nodes  []node[T]
	vars   []*Var[T] // all variables handed out since Reset, for reuse
	nvars  int
	free   map[int][][]T // buffers by length, ready for reuse
	used   [][]T         // buffers handed out since Reset
	ints   map[int][][]int
	iused  [][]int
}

type node[T Float] struct {
	out  *Var[T]
	back func(g []T) // adds the input gradients given dL/d(out)
}

// NewTape returns an empty tape that records gradients, in evaluation mode.
func NewTape[T Float]() *Tape[T] {
	return &Tape[T]{free: map[int][][]T{}, ints: map[int][][]int{}}
}

// SetGrad turns recording of backward steps on or off and returns the
// previous setting. With recording off, operations only compute values
// (like torch.no_grad), which is cheaper.
func (tp *Tape[T]) SetGrad(on bool) (was bool) {
	was = !tp.noGrad
	tp.noGrad = !on
	return was
}

// Reset forgets the recorded operations and makes all memory handed out
// since the last Reset available again. Variables made by the tape before
// Reset must not be used after it.
func (tp *Tape[T]) Reset() {
	clear(tp.nodes)
	tp.nodes = tp.nodes[:0]
	for _, b := range tp.used {
		tp.free[len(b)] = append(tp.free[len(b)], b)
	}
	clear(tp.used)
	tp.used = tp.used[:0]
	for _, b := range tp.iused {
		tp.ints[len(b)] = append(tp.ints[len(b)], b)
	}
	clear(tp.iused)
	tp.iused = tp.iused[:0]
	tp.nvars = 0
}

// Const returns a variable without gradient holding a copy of data.
func (tp *Tape[T]) Const(data []T, shape ...int) *Var[T] {
	v := tp.newVar(shape, false)
	if len(data) != len(v.data) {
		panic(fmt.Sprintf("ag.Tape.Const: shape %v needs %d elements, got %d", shape, len(v.data), len(data)))
	}
	copy(v.data, data)
	return v
}

// Zeros returns a zero-filled variable without gradient.
func (tp *Tape[T]) Zeros(shape ...int) *Var[T] {
	v := tp.newVar(shape, false)
	clear(v.data)
	return v
}

// Buffer returns scratch memory of n elements owned by the tape until the
// next Reset. Its contents are undefined.
func (tp *Tape[T]) Buffer(n int) []T { return tp.alloc(n) }

// IntBuffer returns scratch integers owned by the tape until the next Reset.
func (tp *Tape[T]) IntBuffer(n int) []int {
	if l := tp.ints[n]; len(l) > 0 {
		b := l[len(l)-1]
		tp.ints[n] = l[:len(l)-1]
		tp.iused = append(tp.iused, b)
		return b
	}
	b := make([]int, n)
	tp.iused = append(tp.iused, b)
	return b
}

func (tp *Tape[T]) alloc(n int) []T {
	if l := tp.free[n]; len(l) > 0 {
		b := l[len(l)-1]
		tp.free[n] = l[:len(l)-1]
		tp.used = append(tp.used, b)
		return b
	}
	b := make([]T, n)
	tp.used = append(tp.used, b)
	return b
}

func (tp *Tape[T]) allocZero(n int) []T {
	b := tp.alloc(n)
	clear(b)
	return b
}

// newVar returns a variable with uninitialised data of the given shape.
// needGrad says whether any input needs a gradient; it is dropped when
// recording is off.
func (tp *Tape[T]) newVar(shape []int, needGrad bool) *Var[T] {
	return tp.newVarOn(shape, needGrad, tp.alloc(tensor.Size(shape)))
}

// newVarOn returns a variable of the given shape backed by data.
func (tp *Tape[T]) newVarOn(shape []int, needGrad bool, data []T) *Var[T] {
	var v *Var[T]
	if tp.nvars < len(tp.vars) {
		v = tp.vars[tp.nvars]
	} else {
		v = new(Var[T])
		tp.vars = append(tp.vars, v)
	}
	tp.nvars++
	v.shape = append(v.shape[:0], shape...)
	v.data = data
	v.grad = nil
	v.needGrad = needGrad && !tp.noGrad
	return v
}

// record registers the backward step of an operation whose result is out.
func (tp *Tape[T]) record(out *Var[T], back func(g []T)) {
	if out.needGrad {
		tp.nodes = append(tp.nodes, node[T]{out: out, back: back})
	}
}

// gradOf returns v's gradient buffer, allocating a zeroed one if needed.
func (tp *Tape[T]) gradOf(v *Var[T]) []T {
	if v.grad == nil {
		v.grad = tp.allocZero(len(v.data))
	}
	return v.grad
}

// Backward computes the gradient of the one-element variable loss with
// respect to every variable it depends on, adding into their gradients.
// It may be called once per recorded computation.
func (tp *Tape[T]) Backward(loss *Var[T]) {
	tp.BackwardFrom(loss, nil)
}

// BackwardFrom back-propagates a given output gradient g (dL/d out, the
// same size as out; nil means 1 for a one-element out).
func (tp *Tape[T]) BackwardFrom(out *Var[T], g []T) {
	if !out.needGrad {
		panic("ag.Backward: the variable does not depend on anything that needs a gradient (or recording was off)")
	}
	gout := tp.gradOf(out)
	switch {
	case g == nil && len(out.data) == 1:
		gout[0] += 1
	case g == nil:
		panic(fmt.Sprintf("ag.Backward: output of shape %v is not a scalar; pass its gradient to BackwardFrom", out.shape))
	case len(g) != len(gout):
		panic(fmt.Sprintf("ag.BackwardFrom: gradient has %d elements for output of shape %v", len(g), out.shape))
	default:
		for i, x := range g {
			gout[i] += x
		}
	}
	for i := len(tp.nodes) - 1; i >= 0; i-- {
		n := tp.nodes[i]
		if n.out.grad != nil {
			n.back(n.out.grad)
		}
	}
}

// sameShape panics unless a and b have equal shapes.
func sameShape(op string, a, b []int) {
	if !slices.Equal(a, b) {
		panic(fmt.Sprintf("ag.%s: shapes %v and %v differ", op, a, b))
	}
}
