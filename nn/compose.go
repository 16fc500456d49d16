package nn

import (
	"strconv"

	"github.com/fdrmfl/fdrmfl/ag"
)

// Sequential applies its layers in order (torch.nn.Sequential). Parameters
// are named by the layer's index, counting layers without parameters too.
type Sequential[T Float] struct {
	Layers []Layer[T]
}

// NewSequential returns the composition of layers, first applied first.
func NewSequential[T Float](layers ...Layer[T]) *Sequential[T] {
	return &Sequential[T]{Layers: layers}
}

// Forward applies every layer in turn.
func (s *Sequential[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	for _, l := range s.Layers {
		x = l.Forward(tp, x)
	}
	return x
}

// Params returns the layers' parameters named "<index>.<name>".
func (s *Sequential[T]) Params() []Named[T] {
	var ps []Named[T]
	for i, l := range s.Layers {
		ps = append(ps, Prefix(strconv.Itoa(i), l.Params())...)
	}
	return ps
}

// Residual computes Body(x) + Shortcut(x); a nil Shortcut is the identity.
type Residual[T Float] struct {
	Body, Shortcut Layer[T]
}

// Forward adds the body's output to the shortcut's.
func (r *Residual[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	y := r.Body.Forward(tp, x)
	s := x
	if r.Shortcut != nil {
		s = r.Shortcut.Forward(tp, x)
	}
	return tp.Add(y, s)
}

// Params returns "body.*" and "shortcut.*".
func (r *Residual[T]) Params() []Named[T] {
	ps := Prefix("body", r.Body.Params())
	if r.Shortcut != nil {
		ps = append(ps, Prefix("shortcut", r.Shortcut.Params())...)
	}
	return ps
}
