package nn

import (
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
)

// Conv1d is a 1-D convolution over x of shape N×Cin×L (torch.nn.Conv1d).
type Conv1d[T Float] struct {
	W, B *Param[T] // W is Cout×Cin×K; B has Cout elements or is nil
	ag.ConvParams
}

// NewConv1d returns a 1-D convolution with kernel size k, initialised as
// PyTorch's (uniform on ±1/√(Cin·K)).
func NewConv1d[T Float](cin, cout, k int, p ag.ConvParams, bias bool, r *rand.Rand) *Conv1d[T] {
	c := &Conv1d[T]{W: newParam[T](Weight, cout, cin, k), ConvParams: p}
	KaimingUniform(c.W, cin*k, r)
	if bias {
		c.B = newParam[T](Weight, cout)
		KaimingUniform(c.B, cin*k, r)
	}
	return c
}

// Forward maps N×Cin×L to N×Cout×Lout.
func (c *Conv1d[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	return tp.Conv1d(x, c.W.Var(), optVar(c.B), c.ConvParams)
}

// Params returns "weight" and, with a bias, "bias".
func (c *Conv1d[T]) Params() []Named[T] { return weightBias(c.W, c.B) }

// Conv2d is a 2-D convolution over x of shape N×Cin×H×W (torch.nn.Conv2d)
// with the same stride, padding and dilation on both axes.
type Conv2d[T Float] struct {
	W, B *Param[T] // W is Cout×Cin×K×K; B has Cout elements or is nil
	ag.ConvParams
}

// NewConv2d returns a 2-D convolution with a k×k kernel, initialised as
// PyTorch's (uniform on ±1/√(Cin·K·K)).
func NewConv2d[T Float](cin, cout, k int, p ag.ConvParams, bias bool, r *rand.Rand) *Conv2d[T] {
	c := &Conv2d[T]{W: newParam[T](Weight, cout, cin, k, k), ConvParams: p}
	KaimingUniform(c.W, cin*k*k, r)
	if bias {
		c.B = newParam[T](Weight, cout)
		KaimingUniform(c.B, cin*k*k, r)
	}
	return c
}

// Forward maps N×Cin×H×W to N×Cout×Hout×Wout.
func (c *Conv2d[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	return tp.Conv2d(x, c.W.Var(), optVar(c.B), c.ConvParams)
}

// Params returns "weight" and, with a bias, "bias".
func (c *Conv2d[T]) Params() []Named[T] { return weightBias(c.W, c.B) }

func optVar[T Float](p *Param[T]) *ag.Var[T] {
	if p == nil {
		return nil
	}
	return p.Var()
}

func weightBias[T Float](w, b *Param[T]) []Named[T] {
	ps := []Named[T]{{"weight", w}}
	if b != nil {
		ps = append(ps, Named[T]{"bias", b})
	}
	return ps
}
