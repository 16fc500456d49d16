package onnx

import (
	"fmt"
	"math"
	"slices"
	"strconv"

	"github.com/fdrmfl/fdrmfl/modelio"
)

// builder accumulates the nodes and initializers of a graph, and looks
// up the network's tensors by name, remembering which were used. The
// first error sticks; later calls are then no-ops that return "".
type builder struct {
	nodes   []node
	inits   []tensorProto
	next    int
	tensors map[string]modelio.Tensor
	used    map[string]bool
	consts  map[string]string // constant cache: key → initializer name
	err     error
}

func newBuilder(ts []modelio.Tensor) (*builder, error) {
	b := &builder{tensors: map[string]modelio.Tensor{}, used: map[string]bool{}, consts: map[string]string{}}
	for _, t := range ts {
		if _, dup := b.tensors[t.Name]; dup {
			return nil, fmt.Errorf("two tensors are named %q", t.Name)
		}
		b.tensors[t.Name] = t
	}
	return b, nil
}

func (b *builder) fail(format string, args ...any) {
	if b.err == nil {
		b.err = fmt.Errorf(format, args...)
	}
}

// fresh returns a new value name.
func (b *builder) fresh(hint string) string {
	b.next++
	return hint + "_" + strconv.Itoa(b.next)
}

// op adds a node with one output and returns the output's name.
func (b *builder) op(typ string, inputs []string, attrs ...attribute) string {
	return b.opTo(b.fresh(typ), typ, inputs, attrs...)
}

// opTo adds a node whose output is named out.
func (b *builder) opTo(out, typ string, inputs []string, attrs ...attribute) string {
	if b.err != nil {
		return ""
	}
	b.nodes = append(b.nodes, node{op: typ, inputs: inputs, outputs: []string{out}, name: out, attrs: attrs})
	return out
}

func ints(name string, v ...int) attribute {
	a := attribute{name: name, typ: attrInts}
	for _, x := range v {
		a.ints = append(a.ints, int64(x))
	}
	return a
}

func intAttr(name string, v int) attribute { return attribute{name: name, typ: attrInt, i: int64(v)} }

func floatAttr(name string, v float32) attribute { return attribute{name: name, typ: attrFloat, f: v} }

func stringAttr(name, v string) attribute { return attribute{name: name, typ: attrString, s: v} }

// init adds a float initializer under name.
func (b *builder) init(name string, shape []int, v []float32) string {
	if b.err != nil {
		return ""
	}
	if n := prod(shape); n != len(v) {
		panic(fmt.Sprintf("onnx: initializer %s of shape %v given %d values", name, shape, len(v)))
	}
	b.inits = append(b.inits, tensorProto{name: name, dims: dims64(shape), elemType: elemFloat, data: float32Bytes(v)})
	return name
}

// constF returns a float constant of the given shape, shared between
// uses with the same values.
func (b *builder) constF(hint string, shape []int, v ...float32) string {
	key := fmt.Sprint("f", shape, v)
	if len(v) > 16 {
		return b.init(b.fresh(hint), shape, v)
	}
	if name, ok := b.consts[key]; ok {
		return name
	}
	name := b.init(b.fresh(hint), shape, v)
	b.consts[key] = name
	return name
}

// constI returns a 1-D int64 constant (shapes, axes, indices).
func (b *builder) constI(v ...int) string {
	key := fmt.Sprint("i", v)
	if name, ok := b.consts[key]; ok {
		return name
	}
	if b.err != nil {
		return ""
	}
	v64 := make([]int64, len(v))
	for i, x := range v {
		v64[i] = int64(x)
	}
	name := b.fresh("const")
	b.inits = append(b.inits, tensorProto{name: name, dims: []int64{int64(len(v))}, elemType: elemInt64, data: int64Bytes(v64)})
	b.consts[key] = name
	return name
}

// weight returns the values of the network's tensor name, which must have
// the given shape, and marks it used.
func (b *builder) weight(name string, shape ...int) []float32 {
	if b.err != nil {
		return nil
	}
	t, ok := b.tensors[name]
	if !ok {
		b.fail("tensor %q (shape %v) is missing", name, shape)
		return nil
	}
	if !slices.Equal(t.Shape, shape) {
		b.fail("tensor %q has shape %v, the network needs %v", name, t.Shape, shape)
		return nil
	}
	if len(t.Data) != prod(shape) {
		b.fail("tensor %q of shape %v holds %d values", name, t.Shape, len(t.Data))
		return nil
	}
	for _, v := range t.Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			b.fail("tensor %q holds a non-finite value", name)
			return nil
		}
	}
	b.used[name] = true
	return t.Data
}

// param adds the network's tensor name as an initializer of the same
// name and shape.
func (b *builder) param(name string, shape ...int) string {
	v := b.weight(name, shape...)
	if v == nil {
		return ""
	}
	return b.init(name, shape, v)
}

// unused returns the name of a tensor no part of the graph took, if any.
func (b *builder) unused() (string, int) {
	var names []string
	for n := range b.tensors {
		if !b.used[n] {
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return "", 0
	}
	slices.Sort(names)
	return names[0], len(names)
}

// rename gives the value old the name new, in the node that makes it and
// in every node that reads it.
func (b *builder) rename(old, new string) string {
	if b.err != nil {
		return ""
	}
	for i := range b.nodes {
		for j, v := range b.nodes[i].outputs {
			if v == old {
				b.nodes[i].outputs[j], b.nodes[i].name = new, new
			}
		}
		for j, v := range b.nodes[i].inputs {
			if v == old {
				b.nodes[i].inputs[j] = new
			}
		}
	}
	return new
}

// Common operations.

func (b *builder) reshape(x string, shape ...int) string {
	return b.op("Reshape", []string{x, b.constI(shape...)})
}

func (b *builder) transpose(x string, perm ...int) string {
	return b.op("Transpose", []string{x}, ints("perm", perm...))
}

func (b *builder) add(x, y string) string { return b.op("Add", []string{x, y}) }
func (b *builder) mul(x, y string) string { return b.op("Mul", []string{x, y}) }
func (b *builder) relu(x string) string   { return b.op("Relu", []string{x}) }

// slice1 takes [start, end) along axis.
func (b *builder) slice1(x string, axis, start, end int) string {
	return b.op("Slice", []string{x, b.constI(start), b.constI(end), b.constI(axis)})
}

func dims64(shape []int) []int64 {
	d := make([]int64, len(shape))
	for i, v := range shape {
		d[i] = int64(v)
	}
	return d
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
