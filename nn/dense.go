package nn

import (
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
)

// Dense is a fully connected layer, y = x·Wᵀ + b, for x of shape N×In
// (torch.nn.Linear). W is Out×In; B has Out elements and may be absent.
type Dense[T Float] struct {
	W, B *Param[T]
}

// NewDense returns a dense layer initialised as torch.nn.Linear: W and b
// uniform on ±1/√in.
func NewDense[T Float](in, out int, bias bool, r *rand.Rand) *Dense[T] {
	d := &Dense[T]{W: newParam[T](Weight, out, in)}
	KaimingUniform(d.W, in, r)
	if bias {
		d.B = newParam[T](Weight, out)
		KaimingUniform(d.B, in, r)
	}
	return d
}

// Forward maps x (N×In) to N×Out.
func (d *Dense[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	var b *ag.Var[T]
	if d.B != nil {
		b = d.B.Var()
	}
	return tp.Linear(x, d.W.Var(), b)
}

// Params returns "weight" and, with a bias, "bias".
func (d *Dense[T]) Params() []Named[T] {
	ps := []Named[T]{{"weight", d.W}}
	if d.B != nil {
		ps = append(ps, Named[T]{"bias", d.B})
	}
	return ps
}
