// Package loss holds the terms of the FDRMFL objective (method.md §3):
//
//	L = L_mse + λ_mi·L_mi + λ_kl·L_skl + λ_con·L_con
//
// each computed on the engine's tape so that its gradient flows back into
// the model. The terms are plain functions of batch tensors; which
// estimator or form to use is configuration.
package loss

import (
	"fmt"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/tensor"
)

// Float is the element type.
type Float = tensor.Float

// MSE returns mean((pred − y)²) over the elements of y that are not NaN;
// pred and y have equal sizes. A NaN target is a missing response: it
// adds nothing to the loss or its gradient, and the mean is over the
// observed targets only, Σ_obs (predᵢ − yᵢ)² / n_obs (0 when none is
// observed). y gets no gradient when it holds a NaN.
func MSE[T Float](tp *ag.Tape[T], pred, y *ag.Var[T]) *ag.Var[T] {
	if pred.Len() != y.Len() {
		panic(fmt.Sprintf("loss.MSE: prediction %v and target %v differ in size", pred.Shape(), y.Shape()))
	}
	yd := y.Data()
	missing := 0
	for _, v := range yd {
		if v != v {
			missing++
		}
	}
	if missing == 0 {
		return tp.Mean(tp.Square(tp.Sub(pred, tp.Reshape(y, pred.Shape()...))))
	}
	y0, mask := tp.Buffer(len(yd)), tp.Buffer(len(yd))
	for i, v := range yd {
		y0[i], mask[i] = 0, 0
		if v == v {
			y0[i], mask[i] = v, 1
		}
	}
	sq := tp.Square(tp.Sub(pred, ag.Const(y0, pred.Shape()...)))
	scale := T(0)
	if n := len(yd) - missing; n > 0 {
		scale = T(1 / float64(n))
	}
	return tp.Scale(tp.Sum(tp.Mul(sq, ag.Const(mask, pred.Shape()...))), scale)
}

// Contrastive is the MOON model-contrastive term (Li et al., 2021) on the
// same inputs, with cosine similarity s and temperature tau:
//
//	L_con = −mean_i log( exp(s(zᵢ, gᵢ)/τ) / (exp(s(zᵢ, gᵢ)/τ) + Σₙ exp(s(zᵢ, nᵢⁿ)/τ)) )
//
// z is the B×d feature batch of the model being trained, glob the same
// samples' features from the frozen global model (the positive) and negs
// the features from earlier models (the negatives); glob and negs carry no
// gradient.
func Contrastive[T Float](tp *ag.Tape[T], z, glob *ag.Var[T], negs []*ag.Var[T], tau float64) *ag.Var[T] {
	if tau <= 0 {
		panic(fmt.Sprintf("loss.Contrastive: temperature %v must be positive", tau))
	}
	inv := T(1 / tau)
	const eps = 1e-8
	logits := []*ag.Var[T]{tp.Scale(tp.CosineSimilarity(z, tp.StopGradient(glob), 1, eps), inv)}
	for _, n := range negs {
		logits = append(logits, tp.Scale(tp.CosineSimilarity(z, tp.StopGradient(n), 1, eps), inv))
	}
	all := tp.Concat(1, logits...) // B×(1+N)
	return tp.Neg(tp.Mean(tp.Sub(logits[0], tp.LogSumExp(all, 1))))
}
