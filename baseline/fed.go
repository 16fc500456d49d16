package baseline

import (
	"github.com/fdrmfl/fdrmfl/internal/linalg"

	"gonum.org/v1/gonum/mat"
)

// ByFold turns per-client fold statistics (clients[c][f] = client c's fold
// f, as from FoldStats) into the folds FitFolds takes: folds[f] lists every
// client's fold f, in client order. Clients with fewer folds contribute to
// the folds they have.
func ByFold(clients [][]*SuffStats) [][]*SuffStats {
	k := 0
	for _, c := range clients {
		k = max(k, len(c))
	}
	folds := make([][]*SuffStats, k)
	for _, c := range clients {
		for f, s := range c {
			if s != nil && s.N > 0 {
				folds[f] = append(folds[f], s)
			}
		}
	}
	return folds
}

// trainTest returns the merge of every fold but f, in fold order.
func trainTest(folds [][]*SuffStats, f int) (*SuffStats, error) {
	return MergeStats(trainParts(folds, f)...)
}

// trainParts lists the statistics of every fold but f, in fold order.
func trainParts(folds [][]*SuffStats, f int) []*SuffStats {
	var parts []*SuffStats
	for g, fold := range folds {
		if g != f {
			parts = append(parts, fold...)
		}
	}
	return parts
}

// checkFolds validates folds of statistics and returns their merge.
func checkFolds(fn string, folds [][]*SuffStats) (*SuffStats, error) {
	if len(folds) < 2 {
		return nil, errorf(fn, "%d folds, need at least 2", len(folds))
	}
	var all []*SuffStats
	for f, fold := range folds {
		n := 0
		for i, s := range fold {
			if err := s.check(fn); err != nil {
				return nil, errorf(fn, "fold %d, statistics %d: %w", f, i, err)
			}
			n += s.N
		}
		if n == 0 {
			return nil, errorf(fn, "fold %d holds no rows", f)
		}
		all = append(all, fold...)
	}
	total, err := MergeStats(all...)
	if err != nil {
		return nil, errorf(fn, "%w", err)
	}
	return total, nil
}

// FitStats fits ridge at the fixed Alpha from merged client statistics s:
// with D = diag(sd) when Standardize (sd_j = √(Sxx_jj/N)), else I,
// B = D⁻¹(D⁻¹SxxD⁻¹ + αI)⁻¹D⁻¹Sxy and b0 = ȳ − Bᵀx̄, equal to Fit on the
// pooled rows. Alphas must be empty: choosing α needs folds (FitFolds).
func (r *Ridge) FitStats(s *SuffStats) error {
	const fn = "Ridge.FitStats"
	if err := r.checkConfig(fn, 0); err != nil {
		return err
	}
	if len(r.Alphas) > 0 {
		return errorf(fn, "Alphas set: choosing α needs folds of statistics (FitFolds)")
	}
	if err := s.check(fn); err != nil {
		return err
	}
	r.CVMSE = nil
	return r.fitStats(fn, s, r.Alpha)
}

func (r *Ridge) fitStats(fn string, s *SuffStats, alpha float64) error {
	sd := r.statsScale(s)
	b, err := ridgeSolveStats(s, sd, alpha)
	if err != nil {
		return errorf(fn, "%w", err)
	}
	if !r.Standardize {
		sd = nil
	}
	r.set(b, s.MeanX, s.MeanY, sd, alpha)
	return nil
}

// statsScale returns the column scales of s for this model (ones unless
// Standardize).
func (r *Ridge) statsScale(s *SuffStats) []float64 {
	if r.Standardize {
		return s.sdX()
	}
	return ones(len(s.MeanX))
}

// ridgeSolveStats solves (D⁻¹SxxD⁻¹ + αI)·B = D⁻¹Sxy by Cholesky, or by
// the eigendecomposition when α = 0 or the system is not numerically
// positive definite.
func ridgeSolveStats(s *SuffStats, sd []float64, alpha float64) (*mat.Dense, error) {
	p, q := s.Sxy.Dims()
	g := scaleSym(s.Sxx, sd)
	rhs := scaleRows(s.Sxy, sd)
	if p >= largeP && alpha > 0 {
		return newCholeskySolver(g, rhs, true).coef(alpha)
	}
	b := mat.NewDense(p, q, nil)
	if alpha > 0 {
		a := mat.NewSymDense(p, nil)
		a.CopySym(g)
		for i := range p {
			a.SetSym(i, i, a.At(i, i)+alpha)
		}
		var ch mat.Cholesky
		if ch.Factorize(a) {
			if err := ch.SolveTo(b, rhs); err == nil {
				return b, nil
			}
		}
	}
	sp, err := newStatsSpectrum(g, rhs, s.N)
	if err != nil {
		return nil, err
	}
	return sp.coef(alpha), nil
}

// scaleRows returns D⁻¹a for D = diag(sd).
func scaleRows(a *mat.Dense, sd []float64) *mat.Dense {
	out := mat.DenseCopyOf(a)
	for j := range sd {
		row := out.RawRowView(j)
		for k := range row {
			row[k] /= sd[j]
		}
	}
	return out
}

