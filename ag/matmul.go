package ag

import "fmt"

// MatMul returns op(a)·op(b) for matrices, where op transposes its
// argument when the matching flag is set: a is m×k (k×m if transA) and b
// is k×n (n×k if transB); the result is m×n.
func (tp *Tape[T]) MatMul(a, b *Var[T], transA, transB bool) *Var[T] {
	if a.Rank() != 2 || b.Rank() != 2 {
		panic(fmt.Sprintf("ag.MatMul: want matrices, got shapes %v and %v", a.shape, b.shape))
	}
	m, k := a.shape[0], a.shape[1]
	if transA {
		m, k = k, m
	}
	k2, n := b.shape[0], b.shape[1]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		panic(fmt.Sprintf("ag.MatMul: shapes %v (transposed: %v) and %v (transposed: %v) do not multiply: inner sizes %d and %d",
			a.shape, transA, b.shape, transB, k, k2))
	}
	out := tp.newVar([]int{m, n}, a.needGrad || b.needGrad)
	gemm(transA, transB, m, n, k, 1, a.data, a.shape[1], b.data, b.shape[1], 0, out.data, n)
	tp.record(out, func(g []T) {
		matmulBackward(tp, a, b, transA, transB, m, n, k, g, 0, 0, 0)
	})
	return out
}

// matmulBackward adds the gradients of C = op(A)·op(B) (C is m×n, inner
// size k) given dC = g, for the matrices at element offsets ao, bo, co.
func matmulBackward[T Float](tp *Tape[T], a, b *Var[T], transA, transB bool, m, n, k int, g []T, ao, bo, co int) {
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	if a.needGrad {
		ga := tp.gradOf(a)[ao:]
		if !transA { // dA (m×k) += dC·op(B)ᵀ
			gemm(false, !transB, m, k, n, 1, g[co:], n, b.data[bo:], ldb, 1, ga, lda)
		} else { // dA (k×m) += op(B)·dCᵀ
			gemm(transB, true, k, m, n, 1, b.data[bo:], ldb, g[co:], n, 1, ga, lda)
		}
	}
	if b.needGrad {
		gb := tp.gradOf(b)[bo:]
		if !transB { // dB (k×n) += op(A)ᵀ·dC
			gemm(!transA, false, k, n, m, 1, a.data[ao:], lda, g[co:], n, 1, gb, ldb)
		} else { // dB (n×k) += dCᵀ·op(A)
			gemm(true, transA, n, k, m, 1, g[co:], n, a.data[ao:], lda, 1, gb, ldb)
		}
	}
}

// BatchMatMul multiplies matching matrices of two batches: a is B×m×k
// (B×k×m if transA), b is B×k×n (B×n×k if transB); the result is B×m×n.
func (tp *Tape[T]) BatchMatMul(a, b *Var[T], transA, transB bool) *Var[T] {
	if a.Rank() != 3 || b.Rank() != 3 || a.shape[0] != b.shape[0] {
		panic(fmt.Sprintf("ag.BatchMatMul: want two batches of matrices of the same length, got shapes %v and %v", a.shape, b.shape))
	}
	bs := a.shape[0]
	m, k := a.shape[1], a.shape[2]
	if transA {
		m, k = k, m
	}
	k2, n := b.shape[1], b.shape[2]
	if transB {
		k2, n = n, k2
	}
	if k != k2 {
		panic(fmt.Sprintf("ag.BatchMatMul: shapes %v (transposed: %v) and %v (transposed: %v) do not multiply: inner sizes %d and %d",
			a.shape, transA, b.shape, transB, k, k2))
	}
	out := tp.newVar([]int{bs, m, n}, a.needGrad || b.needGrad)
	sa, sb, sc := m*k, k*n, m*n
	for i := range bs {
		gemm(transA, transB, m, n, k, 1, a.data[i*sa:], a.shape[2], b.data[i*sb:], b.shape[2], 0, out.data[i*sc:], n)
	}
	tp.record(out, func(g []T) {
		for i := range bs {
			matmulBackward(tp, a, b, transA, transB, m, n, k, g, i*sa, i*sb, i*sc)
		}
	})
	return out
}

// Linear returns x·wᵀ + b, the affine map of a dense layer: x is N×in, w is
// out×in and b (nil for none) has out elements; the result is N×out.
func (tp *Tape[T]) Linear(x, w, b *Var[T]) *Var[T] {
	if x.Rank() != 2 || w.Rank() != 2 || x.shape[1] != w.shape[1] {
		panic(fmt.Sprintf("ag.Linear: input %v does not fit weight %v (want N×in and out×in)", x.shape, w.shape))
	}
	n, in, outDim := x.shape[0], x.shape[1], w.shape[0]
	if b != nil && b.Len() != outDim {
		panic(fmt.Sprintf("ag.Linear: bias %v does not fit weight %v", b.shape, w.shape))
	}
	need := x.needGrad || w.needGrad || (b != nil && b.needGrad)
	out := tp.newVar([]int{n, outDim}, need)
	y := out.data
	beta := T(0)
	if b != nil {
		for i := range n {
			copy(y[i*outDim:(i+1)*outDim], b.data)
		}
		beta = 1
	}
	gemm(false, true, n, outDim, in, 1, x.data, in, w.data, in, beta, y, outDim)
	tp.record(out, func(g []T) {
		if w.needGrad { // dW += gᵀ·x
			gemm(true, false, outDim, in, n, 1, g, outDim, x.data, in, 1, tp.gradOf(w), in)
		}
		if b != nil && b.needGrad { // db += Σ_rows g
			gb := tp.gradOf(b)
			for i := range n {
				addTo(gb, g[i*outDim:(i+1)*outDim])
			}
		}
		if x.needGrad { // dx += g·W
			gemm(false, false, n, in, outDim, 1, g, outDim, w.data, in, 1, tp.gradOf(x), in)
		}
	})
	return out
}
