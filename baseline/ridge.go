package baseline

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// Ridge is ridge regression with an unpenalised intercept:
//
//	(b0, B) = argmin Σ_i ‖y_i − b0 − Bᵀx̃_i‖² + α‖B‖²_F,
//
// solved in closed form on centred columns, B = (X̃ᵀX̃ + αI)⁻¹X̃ᵀỸ and
// b0 = ȳ − Bᵀx̄, by a Cholesky factorisation of the smaller of the p×p
// primal and the n×n dual system (B = X̃ᵀ(X̃X̃ᵀ + αI)⁻¹Ỹ). With Standardize
// the columns are also divided by their population sd, so α penalises
// standardised coefficients (sklearn's StandardScaler then Ridge); Coef and
// Intercept are always in the units of x. α = 0 gives the minimum-norm least
// squares solution.
//
// With Alphas set, α is chosen among them by cross-validated mean squared
// error (first minimum on ties): Folds = 0 uses the exact leave-one-out
// residuals e_i/(1 − h_ii) of the hat matrix H = 11ᵀ/n + X̃(X̃ᵀX̃ + αI)⁻¹X̃ᵀ
// from one eigendecomposition, as sklearn's RidgeCV (the sds, if any, come
// from all rows); Folds = k ≥ 2 uses k random folds from Seed (KFold), with
// centring and scaling fitted on each training part, and scores the pooled
// out-of-fold errors Σ SSE / (n·q).
//
// The zero value is least squares. Ridge satisfies Regressor.
type Ridge struct {
	Alpha       float64   // penalty α ≥ 0 when Alphas is empty
	Alphas      []float64 // candidate penalties, chosen by cross-validation
	Folds       int       // 0: leave-one-out; k ≥ 2: k-fold
	Seed        uint64    // shuffles the k folds
	Standardize bool      // penalise standardised coefficients

	// Set by Fit.
	Coef      *mat.Dense // p×q coefficients B, in the units of x
	Intercept []float64  // q intercepts b0
	AlphaUsed float64    // the α of the final fit
	CVMSE     []float64  // CV MSE (GCV score with FitGCV) per candidate α (Alphas, or Alpha in FitFolds); nil when no CV ran
	AlphaGrid []float64  // the candidates FitGCV or FitLOO scored (Alphas, or the spectrum's grid)
}

// Fit fits a single response y (len(y) = rows of x).
func (r *Ridge) Fit(x *mat.Dense, y []float64) error {
	if err := checkXY("Ridge.Fit", x, len(y)); err != nil {
		return err
	}
	return r.fit("Ridge.Fit", x, mat.NewDense(len(y), 1, append([]float64(nil), y...)))
}

// FitMulti fits q responses at once, y being n×q; each column gets its own
// coefficients and CV scores are averaged over the columns.
func (r *Ridge) FitMulti(x, y *mat.Dense) error {
	const fn = "Ridge.FitMulti"
	if y == nil {
		return errorf(fn, "y is nil")
	}
	ny, _ := y.Dims()
	if err := checkXY(fn, x, ny); err != nil {
		return err
	}
	return r.fit(fn, x, y)
}

func (r *Ridge) fit(fn string, x, y *mat.Dense) error {
	n, _ := x.Dims()
	if err := r.checkConfig(fn, n); err != nil {
		return err
	}
	alpha := r.Alpha
	r.CVMSE = nil
	if len(r.Alphas) > 0 {
		var err error
		if r.Folds == 0 {
			r.CVMSE, err = ridgeLOO(x, y, r.Alphas, r.Standardize)
		} else {
			r.CVMSE, err = ridgeKFold(x, y, r.Alphas, r.Standardize, KFold(n, r.Folds, r.Seed))
		}
		if err != nil {
			return errorf(fn, "%w", err)
		}
		alpha = r.Alphas[argmin(r.CVMSE)]
	}
	mx, sd := columnScale(x, r.Standardize)
	my, _ := columnScale(y, false)
	b, err := ridgeSolve(centre(x, mx, sd), centre(y, my, nil), alpha)
	if err != nil {
		return errorf(fn, "%w", err)
	}
	r.set(b, mx, my, sd, alpha)
	return nil
}

