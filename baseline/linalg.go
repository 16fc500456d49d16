package baseline

import (
	"github.com/fdrmfl/fdrmfl/internal/linalg"

	"math"

	"gonum.org/v1/gonum/mat"
)

// eigDesc returns the eigenvalues of the symmetric a in descending order,
// negatives from rounding set to 0, and the matching unit eigenvectors as
// columns. ok is false if the decomposition failed.
func eigDesc(a mat.Symmetric) (vals []float64, vecs *mat.Dense, ok bool) {
	var e mat.EigenSym
	if !e.Factorize(a, true) {
		return nil, nil, false
	}
	asc := e.Values(nil)
	var v mat.Dense
	e.VectorsTo(&v)
	n := len(asc)
	vals = make([]float64, n)
	vecs = mat.NewDense(n, n, nil)
	for j := range n {
		vals[j] = max(asc[n-1-j], 0)
		for i := range n {
			vecs.Set(i, j, v.At(i, n-1-j))
		}
	}
	return vals, vecs, true
}

// rankTol is the size below which an eigenvalue of a Gram matrix with
// largest eigenvalue top is taken as zero: top·max(n, p)·ε, as numpy's
// matrix_rank.
func rankTol(top float64, n, p int) float64 {
	return top * float64(max(n, p)) * 0x1p-52
}

// gramBasis returns the eigenvalues λ_1 ≥ … ≥ λ_r > tol of xᵀx and the
// matching unit eigenvectors (p×r). It decomposes the smaller of xᵀx
// (p×p) and xxᵀ (n×n); from the latter v_j = xᵀu_j / √λ_j. Eigenvalues at
// rounding level (rankTol) are dropped, so r is the numerical rank. With
// want > 0 only that many leading pairs are needed; when they are few
// against the matrix size they are found by subspace iteration
// (internal/linalg) instead of a full decomposition, and large Gram
// matrices are formed on the float32 GEMM.
func gramBasis(x *mat.Dense, want int) (lam []float64, v *mat.Dense, ok bool) {
	n, p := x.Dims()
	m := min(n, p)
	var g mat.SymDense
	large := m >= largeP/2 && n*p >= 1<<17
	if large && x.RawMatrix().Stride != p {
		x = mat.DenseCopyOf(x)
	}
	switch {
	case large && n >= p:
		g = *mat.NewSymDense(p, linalg.CrossProduct(x.RawMatrix().Data, n, p))
	case large:
		g = *mat.NewSymDense(n, linalg.Outer(x.RawMatrix().Data, n, p))
	case n >= p:
		g.SymOuterK(1, x.T())
	default:
		g.SymOuterK(1, x)
	}
	var vals []float64
	var vecs *mat.Dense
	if want > 0 && large && want+8 <= m/4 {
		vv, vc := linalg.TopK(g.RawSymmetric().Data, m, want, 1)
		vals, vecs = vv, mat.NewDense(m, want, vc)
	} else if vals, vecs, ok = eigDesc(&g); !ok {
		return nil, nil, false
	}
	r := numRank(vals, n, p)
	if n >= p {
		return vals[:r], sliceCols(vecs, r), true
	}
	if large { // v = xᵀ·U on the float32 GEMM
		u := mat.DenseCopyOf(vecs.Slice(0, n, 0, r))
		v = mat.NewDense(p, r, linalg.Mul(x.RawMatrix().Data, true, u.RawMatrix().Data, false, p, n, r))
	} else {
		v = mat.NewDense(p, r, nil)
		v.Mul(x.T(), vecs.Slice(0, n, 0, r))
	}
	for j := range r {
		s := 1 / math.Sqrt(vals[j])
		for i := range p {
			v.Set(i, j, v.At(i, j)*s)
		}
	}
	return vals[:r], v, true
}

// symBasis is gramBasis for a given cross-product matrix xᵀx of n rows.
func symBasis(g mat.Symmetric, n int) (lam []float64, v *mat.Dense, ok bool) {
	vals, vecs, ok := eigDesc(g)
	if !ok {
		return nil, nil, false
	}
	r := numRank(vals, n, g.SymmetricDim())
	return vals[:r], sliceCols(vecs, r), true
}

// numRank counts the eigenvalues above rankTol.
func numRank(vals []float64, n, p int) int {
	if len(vals) == 0 || vals[0] == 0 {
		return 0
	}
	tol := rankTol(vals[0], n, p)
	r := 0
	for r < len(vals) && vals[r] > tol {
		r++
	}
	return r
}

// sliceCols returns a copy of the first k columns of a.
func sliceCols(a *mat.Dense, k int) *mat.Dense {
	n, _ := a.Dims()
	out := mat.NewDense(n, k, nil)
	if k > 0 && n > 0 {
		out.Copy(a.Slice(0, n, 0, k))
	}
	return out
}

// flipSigns makes the entry of largest magnitude in each column of v
// positive (the first such entry on ties, as numpy.argmax), so a basis is
// the same whichever decomposition produced it.
func flipSigns(v *mat.Dense) {
	n, k := v.Dims()
	for j := range k {
		best, at := -1.0, 0
		for i := range n {
			if a := math.Abs(v.At(i, j)); a > best {
				best, at = a, i
			}
		}
		if v.At(at, j) < 0 {
			for i := range n {
				v.Set(i, j, -v.At(i, j))
			}
		}
	}
}

// chooseK returns the number of components: fixed if positive, else the
// fewest whose cumulative share of total exceeds share (sklearn's rule
// searchsorted(cumsum, share, "right") + 1). At most len(vals).
func chooseK(fn string, vals []float64, total float64, fixed int, share float64) (int, error) {
	if fixed > 0 {
		if fixed > len(vals) {
			return 0, errorf(fn, "%d components asked, data have rank %d", fixed, len(vals))
		}
		return fixed, nil
	}
	if len(vals) == 0 {
		return 0, errorf(fn, "data have rank 0")
	}
	var cum float64
	for k, v := range vals {
		cum += v
		if cum/total > share {
			return k + 1, nil
		}
	}
	return len(vals), nil
}

// checkRule validates the pair (fixed count, share) shared by PCA and
// TruncatedSVD and returns the share to use (0.90 when both are zero).
func checkRule(fn string, fixed int, share float64) (float64, error) {
	switch {
	case fixed < 0:
		return 0, errorf(fn, "Components = %d", fixed)
	case fixed > 0 && share != 0:
		return 0, errorf(fn, "both Components (%d) and a share (%g) set", fixed, share)
	case fixed == 0 && share == 0:
		return 0.90, nil
	case fixed == 0 && (share <= 0 || share >= 1):
		return 0, errorf(fn, "share %g outside (0, 1)", share)
	}
	return share, nil
}

// scaleSym returns D⁻¹ a D⁻¹ with D = diag(sd): a cross-product matrix of
// standardised columns.
func scaleSym(a mat.Symmetric, sd []float64) *mat.SymDense {
	p := a.SymmetricDim()
	out := mat.NewSymDense(p, nil)
	for i := range p {
		for j := i; j < p; j++ {
			out.SetSym(i, j, a.At(i, j)/(sd[i]*sd[j]))
		}
	}
	return out
}

// ones returns a slice of n ones.
func ones(n int) []float64 {
	s := make([]float64, n)
	for i := range s {
		s[i] = 1
	}
	return s
}

// sqrt is math.Sqrt, short for formulas.
func sqrt(x float64) float64 { return math.Sqrt(x) }
