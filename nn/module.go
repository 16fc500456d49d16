// Package nn builds networks from the engine's operations: layers that own
// named parameters and buffers, and a State that binds all of a model's
// parameters into one flat vector — the vector that optimisers update,
// federated averaging averages, and checkpoints store.
package nn

import (
	"fmt"
	"slices"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/tensor"
)

// Float is the element type of a network.
type Float = tensor.Float

// Kind says what a Param is.
type Kind int

const (
	// Weight is a trained parameter: it has a gradient and optimisers update it.
	Weight Kind = iota
	// Buffer is state that is not trained by gradient, such as batch
	// normalisation's running statistics.
	Buffer
)

// Param is a named array of a layer: a trained weight or a buffer.
// Value and Grad (nil for buffers) alias the flat vectors of the State the
// model is bound to, if any.
type Param[T Float] struct {
	Shape []int
	Kind  Kind
	// Norm marks parameters and buffers of normalisation layers, which
	// FedBN keeps local.
	Norm  bool
	Value []T
	Grad  []T
	v     *ag.Var[T]
}

// newParam returns a parameter of the given shape with zero value.
func newParam[T Float](kind Kind, shape ...int) *Param[T] {
	n := tensor.Size(shape)
	p := &Param[T]{Shape: slices.Clone(shape), Kind: kind, Value: make([]T, n)}
	if kind == Weight {
		p.Grad = make([]T, n)
	}
	return p
}

// Var returns the parameter as a variable for the engine: a leaf that
// accumulates its gradient into Grad. Buffers are constants.
func (p *Param[T]) Var() *ag.Var[T] {
	if p.v == nil {
		if p.Kind == Weight {
			p.v = ag.Param(p.Value, p.Grad, p.Shape...)
		} else {
			p.v = ag.Const(p.Value, p.Shape...)
		}
	}
	return p.v
}

// Len returns the number of elements.
func (p *Param[T]) Len() int { return len(p.Value) }

// Module is anything that owns parameters.
type Module[T Float] interface {
	// Params lists the module's parameters and buffers in a fixed order,
	// named relative to the module (as torch's state_dict keys are).
	Params() []Named[T]
}

// Named is a parameter with its name.
type Named[T Float] struct {
	Name  string
	Param *Param[T]
}

// Layer is a module with a forward pass from one input to one output.
type Layer[T Float] interface {
	Module[T]
	Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T]
}

// Prefix returns ps with prefix and a dot put before each name.
func Prefix[T Float](prefix string, ps []Named[T]) []Named[T] {
	out := make([]Named[T], len(ps))
	for i, p := range ps {
		out[i] = Named[T]{Name: prefix + "." + p.Name, Param: p.Param}
	}
	return out
}

// State binds every parameter and buffer of a module into two flat
// vectors. Values holds all weights, in the module's order, followed by all
// buffers; Grads holds the weights' gradients, so Values[:len(Grads)] and
// Grads line up element by element. Binding copies the current values
// in, and from then on each Param's Value and Grad alias these vectors.
type State[T Float] struct {
	Entries []Entry[T]
	Values  []T
	Grads   []T
}

// Entry locates one parameter in the flat vectors.
type Entry[T Float] struct {
	Name   string
	Param  *Param[T]
	Offset int // index of its first element in Values (and in Grads for weights)
}

// Bind builds the State of m. It panics if two parameters share a name or
// if a parameter appears twice (programmer errors).
func Bind[T Float](m Module[T]) *State[T] {
	named := m.Params()
	seen := map[string]bool{}
	seenP := map[*Param[T]]bool{}
	var nw, nb int
	for _, e := range named {
		if seen[e.Name] {
			panic(fmt.Sprintf("nn.Bind: two parameters are named %q", e.Name))
		}
		if seenP[e.Param] {
			panic(fmt.Sprintf("nn.Bind: parameter %q appears twice", e.Name))
		}
		seen[e.Name], seenP[e.Param] = true, true
		if e.Param.Kind == Weight {
			nw += e.Param.Len()
		} else {
			nb += e.Param.Len()
		}
	}
	s := &State[T]{Values: make([]T, nw+nb), Grads: make([]T, nw)}
	off := 0
	for _, kind := range []Kind{Weight, Buffer} {
		for _, e := range named {
			p := e.Param
			if p.Kind != kind {
				continue
			}
			n := p.Len()
			copy(s.Values[off:off+n], p.Value)
			p.Value = s.Values[off : off+n : off+n]
			if kind == Weight {
				p.Grad = s.Grads[off : off+n : off+n]
			}
			p.v = nil
			s.Entries = append(s.Entries, Entry[T]{Name: e.Name, Param: p, Offset: off})
			off += n
		}
	}
	return s
}

// ZeroGrad sets every gradient to zero.
func (s *State[T]) ZeroGrad() { clear(s.Grads) }

// NumWeights returns the number of trained scalars.
func (s *State[T]) NumWeights() int { return len(s.Grads) }

// Load copies a flat vector, laid out as Values, into the model. It
// returns an error if the length differs.
func (s *State[T]) Load(flat []T) error {
	if len(flat) != len(s.Values) {
		return fmt.Errorf("nn: state has %d values, got %d", len(s.Values), len(flat))
	}
	copy(s.Values, flat)
	return nil
}

// Lookup returns the entry with the given name.
func (s *State[T]) Lookup(name string) (Entry[T], bool) {
	for _, e := range s.Entries {
		if e.Name == name {
			return e, true
		}
	}
	return Entry[T]{}, false
}

// Freeze turns every weight of m into a buffer: it gets no gradient and
// optimisers leave it alone. Call it before Bind.
func Freeze[T Float](m Module[T]) {
	for _, e := range m.Params() {
		e.Param.Kind = Buffer
		e.Param.Grad = nil
		e.Param.v = nil
	}
}

// NewParam returns a zero-valued parameter (with a gradient if kind is
// Weight) of the given shape, for layers defined outside this package.
func NewParam[T Float](kind Kind, shape ...int) *Param[T] { return newParam[T](kind, shape...) }