// checkConfig validates the fields before a fit on n rows (n = 0: stats).
func (r *Ridge) checkConfig(fn string, n int) error {
	if r.Alpha < 0 || math.IsNaN(r.Alpha) {
		return errorf(fn, "Alpha = %g", r.Alpha)
	}
	for _, a := range r.Alphas {
		if a < 0 || math.IsNaN(a) {
			return errorf(fn, "Alphas holds %g", a)
		}
	}
	if r.Folds == 1 || r.Folds < 0 || (n > 0 && r.Folds > n) {
		return errorf(fn, "Folds = %d with %d rows", r.Folds, n)
	}
	if len(r.Alphas) > 0 && r.Folds == 0 && n > 0 && n < 3 {
		return errorf(fn, "leave-one-out needs at least 3 rows, have %d", n)
	}
	return nil
}

// set stores coefficients b of the standardised problem in x units.
func (r *Ridge) set(b *mat.Dense, mx, my, sd []float64, alpha float64) {
	r.Coef, r.Intercept = unscale(b, mx, my, sd)
	r.AlphaUsed = alpha
}

// unscale turns coefficients of (x − mx)/sd into coefficients of x and
// intercepts b0 = ȳ − Bᵀx̄. A nil sd means 1.
func unscale(b *mat.Dense, mx, my, sd []float64) (*mat.Dense, []float64) {
	p, q := b.Dims()
	coef := mat.DenseCopyOf(b)
	if sd != nil {
		for j := range p {
			row := coef.RawRowView(j)
			for k := range row {
				row[k] /= sd[j]
			}
		}
	}
	b0 := append([]float64(nil), my...)
	for j := range p {
		for k := range q {
			b0[k] -= coef.At(j, k) * mx[j]
		}
	}
	return coef, b0
}

// Predict returns ŷ = b0 + Bᵀx for each row (the first response if q > 1).
func (r *Ridge) Predict(x *mat.Dense) ([]float64, error) {
	yhat, err := r.predict("Ridge.Predict", x)
	if err != nil {
		return nil, err
	}
	return mat.Col(nil, 0, yhat), nil
}

// PredictMulti returns the n×q predictions b0 + Bᵀx.
func (r *Ridge) PredictMulti(x *mat.Dense) (*mat.Dense, error) {
	return r.predict("Ridge.PredictMulti", x)
}

func (r *Ridge) predict(fn string, x *mat.Dense) (*mat.Dense, error) {
	p := 0
	if r.Coef != nil {
		p, _ = r.Coef.Dims()
	}
	if err := checkCols(fn, x, p); err != nil {
		return nil, err
	}
	return linearPredict(x, r.Coef, r.Intercept), nil
}

// linearPredict returns x·B + 1·b0ᵀ.
func linearPredict(x, coef *mat.Dense, b0 []float64) *mat.Dense {
	n, _ := x.Dims()
	_, q := coef.Dims()
	out := mat.NewDense(n, q, nil)
	out.Mul(x, coef)
	for i := range n {
		row := out.RawRowView(i)
		for k := range row {
			row[k] += b0[k]
		}
	}
	return out
}

