// Package linalg holds the dense linear algebra that the classical
// baselines need at sizes where gonum's pure-Go LAPACK is too slow (a
// 3604×3604 eigendecomposition takes minutes there): cross-products,
// Cholesky solves and leading eigenvectors of symmetric matrices, computed
// with the engine's float32 GEMM and brought back to float64 accuracy by
// iterative refinement where it matters. See
// docs/decisions/0004-large-linear-algebra.md.
package linalg

import (
	"errors"
	"fmt"
	"math"

	"github.com/fdrmfl/fdrmfl/internal/gemm"
)

// CrossProduct returns the p×p matrix XᵀX of the n×p row-major x, in
// float64, computed by float32 GEMM in blocks of rows with float64
// accumulation across blocks (rows should be centred for accuracy).
func CrossProduct(x []float64, n, p int) []float64 {
	if len(x) != n*p {
		panic(fmt.Sprintf("linalg.CrossProduct: %d values for %d×%d", len(x), n, p))
	}
	out := make([]float64, p*p)
	const block = 256
	xb := make([]float32, block*p)
	c := make([]float32, p*p)
	for r0 := 0; r0 < n; r0 += block {
		r1 := min(n, r0+block)
		for i, v := range x[r0*p : r1*p] {
			xb[i] = float32(v)
		}
		gemm.Sgemm(true, false, p, p, r1-r0, 1, xb, p, xb, p, 0, c, p)
		for i, v := range c {
			out[i] += float64(v)
		}
	}
	return out
}

// ErrNotPositiveDefinite is returned when a matrix to factor is not
// (numerically) positive definite.
var ErrNotPositiveDefinite = errors.New("linalg: matrix is not positive definite")

// Cholesky is the float32 lower-triangular factor L of a symmetric
// positive definite p×p matrix A = LLᵀ.
type Cholesky struct {
	p int
	l []float32 // row-major, lower triangle used
}

// Factor computes the Cholesky factor of a + shift·I (a is p×p, row-major,
// symmetric; only its lower triangle is read) in float32, in blocks whose
// trailing updates run on GEMM.
func Factor(a []float64, p int, shift float64) (*Cholesky, error) {
	l := make([]float32, p*p)
	for i := range p {
		for j := 0; j <= i; j++ {
			l[i*p+j] = float32(a[i*p+j])
		}
		l[i*p+i] += float32(shift)
	}
	const nb = 96
	inv := make([]float32, nb*nb)
	tmp := make([]float32, p*nb)
	for k := 0; k < p; k += nb {
		b := min(nb, p-k)
		// Factor the diagonal block in place (unblocked, float64 sums).
		for j := k; j < k+b; j++ {
			d := float64(l[j*p+j])
			for t := k; t < j; t++ {
				d -= float64(l[j*p+t]) * float64(l[j*p+t])
			}
			if !(d > 0) {
				return nil, ErrNotPositiveDefinite
			}
			dj := math.Sqrt(d)
			l[j*p+j] = float32(dj)
			for i := j + 1; i < k+b; i++ {
				s := float64(l[i*p+j])
				for t := k; t < j; t++ {
					s -= float64(l[i*p+t]) * float64(l[j*p+t])
				}
				l[i*p+j] = float32(s / dj)
			}
		}
		rest := p - (k + b)
		if rest == 0 {
			break
		}
		// inv = L11⁻¹ (lower), by forward substitution on the identity.
		clear(inv[:b*b])
		for c := range b {
			for i := c; i < b; i++ {
				s := 0.0
				if i == c {
					s = 1
				}
				for t := c; t < i; t++ {
					s -= float64(l[(k+i)*p+k+t]) * float64(inv[t*b+c])
				}
				inv[i*b+c] = float32(s / float64(l[(k+i)*p+k+i]))
			}
		}
		// Panel: L21 = A21·L11⁻ᵀ.
		panel := l[(k+b)*p+k:]
		gemm.Sgemm(false, true, rest, b, b, 1, panel, p, inv, b, 0, tmp, b)
		for i := range rest {
			copy(l[(k+b+i)*p+k:(k+b+i)*p+k+b], tmp[i*b:(i+1)*b])
		}
		// Trailing update of the lower triangle, A22 −= L21·L21ᵀ, one block
		// column at a time (rows from the diagonal down).
		for j := k + b; j < p; j += nb {
			w := min(nb, p-j)
			gemm.Sgemm(false, true, p-j, w, b, -1, l[j*p+k:], p, l[j*p+k:], p, 1, l[j*p+j:], p)
		}
	}
	return &Cholesky{p: p, l: l}, nil
}