// largeP is the number of inputs from which federated ridge solves each
// penalty by a mixed-precision Cholesky factorisation (internal/linalg)
// instead of one eigendecomposition for all penalties: gonum's
// eigendecomposition takes minutes at p = 3604, the factorisation half a
// second.
const largeP = 512

// statsSolver gives ridge coefficients for a penalty α.
type statsSolver interface {
	coef(alpha float64) (*mat.Dense, error)
}

// newStatsSolver returns the solver for a scaled cross-product g (p×p) and
// right-hand side xty (p×q): the eigendecomposition for small p, a
// Cholesky factorisation per α for large p, refined to float64 accuracy
// only when refine is set (cross-validation compares candidates, for which
// float32 solutions are plenty).
func newStatsSolver(g *mat.SymDense, xty *mat.Dense, n int, refine bool) (statsSolver, error) {
	if p, _ := xty.Dims(); p >= largeP {
		return newCholeskySolver(g, xty, refine), nil
	}
	sp, err := newStatsSpectrum(g, xty, n)
	if err != nil {
		return nil, err
	}
	return spectrumSolver{sp}, nil
}

type spectrumSolver struct{ sp *spectrum }

func (s spectrumSolver) coef(alpha float64) (*mat.Dense, error) { return s.sp.coef(alpha), nil }

// choleskySolver solves (g + αI)B = xty with a float32 factorisation
// refined to float64 accuracy.
type choleskySolver struct {
	g      []float64 // full p×p, row-major
	rhs    []float64 // p×q, row-major
	p, q   int
	refine bool
}

func newCholeskySolver(g *mat.SymDense, xty *mat.Dense, refine bool) *choleskySolver {
	p, q := xty.Dims()
	s := &choleskySolver{g: make([]float64, p*p), rhs: make([]float64, p*q), p: p, q: q, refine: refine}
	raw := g.RawSymmetric()
	for i := range p {
		for j := i; j < p; j++ {
			v := raw.Data[i*raw.Stride+j]
			s.g[i*p+j], s.g[j*p+i] = v, v
		}
	}
	for i := range p {
		for j := range q {
			s.rhs[i*q+j] = xty.At(i, j)
		}
	}
	return s
}

func (s *choleskySolver) coef(alpha float64) (*mat.Dense, error) {
	if alpha <= 0 {
		return nil, errorf("ridge", "a penalty α > 0 is needed with %d inputs", s.p)
	}
	c, err := linalg.Factor(s.g, s.p, alpha)
	if err != nil {
		return nil, errorf("ridge", "α = %g: %w", alpha, err)
	}
	if !s.refine {
		return mat.NewDense(s.p, s.q, c.SolveFloat32(s.rhs, s.q)), nil
	}
	return mat.NewDense(s.p, s.q, c.Solve(s.g, alpha, s.rhs, s.q)), nil
}

// newStatsSpectrum is the primal spectrum of a scaled cross-product g
// (p×p) with right-hand side xty (p×q), for N rows.
func newStatsSpectrum(g *mat.SymDense, xty *mat.Dense, n int) (*spectrum, error) {
	p, q := xty.Dims()
	lam, v, ok := eigDesc(g)
	if !ok {
		return nil, errorf("ridge", "eigendecomposition failed")
	}
	s := &spectrum{lam: lam, basis: v, n: n, p: p, q: q}
	if len(lam) > 0 {
		s.tol = rankTol(lam[0], n, p)
	}
	s.c = mat.NewDense(p, q, nil)
	s.c.Mul(v.T(), xty)
	return s, nil
}

// FitFolds chooses α among Alphas (or scores the fixed Alpha if Alphas is
// empty) by cross-validation over folds of statistics (see "Federated
// forms" in the package doc), then fits on the merge of all folds.
// Standardisation, if any, uses the sds of each training part, so with
// FoldStats of the KFold that Fit uses, CVMSE and the choice equal Fit's
// k-fold CV on the pooled rows. Folds and Seed are not used.
func (r *Ridge) FitFolds(folds [][]*SuffStats) error {
	const fn = "Ridge.FitFolds"
	if err := r.checkConfig(fn, 0); err != nil {
		return err
	}
	total, err := checkFolds(fn, folds)
	if err != nil {
		return err
	}
	alphas := r.Alphas
	if len(alphas) == 0 {
		alphas = []float64{r.Alpha}
	}
	q := len(total.MeanY)
	sse := make([]float64, len(alphas))
	for f, fold := range folds {
		train, err := trainTest(folds, f)
		if err != nil {
			return errorf(fn, "%w", err)
		}
		sd := r.statsScale(train)
		sp, err := newStatsSolver(scaleSym(train.Sxx, sd), scaleRows(train.Sxy, sd), train.N, false)
		if err != nil {
			return errorf(fn, "fold %d: %w", f, err)
		}
		for a, alpha := range alphas {
			b, err := sp.coef(alpha)
			if err != nil {
				return errorf(fn, "fold %d: %w", f, err)
			}
			coef, b0 := unscale(b, train.MeanX, train.MeanY, sd)
			for _, s := range fold {
				sse[a] += s.sse(coef, b0)
			}
		}
	}
	r.CVMSE = make([]float64, len(alphas))
	for a := range sse {
		r.CVMSE[a] = sse[a] / float64(total.N*q)
	}
	return r.fitStats(fn, total, alphas[argmin(r.CVMSE)])
}