// ridgeSolve returns B = (xᵀx + αI)⁻¹xᵀy for centred x (n×p) and y (n×q),
// from the smaller of the primal and dual systems; α = 0 (or a system that
// is not numerically positive definite) uses the eigendecomposition and
// the pseudo-inverse, the minimum-norm solution.
func ridgeSolve(x, y *mat.Dense, alpha float64) (*mat.Dense, error) {
	n, p := x.Dims()
	_, q := y.Dims()
	b := mat.NewDense(p, q, nil)
	if alpha > 0 {
		var g mat.SymDense
		if p <= n {
			g.SymOuterK(1, x.T())
		} else {
			g.SymOuterK(1, x)
		}
		for i := range g.SymmetricDim() {
			g.SetSym(i, i, g.At(i, i)+alpha)
		}
		var ch mat.Cholesky
		if ch.Factorize(&g) {
			if p <= n {
				var xty mat.Dense
				xty.Mul(x.T(), y)
				if err := ch.SolveTo(b, &xty); err == nil {
					return b, nil
				}
			} else {
				var z mat.Dense
				if err := ch.SolveTo(&z, y); err == nil {
					b.Mul(x.T(), &z)
					return b, nil
				}
			}
		}
	}
	sp, err := newSpectrum(x, y)
	if err != nil {
		return nil, err
	}
	return sp.coef(alpha), nil
}

// spectrum holds the eigendecomposition of a centred training block used
// to solve ridge for many α at once. With x = UΣVᵀ and λ = σ²:
//
//	primal (n ≥ p): the eigenpairs of xᵀx, basis = V, c = Vᵀxᵀy;
//	dual (n < p): the eigenpairs of xxᵀ, basis = U, c = Uᵀy,
//
// and in both cases the fitted values of a block t are
// t·M·diag(g)·c with g_j = 1/(λ_j + α) and M = V (primal) or xᵀU (dual).
type spectrum struct {
	x     *mat.Dense // centred training block
	dual  bool
	lam   []float64
	basis *mat.Dense
	c     *mat.Dense
	tol   float64 // eigenvalues ≤ tol count as 0 when α = 0
	n, p  int
	q     int
}

func newSpectrum(x, y *mat.Dense) (*spectrum, error) {
	n, p := x.Dims()
	_, q := y.Dims()
	var g mat.SymDense
	dual := n < p
	if dual {
		g.SymOuterK(1, x)
	} else {
		g.SymOuterK(1, x.T())
	}
	lam, v, ok := eigDesc(&g)
	if !ok {
		return nil, errorf("ridge", "eigendecomposition failed")
	}
	s := &spectrum{x: x, dual: dual, lam: lam, basis: v, n: n, p: p, q: q}
	if len(lam) > 0 {
		s.tol = rankTol(lam[0], n, p)
	}
	s.c = mat.NewDense(len(lam), q, nil)
	if dual {
		s.c.Mul(v.T(), y)
	} else {
		var xty mat.Dense
		xty.Mul(x.T(), y)
		s.c.Mul(v.T(), &xty)
	}
	return s, nil
}

// gains returns g_j = 1/(λ_j + α), with 0 for null directions when α = 0.
func (s *spectrum) gains(alpha float64) []float64 {
	g := make([]float64, len(s.lam))
	for j, l := range s.lam {
		if alpha == 0 && l <= s.tol {
			continue
		}
		g[j] = 1 / (l + alpha)
	}
	return g
}

// coef returns B(α) = M·diag(g)·c (p×q).
func (s *spectrum) coef(alpha float64) *mat.Dense {
	gc := mat.DenseCopyOf(s.c)
	for j, gj := range s.gains(alpha) {
		row := gc.RawRowView(j)
		for k := range row {
			row[k] *= gj
		}
	}
	b := mat.NewDense(s.p, s.q, nil)
	if s.dual {
		var ugc mat.Dense
		ugc.Mul(s.basis, gc)
		b.Mul(s.x.T(), &ugc)
	} else {
		b.Mul(s.basis, gc)
	}
	return b
}

// project returns t·M for a centred block t (m×p), the factor that
// predictions of t share across α.
func (s *spectrum) project(t *mat.Dense) *mat.Dense {
	m, _ := t.Dims()
	out := mat.NewDense(m, len(s.lam), nil)
	if s.dual {
		var txt mat.Dense
		txt.Mul(t, s.x.T())
		out.Mul(&txt, s.basis)
	} else {
		out.Mul(t, s.basis)
	}
	return out
}