// solve32 overwrites x with (LLᵀ)⁻¹x.
func (c *Cholesky) solve32(x []float64) {
	p, l := c.p, c.l
	for i := range p { // L y = x
		s := x[i]
		row := l[i*p : i*p+i]
		for t, v := range row {
			s -= float64(v) * x[t]
		}
		x[i] = s / float64(l[i*p+i])
	}
	for i := p - 1; i >= 0; i-- { // Lᵀ z = y, by columns of Lᵀ (rows of L)
		x[i] /= float64(l[i*p+i])
		xi := x[i]
		for t, v := range l[i*p : i*p+i] {
			x[t] -= float64(v) * xi
		}
	}
}

// SolveFloat32 returns the solution of LLᵀx = b for every column of b
// (p×q) without refinement: the accuracy of the float32 factor.
func (c *Cholesky) SolveFloat32(b []float64, q int) []float64 {
	p := c.p
	x := make([]float64, p*q)
	col := make([]float64, p)
	for j := range q {
		for i := range p {
			col[i] = b[i*q+j]
		}
		c.solve32(col)
		for i := range p {
			x[i*q+j] = col[i]
		}
	}
	return x
}

// Solve returns the solution of (a + shift·I)·x = b for every column of b
// (p×q, row-major), starting from the float32 factor c of that matrix and
// refining in float64 against a until the residual stops shrinking, so
// that the result has float64 accuracy when the matrix is not far from
// singular in float32 terms.
func (c *Cholesky) Solve(a []float64, shift float64, b []float64, q int) []float64 {
	p := c.p
	x := make([]float64, p*q)
	col := make([]float64, p)
	r := make([]float64, p)
	for j := range q {
		for i := range p {
			col[i] = b[i*q+j]
		}
		xj := append([]float64(nil), col...)
		c.solve32(xj)
		prev := math.Inf(1)
		var bn float64
		for _, v := range col {
			bn += v * v
		}
		for range 6 {
			var rn float64
			for i := range p { // r = b − (a + shift·I)·x
				s := col[i] - shift*xj[i]
				row := a[i*p : (i+1)*p]
				for t, v := range row {
					s -= v * xj[t]
				}
				r[i] = s
				rn += s * s
			}
			if rn >= prev*0.25 || rn <= 1e-26*bn {
				break
			}
			prev = rn
			c.solve32(r)
			for i := range p {
				xj[i] += r[i]
			}
		}
		for i := range p {
			x[i*q+j] = xj[i]
		}
	}
	return x
}

// TopEigen returns the leading eigenvalues (descending) and eigenvectors
// (p×k row-major, one per column) of the symmetric positive semi-definite
// p×p matrix a, as many as it takes for the eigenvalues to reach share of
// the trace. It uses block subspace iteration with Rayleigh–Ritz, the
// block growing until it holds the wanted share, with the products on the
// float32 GEMM (eigenvalues and vectors are accurate to about 1e-6
// relative) and the small problems in float64. It returns ok = false when
// the block would exceed maxBlock; the caller then needs a full
// eigendecomposition.
func TopEigen(a []float64, p int, share float64, maxBlock int, seed uint64) (vals []float64, vecs []float64, ok bool) {
	var trace float64
	for i := range p {
		trace += a[i*p+i]
	}
	if trace <= 0 {
		return nil, nil, false
	}
	a32 := toFloat32(a)
	r := newRand(seed)
	b := min(p, 8)
	for {
		vals, vecs = subspace(a32, p, b, r)
		var sum float64
		k := 0
		for k < len(vals) && sum < share*trace {
			sum += vals[k]
			k++
		}
		// The block must hold the wanted pairs plus a margin for accuracy.
		if sum >= share*trace && k <= b-min(4, b/4) || b == p {
			return vals[:k], keepCols(vecs, p, b, k), true
		}
		if b >= maxBlock {
			return nil, nil, false
		}
		b = min(p, maxBlock, 2*b)
	}
}

