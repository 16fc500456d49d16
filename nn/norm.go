package nn

import "github.com/fdrmfl/fdrmfl/ag"

// BatchNorm normalises each channel (axis 1) of N×C, N×C×L or N×C×H×W
// inputs with batch statistics in training mode and running statistics in
// evaluation mode (torch.nn.BatchNorm1d and BatchNorm2d).
type BatchNorm[T Float] struct {
	Gamma, Beta     *Param[T] // weight (init 1) and bias (init 0)
	RunMean, RunVar *Param[T] // buffers (init 0 and 1)
	Momentum, Eps   float64   // 0.1 and 1e-5 by default
}

// NewBatchNorm returns batch normalisation over c channels with PyTorch's
// defaults.
func NewBatchNorm[T Float](c int) *BatchNorm[T] {
	bn := &BatchNorm[T]{
		Gamma: newParam[T](Weight, c), Beta: newParam[T](Weight, c),
		RunMean: newParam[T](Buffer, c), RunVar: newParam[T](Buffer, c),
		Momentum: 0.1, Eps: 1e-5,
	}
	Fill(bn.Gamma, 1)
	Fill(bn.RunVar, 1)
	for _, p := range []*Param[T]{bn.Gamma, bn.Beta, bn.RunMean, bn.RunVar} {
		p.Norm = true
	}
	return bn
}

// Forward normalises x; in training mode it updates the running statistics.
func (bn *BatchNorm[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	return tp.BatchNorm(x, bn.Gamma.Var(), bn.Beta.Var(), bn.RunMean.Value, bn.RunVar.Value, bn.Momentum, bn.Eps)
}

// Params returns "weight", "bias", "running_mean" and "running_var".
func (bn *BatchNorm[T]) Params() []Named[T] {
	return []Named[T]{{"weight", bn.Gamma}, {"bias", bn.Beta}, {"running_mean", bn.RunMean}, {"running_var", bn.RunVar}}
}

// LayerNorm normalises the last axis of its input (torch.nn.LayerNorm).
type LayerNorm[T Float] struct {
	Gamma, Beta *Param[T] // init 1 and 0
	Eps         float64   // 1e-5 by default
}

// NewLayerNorm returns layer normalisation over a last axis of size d.
func NewLayerNorm[T Float](d int) *LayerNorm[T] {
	ln := &LayerNorm[T]{Gamma: newParam[T](Weight, d), Beta: newParam[T](Weight, d), Eps: 1e-5}
	Fill(ln.Gamma, 1)
	ln.Gamma.Norm, ln.Beta.Norm = true, true
	return ln
}

// Forward normalises each row of x over its last axis.
func (ln *LayerNorm[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	return tp.LayerNorm(x, ln.Gamma.Var(), ln.Beta.Var(), ln.Eps)
}

// Params returns "weight" and "bias".
func (ln *LayerNorm[T]) Params() []Named[T] {
	return []Named[T]{{"weight", ln.Gamma}, {"bias", ln.Beta}}
}