// predict returns (t·M)·diag(g)·c for a projection tm = t·M.
func (s *spectrum) predict(tm *mat.Dense, alpha float64) *mat.Dense {
	m, r := tm.Dims()
	g := s.gains(alpha)
	scaled := mat.NewDense(m, r, nil)
	for i := range m {
		src, dst := tm.RawRowView(i), scaled.RawRowView(i)
		for j, v := range src {
			dst[j] = v * g[j]
		}
	}
	out := mat.NewDense(m, s.q, nil)
	out.Mul(scaled, s.c)
	return out
}

// ridgeLOO returns the exact leave-one-out MSE for each α (RidgeCV with
// cv=None): residuals (y_i − ŷ_i)/(1 − h_ii) with h_ii = 1/n + Σ_j
// u_ij²·λ_j/(λ_j + α), averaged over rows and responses.
func ridgeLOO(x, y *mat.Dense, alphas []float64, standardize bool) ([]float64, error) {
	n, _ := x.Dims()
	_, q := y.Dims()
	mx, sd := columnScale(x, standardize)
	my, _ := columnScale(y, false)
	xc, yc := centre(x, mx, sd), centre(y, my, nil)
	sp, err := newSpectrum(xc, yc)
	if err != nil {
		return nil, err
	}
	tm := sp.project(xc)
	// w_ij = u_ij²·λ_j: in the primal, (x̃V)_ij² = u_ij²·λ_j; in the dual
	// x̃x̃ᵀU = UΛ, so u_ij²·λ_j = (UΛ)_ij²/λ_j.
	r := len(sp.lam)
	w := mat.NewDense(n, r, nil)
	for i := range n {
		for j := range r {
			v := tm.At(i, j)
			if sp.dual {
				if sp.lam[j] > sp.tol {
					w.Set(i, j, v*v/sp.lam[j])
				}
			} else {
				w.Set(i, j, v*v)
			}
		}
	}
	out := make([]float64, len(alphas))
	for a, alpha := range alphas {
		fit := sp.predict(tm, alpha)
		g := sp.gains(alpha)
		var sse float64
		for i := range n {
			h := 1 / float64(n)
			for j, wij := range w.RawRowView(i) {
				h += wij * g[j]
			}
			for k := range q {
				e := (yc.At(i, k) - fit.At(i, k)) / (1 - h)
				sse += e * e
			}
		}
		out[a] = sse / float64(n*q)
	}
	return out, nil
}

// ridgeKFold returns the k-fold CV MSE Σ SSE/(n·q) for each α, the
// centring and scaling fitted on each training part.
func ridgeKFold(x, y *mat.Dense, alphas []float64, standardize bool, folds []int) ([]float64, error) {
	n, _ := x.Dims()
	_, q := y.Dims()
	k := 0
	for _, f := range folds {
		k = max(k, f+1)
	}
	sse := make([]float64, len(alphas))
	for f := range k {
		train, test := splitFold(folds, f)
		if len(test) == 0 {
			continue
		}
		xtr, ytr := rows(x, train), rows(y, train)
		mx, sd := columnScale(xtr, standardize)
		my, _ := columnScale(ytr, false)
		sp, err := newSpectrum(centre(xtr, mx, sd), centre(ytr, my, nil))
		if err != nil {
			return nil, err
		}
		tm := sp.project(centre(rows(x, test), mx, sd))
		yte := rows(y, test)
		for a, alpha := range alphas {
			pred := sp.predict(tm, alpha)
			for i := range test {
				for c := range q {
					e := yte.At(i, c) - my[c] - pred.At(i, c)
					sse[a] += e * e
				}
			}
		}
	}
	for a := range sse {
		sse[a] /= float64(n * q)
	}
	return sse, nil
}

// argmin returns the index of the first smallest value (NaN never wins).
func argmin(v []float64) int {
	best := 0
	for i, x := range v {
		if x < v[best] || math.IsNaN(v[best]) {
			best = i
		}
	}
	return best
}