// TopK returns the k leading eigenvalues (descending) and eigenvectors
// (p×k) of the symmetric positive semi-definite p×p matrix a, by block
// subspace iteration as TopEigen.
func TopK(a []float64, p, k int, seed uint64) (vals []float64, vecs []float64) {
	b := min(p, k+max(8, k/4))
	vals, vecs = subspace(toFloat32(a), p, b, newRand(seed))
	return vals[:k], keepCols(vecs, p, b, k)
}

func toFloat32(a []float64) []float32 {
	out := make([]float32, len(a))
	for i, v := range a {
		out[i] = float32(v)
	}
	return out
}

// subspace runs block subspace iteration with b vectors to convergence and
// returns the Ritz values (descending) and vectors (p×b).
func subspace(a32 []float32, p, b int, r *rng) ([]float64, []float64) {
	v := make([]float64, p*b)
	for i := range v {
		v[i] = r.norm()
	}
	orthonormalize(v, p, b)
	v32 := make([]float32, p*b)
	w32 := make([]float32, p*b)
	w := make([]float64, p*b)
	var prev, vals []float64
	for range 30 { // leading pairs of spectra converge in a few; noise never does, and needs no precision
		for i, x := range v {
			v32[i] = float32(x)
		}
		gemm.Sgemm(false, false, p, b, p, 1, a32, p, v32, b, 0, w32, b) // W = A·V
		for i, x := range w32 {
			w[i] = float64(x)
		}
		var rot []float64
		vals, rot = ritz(v, w, p, b) // H = VᵀAV = R·Λ·Rᵀ
		if prev != nil && converged(prev, vals) {
			return vals, mulSmall(v, rot, p, b)
		}
		prev = vals
		v = mulSmall(w, rot, p, b) // A·V·R spans the next subspace
		orthonormalize(v, p, b)
	}
	return vals, v
}

func converged(prev, cur []float64) bool {
	top := max(cur[0], 1e-300)
	for i := range cur {
		if math.Abs(cur[i]-prev[i]) > 1e-6*top {
			return false
		}
	}
	return true
}

// Outer returns the n×n matrix XXᵀ of the n×p row-major x, in float64,
// computed by the float32 GEMM.
func Outer(x []float64, n, p int) []float64 {
	x32 := toFloat32(x)
	c := make([]float32, n*n)
	gemm.Sgemm(false, true, n, n, p, 1, x32, p, x32, p, 0, c, n)
	out := make([]float64, n*n)
	for i, v := range c {
		out[i] = float64(v)
	}
	return out
}

// Mul returns op(a)·op(b) for row-major float64 matrices — a is m×k (k×m
// if transA), b is k×n (n×k if transB) — computed by the float32 GEMM, for
// products whose float32 rounding (about 1e-7 relative) does not matter,
// such as projections onto components.
func Mul(a []float64, transA bool, b []float64, transB bool, m, k, n int) []float64 {
	c := make([]float32, m*n)
	lda, ldb := k, n
	if transA {
		lda = m
	}
	if transB {
		ldb = k
	}
	gemm.Sgemm(transA, transB, m, n, k, 1, toFloat32(a), lda, toFloat32(b), ldb, 0, c, n)
	out := make([]float64, m*n)
	for i, v := range c {
		out[i] = float64(v)
	}
	return out
}
