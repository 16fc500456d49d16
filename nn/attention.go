package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
)

// MultiHeadAttention is scaled dot-product attention with several heads
// over token sequences N×T×E (torch.nn.MultiheadAttention with
// batch_first=True):
//
//	headᵢ = softmax(QᵢKᵢᵀ/√(E/H))·Vᵢ,  out = concat(head₁…H)·W_oᵀ + b_o
//
// with Q, K, V the input projections of query, key and value.
type MultiHeadAttention[T Float] struct {
	Heads   int
	InProj  *Param[T] // 3E×E: query, key and value projections stacked
	InBias  *Param[T] // 3E
	OutProj *Dense[T] // E→E
}

// NewMultiHeadAttention returns attention over embeddings of size e with
// the given number of heads (which must divide e), initialised as
// PyTorch's: Xavier-uniform input projection, zero biases.
func NewMultiHeadAttention[T Float](e, heads int, r *rand.Rand) *MultiHeadAttention[T] {
	if heads < 1 || e%heads != 0 {
		panic(fmt.Sprintf("nn.NewMultiHeadAttention: %d heads do not divide embedding size %d", heads, e))
	}
	a := &MultiHeadAttention[T]{
		Heads:   heads,
		InProj:  newParam[T](Weight, 3*e, e),
		InBias:  newParam[T](Weight, 3*e),
		OutProj: NewDense[T](e, e, true, r),
	}
	XavierUniform(a.InProj, e, 3*e, r)
	Fill(a.OutProj.B, 0)
	return a
}

// Forward is self-attention: Attend(x, x, x, nil).
func (a *MultiHeadAttention[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	return a.Attend(tp, x, x, x, nil)
}

// Attend returns attention of query (N×Tq×E) over key and value (N×Tk×E);
// the result is N×Tq×E. keep, if not nil, has N×Tk entries and says which
// keys each sample may attend to (false masks a key out, like torch's
// key_padding_mask with the opposite sense); every sample needs one key.
func (a *MultiHeadAttention[T]) Attend(tp *ag.Tape[T], query, key, value *ag.Var[T], keep []bool) *ag.Var[T] {
	e := a.InProj.Shape[1]
	if query.Rank() != 3 || key.Rank() != 3 || value.Rank() != 3 || query.Dim(2) != e || key.Dim(2) != e ||
		value.Dim(2) != e || key.Dim(1) != value.Dim(1) || query.Dim(0) != key.Dim(0) {
		panic(fmt.Sprintf("nn.MultiHeadAttention: query %v, key %v and value %v do not fit embedding size %d", query.Shape(), key.Shape(), value.Shape(), e))
	}
	n, tq, tk, h := query.Dim(0), query.Dim(1), key.Dim(1), a.Heads
	dh := e / h
	w, b := a.InProj.Var(), a.InBias.Var()
	project := func(x *ag.Var[T], i, t int) *ag.Var[T] { // N×t×E → (N·H)×t×Dh
		wi := tp.Slice(w, 0, i*e, (i+1)*e)
		bi := tp.Slice(b, 0, i*e, (i+1)*e)
		y := tp.Linear(tp.Reshape(x, n*t, e), wi, bi)
		y = tp.Transpose(tp.Reshape(y, n, t, h, dh), 0, 2, 1, 3)
		return tp.Reshape(y, n*h, t, dh)
	}
	q, k, v := project(query, 0, tq), project(key, 1, tk), project(value, 2, tk)
	scores := tp.Scale(tp.BatchMatMul(q, k, false, true), T(1/math.Sqrt(float64(dh)))) // (N·H)×Tq×Tk
	if keep != nil {
		if len(keep) != n*tk {
			panic(fmt.Sprintf("nn.MultiHeadAttention: mask has %d entries, want %d×%d", len(keep), n, tk))
		}
		bias := tp.Zeros(n, 1, 1, tk)
		for i, ok := range keep {
			if !ok {
				bias.Data()[i] = -1e9
			}
		}
		scores = tp.Reshape(tp.Add(tp.Reshape(scores, n, h, tq, tk), bias), n*h, tq, tk)
	}
	ctx := tp.BatchMatMul(tp.Softmax(scores, 2), v, false, false) // (N·H)×Tq×Dh
	ctx = tp.Reshape(tp.Transpose(tp.Reshape(ctx, n, h, tq, dh), 0, 2, 1, 3), n*tq, e)
	return tp.Reshape(a.OutProj.Forward(tp, ctx), n, tq, e)
}

// Params returns torch's names: in_proj_weight, in_proj_bias,
// out_proj.weight and out_proj.bias.
func (a *MultiHeadAttention[T]) Params() []Named[T] {
	return append([]Named[T]{{"in_proj_weight", a.InProj}, {"in_proj_bias", a.InBias}}, Prefix("out_proj", a.OutProj.Params())...)
}

// AttentionPool pools a sequence N×T×E into N×E with learned weights:
// sₜ = Score(xₜ) (a scalar per step), α = softmax over t, out = Σₜ αₜ·xₜ.
type AttentionPool[T Float] struct {
	Score Layer[T] // maps (N·T)×E to (N·T)×1
}

// NewAttentionPool returns attention pooling whose score is a dense layer
// E→1 (hidden = 0) or E→hidden→tanh→1.
func NewAttentionPool[T Float](e, hidden int, r *rand.Rand) *AttentionPool[T] {
	if hidden <= 0 {
		return &AttentionPool[T]{Score: NewDense[T](e, 1, true, r)}
	}
	return &AttentionPool[T]{Score: NewSequential[T](NewDense[T](e, hidden, true, r), Tanh[T](), NewDense[T](hidden, 1, true, r))}
}

// Forward returns the attention-weighted mean of the steps of x (N×T×E).
func (p *AttentionPool[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	if x.Rank() != 3 {
		panic(fmt.Sprintf("nn.AttentionPool: input %v must be N×T×E", x.Shape()))
	}
	n, t, e := x.Dim(0), x.Dim(1), x.Dim(2)
	s := tp.Reshape(p.Score.Forward(tp, tp.Reshape(x, n*t, e)), n, t, 1)
	alpha := tp.Softmax(s, 1)
	return tp.Reshape(tp.Sum(tp.Mul(x, alpha), 1), n, e)
}

// Params returns "score.*".
func (p *AttentionPool[T]) Params() []Named[T] { return Prefix("score", p.Score.Params()) }
