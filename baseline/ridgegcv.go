package baseline

import (
	"errors"
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// RidgeSpectrum is the eigendecomposition of pooled statistics that makes
// every ridge penalty cheap. With D = diag(sd) when standardised (else I),
// the scaled cross-product G = D⁻¹SxxD⁻¹ = VΛVᵀ (λ_1 ≥ … ≥ λ_r > 0, r the
// numerical rank) and c = VᵀD⁻¹Sxy (r×q):
//
//	B(α) = D⁻¹·V·diag(1/(λ_j + α))·c,  b0 = ȳ − B(α)ᵀx̄,
//	RSS_k(α) = Syy_kk − Σ_j c_jk²·(λ_j + 2α)/(λ_j + α)²,
//	df(α) = 1 + Σ_j λ_j/(λ_j + α)   (the intercept counts one),
//	GCV(α) = (Σ_k RSS_k/(N·q)) / (1 − df/N)²,
//
// the generalised cross-validation of Golub, Heath & Wahba (1979), exact
// from the statistics alone. Sxy lies in the range of Sxx, so the null
// directions of G carry nothing.
//
// The decomposition needs no rows: for small p a full eigendecomposition
// of G; when the rank is small against p (spectra: r ≤ N − 1 ≪ p) a
// pivoted Cholesky factorisation G = LLᵀ stopped at the rank (L p×r,
// O(p·r²)) and the eigendecomposition of the r×r matrix LᵀL = WΛWᵀ, so
// V = L·W·Λ^(−1/2). The eigenvalues carry an absolute error of about
// r·ε·λ_1, as those of a full decomposition do.
//
// Exact leave-one-out needs each row's leverage, which only its client
// can compute: a client given the spectrum returns its summed squared LOO
// residuals (LOO) and the server adds them; together they equal the
// pooled LOO of sklearn's RidgeCV. The spectrum (p×r) is what the server
// sends.
type RidgeSpectrum struct {
	N            int
	MeanX, MeanY []float64
	Scale        []float64  // the sds of D; nil: unscaled
	Lambda       []float64  // λ_1 ≥ … ≥ λ_r > 0
	V            *mat.Dense // p×r eigenvectors
	C            *mat.Dense // r×q, VᵀD⁻¹Sxy
	Syy          []float64  // the diagonal of Syy
}

// ErrRankTooLarge is returned by NewRidgeSpectrum when the statistics
// could have a rank above MaxSpectrumRank with more inputs than
// fullEigenP: their decomposition would cost minutes. Choose α by folds
// (Ridge.FitFolds) instead.
var ErrRankTooLarge = errors.New("baseline: rank too large for a ridge spectrum; choose α by folds")

// MaxSpectrumRank bounds the rank min(N − 1, p) that NewRidgeSpectrum
// decomposes when p > fullEigenP: an r×r eigendecomposition costs about
// 0.8 s at r = 700 on one core.
const MaxSpectrumRank = 800

// fullEigenP is the number of inputs up to which the full p×p
// eigendecomposition is used (0.2 s at p = 300 is cheaper than the
// factorisation's bookkeeping saves).
const fullEigenP = 300

// NewRidgeSpectrum decomposes merged client statistics s, standardised
// (sd-scaled columns) if standardize.
func NewRidgeSpectrum(s *SuffStats, standardize bool) (*RidgeSpectrum, error) {
	const fn = "NewRidgeSpectrum"
	if err := s.check(fn); err != nil {
		return nil, err
	}
	p, q := s.Sxy.Dims()
	sd := ones(p)
	if standardize {
		sd = s.sdX()
	}
	g := scaleSym(s.Sxx, sd)
	rhs := scaleRows(s.Sxy, sd)
	var lam []float64
	var v *mat.Dense
	switch rank := min(s.N-1, p); {
	case p <= fullEigenP:
		var ok bool
		if lam, v, ok = symBasis(g, s.N); !ok {
			return nil, errorf(fn, "eigendecomposition failed")
		}
	case rank > MaxSpectrumRank:
		return nil, ErrRankTooLarge
	default:
		var ok bool
		if f, r := s.factor(); f != nil {
			fs := factored{Stats: s, F: f, R: r}
			lam, v, ok = factorEigen(fs.scaled(sd), p, r, s.N)
		} else {
			lam, v, ok = lowRankEigen(g, s.N, rank)
		}
		if !ok {
			return nil, errorf(fn, "eigendecomposition failed")
		}
	}
	sp := &RidgeSpectrum{N: s.N, MeanX: append([]float64(nil), s.MeanX...), MeanY: append([]float64(nil), s.MeanY...),
		Lambda: lam, V: v, Syy: make([]float64, q)}
	if standardize {
		sp.Scale = sd
	}
	sp.C = mat.NewDense(max(len(lam), 1), q, nil)
	if len(lam) > 0 {
		sp.C.Mul(v.T(), rhs)
	}
	for k := range q {
		sp.Syy[k] = s.Syy.At(k, k)
	}
	return sp, nil
}

// lowRankEigen returns the eigenpairs of the p×p positive semi-definite g
// above the rank tolerance, found by a pivoted Cholesky factorisation
// stopped after at most maxRank steps or when the largest remaining
// diagonal is rounding noise, then the eigendecomposition of LᵀL.
func lowRankEigen(g *mat.SymDense, n, maxRank int) ([]float64, *mat.Dense, bool) {
	p := g.SymmetricDim()
	raw := g.RawSymmetric()
	full := make([]float64, p*p) // row-major, both triangles
	for i := range p {
		for j := i; j < p; j++ {
			v := raw.Data[i*raw.Stride+j]
			full[i*p+j], full[j*p+i] = v, v
		}
	}
	cols := pivotedCholesky(full, p, maxRank)
	r := len(cols)
	f := make([]float64, p*r)
	for a, c := range cols {
		for i, v := range c {
			f[i*r+a] = v
		}
	}
	return factorEigen(f, p, r, n)
}

// factorEigen returns the eigenpairs above the rank tolerance of FFᵀ, F
// p×r row-major, from the eigendecomposition of FᵀF = WΛWᵀ: V = F·W·Λ^(−1/2).
func factorEigen(f []float64, p, r, n int) ([]float64, *mat.Dense, bool) {
	if r == 0 {
		return nil, nil, true
	}
	lmat := mat.NewDense(p, r, f)
	var ltl mat.SymDense
	ltl.SymOuterK(1, lmat.T())
	vals, w, ok := eigDesc(&ltl)
	if !ok {
		return nil, nil, false
	}
	k := numRank(vals, n, p)
	v := mat.NewDense(p, max(k, 1), nil)
	if k == 0 {
		return nil, nil, true
	}
	v.Mul(lmat, w.Slice(0, r, 0, k))
	for j := range k {
		s := 1 / math.Sqrt(vals[j])
		for i := range p {
			v.Set(i, j, v.At(i, j)*s)
		}
	}
	return vals[:k], v, true
}

// Grid returns n penalties λ_1·10^e, e evenly from −7 to 1: from nearly
// no shrinkage to shrinking every direction ten times past the largest.
func (sp *RidgeSpectrum) Grid(n int) []float64 {
	top := 1.0
	if len(sp.Lambda) > 0 {
		top = sp.Lambda[0]
	}
	g := LogSpace(-7, 1, n)
	floats.Scale(top, g)
	return g
}

// GCV returns the generalised cross-validation score of each α, as in
// the type's doc (+Inf where df(α) ≥ N: the fit interpolates).
func (sp *RidgeSpectrum) GCV(alphas []float64) []float64 {
	q := len(sp.Syy)
	n := float64(sp.N)
	out := make([]float64, len(alphas))
	for a, alpha := range alphas {
		df := 1.0
		var rss float64
		for k := range q {
			rss += sp.Syy[k]
		}
		for j, l := range sp.Lambda {
			df += l / (l + alpha)
			f := (l + 2*alpha) / ((l + alpha) * (l + alpha))
			for k := range q {
				c := sp.C.At(j, k)
				rss -= c * c * f
			}
		}
		if df >= n {
			out[a] = math.Inf(1)
			continue
		}
		den := 1 - df/n
		out[a] = max(rss, 0) / (n * float64(q)) / (den * den)
	}
	return out
}

// Coef returns B(α) in the units of x and the intercepts ȳ − B(α)ᵀx̄.
func (sp *RidgeSpectrum) Coef(alpha float64) (*mat.Dense, []float64) {
	p, q := len(sp.MeanX), len(sp.Syy)
	gc := mat.NewDense(max(len(sp.Lambda), 1), q, nil)
	for j, l := range sp.Lambda {
		for k := range q {
			gc.Set(j, k, sp.C.At(j, k)/(l+alpha))
		}
	}
	b := mat.NewDense(p, q, nil)
	if len(sp.Lambda) > 0 {
		b.Mul(sp.V, gc)
	}
	return unscale(b, sp.MeanX, sp.MeanY, sp.Scale)
}

// LOO is a client's share of the exact leave-one-out error: for its rows x
// (n×p) and responses y (n×q), the summed squared residuals
// Σ_i Σ_k ((y_ik − ŷ_ik(α))/(1 − h_i(α)))² for each α, where ŷ(α) is the
// pooled fit and h_i(α) = 1/N + Σ_j t_ij²/(λ_j + α) the leverage of row i
// in the pooled hat matrix (t_i = x̃_iᵀV). Summed over every client and
// divided by N·q it is the pooled LOO MSE (sklearn's RidgeCV).
func (sp *RidgeSpectrum) LOO(x, y *mat.Dense, alphas []float64) ([]float64, error) {
	const fn = "RidgeSpectrum.LOO"
	if err := checkCols(fn, x, len(sp.MeanX)); err != nil {
		return nil, err
	}
	n, _ := x.Dims()
	if y == nil {
		return nil, errorf(fn, "y is nil")
	}
	if ny, q := y.Dims(); ny != n || q != len(sp.Syy) {
		return nil, errorf(fn, "y is %d×%d, want %d×%d", ny, q, n, len(sp.Syy))
	}
	q, r := len(sp.Syy), len(sp.Lambda)
	out := make([]float64, len(alphas))
	if n == 0 {
		return out, nil
	}
	xc := centre(x, sp.MeanX, sp.Scale)
	t := mat.NewDense(n, max(r, 1), nil)
	if r > 0 {
		t.Mul(xc, sp.V)
	}
	for a, alpha := range alphas {
		for i := range n {
			h := 1 / float64(sp.N)
			row := t.RawRowView(i)
			for j := range r {
				h += row[j] * row[j] / (sp.Lambda[j] + alpha)
			}
			for k := range q {
				var fit float64
				for j := range r {
					fit += row[j] * sp.C.At(j, k) / (sp.Lambda[j] + alpha)
				}
				e := (y.At(i, k) - sp.MeanY[k] - fit) / (1 - h)
				out[a] += e * e
			}
		}
	}
	return out, nil
}

// FitGCV chooses α among Alphas (none: 81 penalties from the spectrum's
// Grid) by generalised cross-validation computed from the merged client
// statistics s alone (RidgeSpectrum), then fits at it. CVMSE holds the
// GCV scores and AlphaGrid the candidates. It returns ErrRankTooLarge
// (wrapped) when the decomposition would be too costly.
func (r *Ridge) FitGCV(s *SuffStats) error {
	const fn = "Ridge.FitGCV"
	if err := r.checkConfig(fn, 0); err != nil {
		return err
	}
	sp, err := NewRidgeSpectrum(s, r.Standardize)
	if err != nil {
		return errorf(fn, "%w", err)
	}
	alphas := r.grid(sp)
	return r.fitSpectrum(sp, alphas, sp.GCV(alphas))
}

// FitLOO chooses α by exact leave-one-out: the server decomposes the
// merged statistics s (NewRidgeSpectrum), each client scores its own rows
// against it (RidgeSpectrum.LOO) and the server adds the scores. Here the
// clients' rows are given in one process (clients[c] = {x, y}); a
// deployment runs LOO on each client. CVMSE holds the LOO MSEs.
func (r *Ridge) FitLOO(s *SuffStats, clients [][2]*mat.Dense) error {
	const fn = "Ridge.FitLOO"
	if err := r.checkConfig(fn, 0); err != nil {
		return err
	}
	sp, err := NewRidgeSpectrum(s, r.Standardize)
	if err != nil {
		return errorf(fn, "%w", err)
	}
	alphas := r.grid(sp)
	sum := make([]float64, len(alphas))
	rows := 0
	for c, xy := range clients {
		part, err := sp.LOO(xy[0], xy[1], alphas)
		if err != nil {
			return errorf(fn, "client %d: %w", c, err)
		}
		floats.Add(sum, part)
		n, _ := xy[0].Dims()
		rows += n
	}
	if rows != s.N {
		return errorf(fn, "the clients hold %d rows, the statistics %d", rows, s.N)
	}
	floats.Scale(1/float64(s.N*len(sp.Syy)), sum)
	return r.fitSpectrum(sp, alphas, sum)
}

func (r *Ridge) grid(sp *RidgeSpectrum) []float64 {
	if len(r.Alphas) > 0 {
		return r.Alphas
	}
	return sp.Grid(81)
}

func (r *Ridge) fitSpectrum(sp *RidgeSpectrum, alphas, scores []float64) error {
	best := argmin(scores)
	r.AlphaGrid, r.CVMSE = alphas, scores
	r.Coef, r.Intercept = sp.Coef(alphas[best])
	r.AlphaUsed = alphas[best]
	return nil
}
