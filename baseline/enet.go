package baseline

import (
	"math"
	"slices"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"
)

// ElasticNet is linear regression with an L1 and L2 penalty, in
// scikit-learn's ElasticNet form (Lasso when L1Ratio is 1):
//
//	(b0, w) = argmin (1/(2n))·‖y − b0 − X̃w‖² + α·ρ·‖w‖₁ + (α·(1−ρ)/2)·‖w‖²,
//
// with ρ the L1 ratio, X̃ the centred (and, with Standardize, sd-scaled)
// inputs and an unpenalised intercept b0 = ȳ − wᵀx̄. It is solved by
// cyclic coordinate descent on the Gram matrix G = X̃ᵀX̃ and X̃ᵀy alone
// (covariance updates, as sklearn's precompute=True): with H = Gw kept up
// to date,
//
//	w_j ← S(X̃ᵀy_j − H_j + G_jj·w_j, n·α·ρ) / (G_jj + n·α·(1−ρ)),
//
// S the soft threshold, until the largest change of a sweep is below
// Tol·max|w| and the duality gap is below Tol·‖ỹ‖² (sklearn's rule).
// Because only G and X̃ᵀy enter, the fit from summed client statistics
// (FitStats, FitFolds) is exact.
//
// With a grid (Alphas, or NAlphas points from α_max = max|X̃ᵀy|/(n·ρ),
// the smallest α that keeps w = 0, down to Eps·α_max, evenly on a log
// scale) the path is fitted from the largest α down, each fit starting
// from the previous solution (warm starts), and α — and ρ among L1Ratios
// — is chosen by the least cross-validated MSE Σ SSE/(n·q) over the
// folds (first minimum on ties), as sklearn's ElasticNetCV. The grid comes
// from all the data and serves every fold; the final fit at the chosen α
// starts from zero, as sklearn's refit does.
//
// ElasticNet satisfies Regressor. A single response is fitted.
type ElasticNet struct {
	Alpha       float64   // penalty α ≥ 0 without a grid
	L1Ratio     float64   // ρ in (0, 1]; 0 means 1 (lasso)
	L1Ratios    []float64 // candidate ρ for cross-validation; nil: L1Ratio alone
	Alphas      []float64 // candidate α; nil with NAlphas > 0: the path grid
	NAlphas     int       // length of the path grid (sklearn: 100); 0 without Alphas: fixed Alpha
	Eps         float64   // α_min/α_max of the grid; 0: 1e-3
	Tol         float64   // convergence tolerance; 0: 1e-4
	MaxIter     int       // sweeps per fit; 0: 1000
	Folds       int       // k-fold CV of Fit on rows; 0: 5
	Seed        uint64    // shuffles Fit's folds
	Standardize bool      // penalise standardised coefficients

	// Set by a fit.
	Coef        *mat.Dense  // p×1 coefficients w, in the units of x
	Intercept   []float64   // b0
	AlphaUsed   float64     // the α of the final fit
	L1RatioUsed float64     // the ρ of the final fit
	Grid        [][]float64 // Grid[r]: the α path of ratio r (descending); nil without CV
	CVMSE       [][]float64 // CVMSE[r][a]: CV MSE of ratio r at Grid[r][a]; nil without CV
	Iters       int         // sweeps of the final fit
	Gap         float64     // duality gap of the final fit (in the units of ½‖ỹ‖²)
}

// enetGram is a least squares problem in Gram form: G = X̃ᵀX̃ (p×p),
// b = X̃ᵀỹ and yy = ỹᵀỹ over n rows. G is held either in full (g,
// row-major) or, when its rank r is small against p (spectra: r ≤ n − 1),
// as a factor F (p×r, row-major) with G = FFᵀ from a pivoted Cholesky
// factorisation: then (G·w)_j = F_j·(Fᵀw) costs r instead of a p-long
// update per change, and coordinate descent runs the same iterates at a
// fraction of the cost, as sklearn's solver on the rows does.
type enetGram struct {
	g    []float64
	f    []float64
	r    int
	diag []float64
	b    []float64
	yy   float64
	n, p int
	cols map[int][]float64 // columns of a factored G in use, by column
}

// newEnetGram scales the statistics of s by sd (D⁻¹SxxD⁻¹, D⁻¹Sxy) for
// the first response, as a factor when s is low-rank.
func newEnetGram(s *SuffStats, sd []float64) *enetGram {
	if f, r := s.factor(); f != nil {
		return newEnetFactor(factored{Stats: s, F: f, R: r}, sd)
	}
	p := len(s.MeanX)
	e := &enetGram{g: make([]float64, p*p), b: make([]float64, p), diag: make([]float64, p), yy: s.Syy.At(0, 0), n: s.N, p: p}
	raw := s.Sxx.RawSymmetric()
	for i := range p {
		row := raw.Data[i*raw.Stride : i*raw.Stride+p]
		for j := i; j < p; j++ {
			v := row[j] / (sd[i] * sd[j])
			e.g[i*p+j], e.g[j*p+i] = v, v
		}
		e.diag[i] = e.g[i*p+i]
		e.b[i] = s.Sxy.At(i, 0) / sd[i]
	}
	return e
}

// newEnetFactor is newEnetGram for factored statistics.
func newEnetFactor(fm factored, sd []float64) *enetGram {
	s := fm.Stats
	p := len(s.MeanX)
	e := &enetGram{f: fm.scaled(sd), r: fm.R, b: make([]float64, p), diag: make([]float64, p), yy: s.Syy.At(0, 0), n: s.N, p: p}
	for i := range p {
		row := e.f[i*e.r : i*e.r+e.r]
		e.diag[i] = floats.Dot(row, row)
		e.b[i] = s.Sxy.At(i, 0) / sd[i]
	}
	return e
}

// pivotedCholesky factors the p×p positive semi-definite g (row-major,
// both triangles) as LLᵀ by diagonal pivoting (LAPACK's dpstrf), stopping
// after maxRank columns or when the largest remaining diagonal is rounding
// noise (p·ε·max diag), and returns the columns of L.
func pivotedCholesky(g []float64, p, maxRank int) [][]float64 {
	d := make([]float64, p)
	var top float64
	for i := range p {
		d[i] = g[i*p+i]
		top = max(top, d[i])
	}
	if top <= 0 {
		return nil
	}
	tol := float64(p) * 0x1p-52 * top
	var cols [][]float64
	for range maxRank {
		j := floats.MaxIdx(d)
		if d[j] <= tol {
			break
		}
		l := append([]float64(nil), g[j*p:j*p+p]...)
		for _, c := range cols {
			floats.AddScaled(l, -c[j], c)
		}
		floats.Scale(1/math.Sqrt(d[j]), l)
		for i := range p {
			d[i] -= l[i] * l[i]
		}
		d[j] = 0 // exactly eliminated
		cols = append(cols, l)
	}
	return cols
}

// column returns G's column j, cached while a feature-sign search runs.
func (e *enetGram) column(j int) []float64 {
	if e.f == nil {
		return e.g[j*e.p : j*e.p+e.p]
	}
	if c, ok := e.cols[j]; ok {
		return c
	}
	c := make([]float64, e.p)
	fj := e.f[j*e.r : j*e.r+e.r]
	for i := range c {
		c[i] = floats.Dot(e.f[i*e.r:i*e.r+e.r], fj)
	}
	if e.cols != nil {
		e.cols[j] = c
	}
	return c
}

// gAt returns G_ij.
func (e *enetGram) gAt(i, j int) float64 {
	if e.f == nil {
		return e.g[i*e.p+j]
	}
	return floats.Dot(e.f[i*e.r:i*e.r+e.r], e.f[j*e.r:j*e.r+e.r])
}

// alphaMax is the smallest α whose solution is w = 0 at L1 ratio rho.
func (e *enetGram) alphaMax(rho float64) float64 {
	return floats.Norm(e.b, math.Inf(1)) / (float64(e.n) * rho)
}

// enetState is a solution w with what keeps G·w at hand: h = G·w when G
// is held in full, u = Fᵀw when factored.
type enetState struct {
	w, h, u []float64
}

func (e *enetGram) newState() *enetState {
	st := &enetState{w: make([]float64, e.p)}
	if e.f == nil {
		st.h = make([]float64, e.p)
	} else {
		st.u = make([]float64, e.r)
	}
	return st
}

// gw returns (G·w)_j.
func (e *enetGram) gw(st *enetState, j int) float64 {
	if e.f == nil {
		return st.h[j]
	}
	return floats.Dot(e.f[j*e.r:j*e.r+e.r], st.u)
}

// move adds d to w_j.
func (e *enetGram) move(st *enetState, j int, d float64) {
	st.w[j] += d
	if e.f == nil {
		floats.AddScaled(st.h, d, e.g[j*e.p:j*e.p+e.p])
	} else {
		floats.AddScaled(st.u, d, e.f[j*e.r:j*e.r+e.r])
	}
}

// fullGW returns G·w.
func (e *enetGram) fullGW(st *enetState) []float64 {
	if e.f == nil {
		return st.h
	}
	h := make([]float64, e.p)
	for j := range h {
		h[j] = floats.Dot(e.f[j*e.r:j*e.r+e.r], st.u)
	}
	return h
}

// solve runs coordinate descent from st (updated in place) at penalty
// alpha and L1 ratio rho, and returns the sweeps run and the final
// duality gap.
//
// Full sweeps over every coordinate alternate with sweeps over the active
// set (the nonzero coefficients) alone, on G restricted to it (glmnet's
// strategy). On spectra, whose columns are nearly collinear, coordinate
// descent crawls; when the active sweeps do (every newtonAfter of them), a
// step towards the exact minimiser with the current signs,
// (G_AA + n·α·(1−ρ)·I)⁻¹(X̃ᵀy_A − n·α·ρ·sign(w_A)), is taken as far as no
// coefficient changes sign (feature-sign search): the objective falls
// along it, and once the signs are right it lands on the optimum. The
// stopping rule is sklearn's: the largest change of a full sweep below
// tol·max|w|, then the duality gap below tol·‖ỹ‖².
func (e *enetGram) solve(st *enetState, alpha, rho, tol float64, maxIter int) (iters int, gap float64) {
	l1 := alpha * rho * float64(e.n)
	l2 := alpha * (1 - rho) * float64(e.n)
	gapTol := tol * e.yy
	if !cdOnly && (e.f != nil || e.p <= fssMaxP) {
		var ok bool
		if iters, gap, ok = e.featureSign(st, l1, l2, gapTol, maxIter); ok {
			return iters, gap
		}
	}
	all := make([]int, e.p)
	for j := range all {
		all[j] = j
	}
	for iters < maxIter {
		wMax, dMax := e.sweep(st, all, l1, l2)
		iters++
		if wMax == 0 || dMax/wMax < tol || iters == maxIter {
			gap = e.gap(st.w, e.fullGW(st), l1, l2)
			if gap < gapTol || iters == maxIter {
				return iters, gap
			}
		}
		iters += e.activeSweeps(st, l1, l2, tol, maxIter-iters)
	}
	return iters, e.gap(st.w, e.fullGW(st), l1, l2)
}

// sweep updates the coordinates in set once and returns max|w| over them
// and the largest change.
func (e *enetGram) sweep(st *enetState, set []int, l1, l2 float64) (wMax, dMax float64) {
	for _, j := range set {
		gjj := e.diag[j]
		if gjj == 0 {
			continue
		}
		old := st.w[j]
		nw := softStep(e.b[j]-e.gw(st, j)+gjj*old, l1, gjj+l2)
		if d := nw - old; d != 0 {
			e.move(st, j, d)
			st.w[j] = nw // exact, whatever the rounding of old + d
			dMax = max(dMax, math.Abs(d))
		}
		wMax = max(wMax, math.Abs(nw))
	}
	return wMax, dMax
}

// featureSign solves the problem by feature-sign search (Lee, Battle,
// Raina & Ng 2007), which suits the factored, low-rank case: its
// solutions have few nonzeros, the columns are nearly collinear (where
// coordinate descent crawls), and each step solves a small system. From
// w, it repeats: if the nonzeros are not optimal for their signs, solve
// (G_AA + l2·I)x = b_A − l1·sign(w_A) and move to the point of least
// objective among x and the points on the way where a coefficient reaches
// zero (those leave); else let in the zero coefficient that violates its
// optimality condition |b_j − (G·w)_j| ≤ l1 most, with the sign of the
// violation. Each step lowers the objective, so it ends, at the exact
// optimum, in finitely many steps; it stops when the duality gap is below
// gapTol. ok is false, with w left at a feasible point, if the nonzeros
// outgrow maxNewton or a system is singular: coordinate descent takes
// over.
func (e *enetGram) featureSign(st *enetState, l1, l2, gapTol float64, maxSteps int) (steps int, gap float64, ok bool) {
	signs := map[int]float64{} // the active set: nonzeros and the one let in
	for j, v := range st.w {
		if v != 0 {
			signs[j] = math.Copysign(1, v)
		}
	}
	e.cols = map[int][]float64{}
	defer func() { e.cols = nil }()
	for steps < maxSteps {
		h := e.fullGW(st)
		gap = e.gap(st.w, h, l1, l2)
		if gap < gapTol {
			return steps, gap, true
		}
		steps++
		optimal := true
		for j := range signs {
			if st.w[j] == 0 || math.Abs(e.b[j]-h[j]-l2*st.w[j]-l1*signs[j]) > 1e-9*(l1+math.Abs(e.b[j])) {
				optimal = false
				break
			}
		}
		if optimal {
			best, at := l1*(1+1e-12), -1
			for j, v := range st.w {
				if v == 0 && e.diag[j] != 0 {
					if c := math.Abs(e.b[j] - h[j]); c > best {
						best, at = c, j
					}
				}
			}
			if at < 0 {
				return steps, gap, true // optimal to rounding; the gap says so too
			}
			signs[at] = math.Copysign(1, e.b[at]-h[at])
		}
		if len(signs) > maxNewton || !e.signStep(st, signs, l1, l2) {
			return steps, gap, false
		}
	}
	return steps, e.gap(st.w, e.fullGW(st), l1, l2), true
}

// signStep solves the system of the active set with the given signs and
// moves w to the point of least objective among the solution and the
// points on the segment where a coefficient reaches zero; coefficients
// left at zero leave the active set. It reports false if the system is
// not numerically positive definite.
func (e *enetGram) signStep(st *enetState, signs map[int]float64, l1, l2 float64) bool {
	act := make([]int, 0, len(signs))
	for j := range signs {
		act = append(act, j)
	}
	slices.Sort(act)
	m := len(act)
	ga := make([]float64, m*m)
	for i, a := range act {
		col := e.column(a)
		for j, b := range act {
			ga[i*m+j] = col[b]
		}
	}
	// Solve (G_AA + l2·I)x = b_A − l1·s_A by Cholesky (no condition
	// estimate: a failed factorisation is the test that matters).
	sys := make([]float64, m*m)
	copy(sys, ga)
	xs := make([]float64, m)
	for i, a := range act {
		sys[i*m+i] += l2
		xs[i] = e.b[a] - l1*signs[a]
	}
	tri, ok := lapack64.Potrf(blas64.Symmetric{Uplo: blas.Upper, N: m, Stride: m, Data: sys})
	if !ok {
		return false
	}
	lapack64.Potrs(tri, blas64.General{Rows: m, Cols: 1, Stride: 1, Data: xs})
	for _, v := range xs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return false
		}
	}
	x := mat.NewVecDense(m, xs)
	cur := make([]float64, m)
	for i, a := range act {
		cur[i] = st.w[a]
	}
	// The objective restricted to the active set, at cur + t·(x − cur).
	obj := func(t float64) float64 {
		v := make([]float64, m)
		for i := range v {
			v[i] = cur[i] + t*(x.AtVec(i)-cur[i])
		}
		var f float64
		for i, vi := range v {
			gv := floats.Dot(ga[i*m:i*m+m], v)
			f += vi*(0.5*gv+0.5*l2*vi-e.b[act[i]]) + l1*math.Abs(vi)
		}
		return f
	}
	ts := []float64{1}
	for i := range act {
		if xi := x.AtVec(i); cur[i] != 0 && xi*cur[i] < 0 {
			ts = append(ts, cur[i]/(cur[i]-xi))
		}
	}
	bt, bf := 1.0, math.Inf(1)
	for _, t := range ts {
		if f := obj(t); f < bf {
			bt, bf = t, f
		}
	}
	for i, a := range act {
		nw := cur[i] + bt*(x.AtVec(i)-cur[i])
		if bt < 1 && cur[i] != 0 && nw*cur[i] <= 0 || math.Abs(nw) < 1e-300 {
			nw = 0
		}
		if d := nw - st.w[a]; d != 0 {
			e.move(st, a, d)
			st.w[a] = nw
		}
		if nw == 0 {
			delete(signs, a)
		} else {
			signs[a] = math.Copysign(1, nw)
		}
	}
	return true
}

// softStep is S(t, l1)/d, S the soft threshold.
func softStep(t, l1, d float64) float64 {
	if a := math.Abs(t) - l1; a > 0 {
		return math.Copysign(a, t) / d
	}
	return 0
}

// newtonAfter is the number of active sweeps after which (and every so
// many after) a feature-sign step is tried.
const newtonAfter = 10

// maxNewton bounds the size of the system a feature-sign step solves.
const maxNewton = 400

// fssMaxP is the number of inputs up to which a problem held in full is
// solved by feature-sign search first (spectra of up to a few hundred
// channels, nearly collinear); larger full problems (the simulation's
// 3604 independent inputs, hundreds of nonzeros) go to coordinate
// descent, which converges fast on them.
const fssMaxP = 500

// cdOnly turns feature-sign search off, so that tests check coordinate
// descent alone.
var cdOnly = false

// activeSweeps runs at most budget sweeps over the nonzero coefficients
// alone, until their largest change falls below tol·max|w|, on the
// sub-problem of G restricted to them (held in full when smaller than
// the factor's rank), and returns the sweeps run.
func (e *enetGram) activeSweeps(st *enetState, l1, l2, tol float64, budget int) int {
	var act []int
	for j, v := range st.w {
		if v != 0 {
			act = append(act, j)
		}
	}
	k := len(act)
	if k == 0 || budget <= 0 {
		return 0
	}
	sub := &enetGram{b: make([]float64, k), diag: make([]float64, k), n: e.n, p: k}
	if e.f == nil || k <= e.r {
		sub.g = make([]float64, k*k)
		for a, i := range act {
			for b := a; b < k; b++ {
				v := e.gAt(i, act[b])
				sub.g[a*k+b], sub.g[b*k+a] = v, v
			}
		}
	} else {
		sub.f, sub.r = make([]float64, k*e.r), e.r
		for a, i := range act {
			copy(sub.f[a*e.r:a*e.r+e.r], e.f[i*e.r:i*e.r+e.r])
		}
	}
	ss := sub.newState()
	for a, i := range act {
		sub.b[a], sub.diag[a] = e.b[i], e.diag[i]
		sub.move(ss, a, st.w[i])
	}
	idx := make([]int, k)
	for a := range idx {
		idx[a] = a
	}
	n := 0
	for n < budget {
		wMax, dMax := sub.sweep(ss, idx, l1, l2)
		n++
		done := wMax == 0 || dMax/wMax < tol
		// Finish with a feature-sign step once the sweeps settle, or
		// when they crawl; one that lands on the sign-restricted optimum
		// solves the active problem exactly.
		if (done || n%newtonAfter == 0) && sub.featureSignStep(ss, l1, l2) {
			break
		}
		if done {
			break
		}
	}
	for a, i := range act {
		if d := ss.w[a] - st.w[i]; d != 0 {
			e.move(st, i, d)
			st.w[i] = ss.w[a]
		}
	}
	return n
}

// featureSignStep moves the nonzero coefficients towards the minimiser of
// the objective with their current signs (zero ones stay zero), as far as
// no coefficient crosses zero, and reports whether it reached it (no sign
// changed) with every zero coefficient satisfying its optimality
// condition |X̃ᵀy_j − (G·w)_j| ≤ n·α·ρ: then w solves the problem exactly.
// It does nothing for more than maxNewton nonzeros or if the restricted
// system is not numerically positive definite.
func (e *enetGram) featureSignStep(st *enetState, l1, l2 float64) bool {
	var nz []int
	for a, v := range st.w {
		if v != 0 {
			nz = append(nz, a)
		}
	}
	m := len(nz)
	if m == 0 || m > maxNewton {
		return false
	}
	sys := mat.NewSymDense(m, nil)
	rhs := mat.NewVecDense(m, nil)
	for i, a := range nz {
		for j := i; j < m; j++ {
			sys.SetSym(i, j, e.gAt(a, nz[j]))
		}
		sys.SetSym(i, i, e.diag[a]+l2)
		rhs.SetVec(i, e.b[a]-math.Copysign(l1, st.w[a]))
	}
	var ch mat.Cholesky
	if !ch.Factorize(sys) {
		return false
	}
	var x mat.VecDense
	if err := ch.SolveVecTo(&x, rhs); err != nil {
		return false
	}
	t := 1.0
	for i, a := range nz {
		if xv := x.AtVec(i); xv*st.w[a] < 0 {
			t = min(t, st.w[a]/(st.w[a]-xv))
		}
	}
	for i, a := range nz {
		old := st.w[a]
		nw := old + t*(x.AtVec(i)-old)
		if nw*old <= 0 {
			nw = 0 // the coefficient that reached zero leaves
		}
		if d := nw - old; d != 0 {
			e.move(st, a, d)
			st.w[a] = nw
		}
	}
	if t < 1 {
		return false
	}
	for j, v := range st.w {
		if v == 0 && e.diag[j] != 0 && math.Abs(e.b[j]-e.gw(st, j)) > l1*(1+1e-12) {
			return false
		}
	}
	return true
}

// gap is the duality gap of sklearn's enet_coordinate_descent_gram.
func (e *enetGram) gap(w, h []float64, l1, l2 float64) float64 {
	var dual, qw, wh, ww, asum float64
	for j := range w {
		dual = max(dual, math.Abs(e.b[j]-h[j]-l2*w[j]))
		qw += w[j] * e.b[j]
		wh += w[j] * h[j]
		ww += w[j] * w[j]
		asum += math.Abs(w[j])
	}
	r2 := e.yy + wh - 2*qw
	c := 1.0
	var gap float64
	if dual > l1 {
		c = l1 / dual
		gap = 0.5 * (r2 + r2*c*c)
	} else {
		gap = r2
	}
	return gap + l1*asum - c*e.yy + c*qw + 0.5*l2*(1+c*c)*ww
}

// Fit fits y on the rows of x: at the fixed Alpha, or along the grid with
// α (and ρ) chosen by k-fold CV over Folds random folds from Seed (the
// fold statistics of FitFolds, so the two agree).
func (m *ElasticNet) Fit(x *mat.Dense, y []float64) error {
	const fn = "ElasticNet.Fit"
	if err := checkXY(fn, x, len(y)); err != nil {
		return err
	}
	n, _ := x.Dims()
	ym := mat.NewDense(n, 1, append([]float64(nil), y...))
	if !m.hasGrid() {
		s, err := NewSuffStats(x, ym)
		if err != nil {
			return errorf(fn, "%w", err)
		}
		return m.fitStats(fn, s)
	}
	k := m.Folds
	if k == 0 {
		k = 5
	}
	if k < 2 || k > n {
		return errorf(fn, "%d folds of %d rows", k, n)
	}
	fs, err := FoldStats(x, ym, KFold(n, k, m.Seed))
	if err != nil {
		return errorf(fn, "%w", err)
	}
	folds := make([][]*SuffStats, len(fs))
	for f, s := range fs {
		folds[f] = []*SuffStats{s}
	}
	return m.fitFolds(fn, folds)
}

func (m *ElasticNet) hasGrid() bool { return len(m.Alphas) > 0 || m.NAlphas > 0 }

func (m *ElasticNet) checkConfig(fn string) error {
	bad := func(r float64) bool { return !(r > 0 && r <= 1) }
	if m.Alpha < 0 || math.IsNaN(m.Alpha) || m.L1Ratio < 0 || (m.L1Ratio != 0 && bad(m.L1Ratio)) ||
		m.NAlphas < 0 || m.Eps < 0 || m.Eps >= 1 || m.Tol < 0 || m.MaxIter < 0 || m.Folds < 0 {
		return errorf(fn, "Alpha = %g, L1Ratio = %g, NAlphas = %d, Eps = %g, Tol = %g, MaxIter = %d, Folds = %d",
			m.Alpha, m.L1Ratio, m.NAlphas, m.Eps, m.Tol, m.MaxIter, m.Folds)
	}
	for _, r := range m.L1Ratios {
		if bad(r) {
			return errorf(fn, "L1Ratios holds %g, outside (0, 1]", r)
		}
	}
	for _, a := range m.Alphas {
		if a < 0 || math.IsNaN(a) {
			return errorf(fn, "Alphas holds %g", a)
		}
	}
	return nil
}

func (m *ElasticNet) ratios() []float64 {
	if len(m.L1Ratios) > 0 {
		return m.L1Ratios
	}
	if m.L1Ratio == 0 {
		return []float64{1}
	}
	return []float64{m.L1Ratio}
}

func (m *ElasticNet) tol() float64 {
	if m.Tol == 0 {
		return 1e-4
	}
	return m.Tol
}

func (m *ElasticNet) maxIter() int {
	if m.MaxIter == 0 {
		return 1000
	}
	return m.MaxIter
}

// grid returns the α path for ratio rho on problem e, descending.
func (m *ElasticNet) grid(e *enetGram, rho float64) []float64 {
	if len(m.Alphas) > 0 {
		a := append([]float64(nil), m.Alphas...)
		sortDesc(a)
		return a
	}
	eps := m.Eps
	if eps == 0 {
		eps = 1e-3
	}
	top := e.alphaMax(rho)
	if top == 0 {
		return []float64{0}
	}
	g := LogSpace(math.Log10(top*eps), math.Log10(top), m.NAlphas)
	sortDesc(g)
	return g
}

func sortDesc(a []float64) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] > a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// FitStats fits at the fixed Alpha and L1Ratio from merged client
// statistics s (the first response), equal to Fit on the pooled rows.
// Choosing α needs folds (FitFolds).
func (m *ElasticNet) FitStats(s *SuffStats) error {
	const fn = "ElasticNet.FitStats"
	if m.hasGrid() || len(m.L1Ratios) > 0 {
		return errorf(fn, "a grid is set: choosing α needs folds of statistics (FitFolds)")
	}
	return m.fitStats(fn, s)
}

func (m *ElasticNet) fitStats(fn string, s *SuffStats) error {
	if err := m.checkConfig(fn); err != nil {
		return err
	}
	if err := s.check(fn); err != nil {
		return err
	}
	sd := m.scale(s)
	e := newEnetGram(s, sd)
	st := e.newState()
	rho := m.ratios()[0]
	m.Grid, m.CVMSE = nil, nil
	m.Iters, m.Gap = e.solve(st, m.Alpha, rho, m.tol(), m.maxIter())
	m.set(st.w, s, sd, m.Alpha, rho)
	return nil
}

func (m *ElasticNet) scale(s *SuffStats) []float64 {
	if m.Standardize {
		return s.sdX()
	}
	return ones(len(s.MeanX))
}

// set stores the solution w of the scaled problem in the units of x.
func (m *ElasticNet) set(w []float64, s *SuffStats, sd []float64, alpha, rho float64) {
	var scale []float64
	if m.Standardize {
		scale = sd
	}
	m.Coef, m.Intercept = unscale(mat.NewDense(len(w), 1, append([]float64(nil), w...)), s.MeanX, s.MeanY[:1], scale)
	m.AlphaUsed, m.L1RatioUsed = alpha, rho
}

// FitFolds chooses α along the path (and ρ among L1Ratios) by
// cross-validation over folds of statistics (see "Federated forms" in the
// package doc): for each fold, the path is fitted on the merge of the
// other folds, with their own centring (and scaling), and scored on the
// fold from its statistics alone. Then it fits on the merge of all folds
// at the chosen α. A grid is needed (Alphas or NAlphas).
func (m *ElasticNet) FitFolds(folds [][]*SuffStats) error {
	return m.fitFolds("ElasticNet.FitFolds", folds)
}

func (m *ElasticNet) fitFolds(fn string, folds [][]*SuffStats) error {
	if err := m.checkConfig(fn); err != nil {
		return err
	}
	if !m.hasGrid() {
		return errorf(fn, "no grid: set Alphas or NAlphas")
	}
	total, err := checkFolds(fn, folds)
	if err != nil {
		return err
	}
	ratios := m.ratios()
	sdAll := m.scale(total)
	eAll := newEnetGram(total, sdAll)
	m.Grid = make([][]float64, len(ratios))
	sse := make([][]float64, len(ratios))
	for r, rho := range ratios {
		m.Grid[r] = m.grid(eAll, rho)
		sse[r] = make([]float64, len(m.Grid[r]))
	}
	tol, maxIter := m.tol(), m.maxIter()
	for f, fold := range folds {
		var train *SuffStats
		var sd []float64
		var e *enetGram
		if fm, ok := mergeFactored(trainParts(folds, f)); ok {
			train, sd = fm.Stats, ones(len(fm.Stats.MeanX))
			if m.Standardize {
				sd = fm.sdX()
			}
			e = newEnetFactor(fm, sd)
		} else {
			if train, err = trainTest(folds, f); err != nil {
				return errorf(fn, "%w", err)
			}
			sd = m.scale(train)
			e = newEnetGram(train, sd)
		}
		for r, rho := range ratios {
			st := e.newState()
			for a, alpha := range m.Grid[r] {
				e.solve(st, alpha, rho, tol, maxIter)
				coef, b0 := sparseUnscale(st.w, train.MeanX, train.MeanY[0], sd)
				for _, s := range fold {
					sse[r][a] += s.sseSparse(coef, b0)
				}
			}
		}
	}
	m.CVMSE = make([][]float64, len(ratios))
	br, ba := 0, 0
	for r := range ratios {
		m.CVMSE[r] = make([]float64, len(sse[r]))
		for a := range sse[r] {
			m.CVMSE[r][a] = sse[r][a] / float64(total.N)
			if v := m.CVMSE[r][a]; v < m.CVMSE[br][ba] || math.IsNaN(m.CVMSE[br][ba]) {
				br, ba = r, a
			}
		}
	}
	// The final fit starts from zero, as sklearn's refit does.
	st := eAll.newState()
	m.Iters, m.Gap = eAll.solve(st, m.Grid[br][ba], ratios[br], tol, maxIter)
	m.set(st.w, total, sdAll, m.Grid[br][ba], ratios[br])
	return nil
}

// sparseCoef is a coefficient vector by its nonzero entries.
type sparseCoef struct {
	idx []int
	val []float64
}

// sparseUnscale returns the nonzero coefficients of w in the units of x
// (w_j/sd_j) and the intercept ȳ − Σ w_j x̄_j/sd_j.
func sparseUnscale(w, mx []float64, my float64, sd []float64) (sparseCoef, float64) {
	var c sparseCoef
	b0 := my
	for j, v := range w {
		if v != 0 {
			u := v / sd[j]
			c.idx, c.val = append(c.idx, j), append(c.val, u)
			b0 -= u * mx[j]
		}
	}
	return c, b0
}

// sseSparse is sse for a sparse single-response model: the quadratic form
// runs over the nonzero coefficients only.
func (s *SuffStats) sseSparse(c sparseCoef, b0 float64) float64 {
	out := s.Syy.At(0, 0)
	raw := s.Sxx.RawSymmetric()
	r := s.MeanY[0] - b0
	for a, i := range c.idx {
		bi := c.val[a]
		out -= 2 * bi * s.Sxy.At(i, 0)
		r -= bi * s.MeanX[i]
		// Σ_j b_i b_j Sxx_ij over the support, from the upper triangle.
		out += bi * bi * raw.Data[i*raw.Stride+i]
		for b := a + 1; b < len(c.idx); b++ {
			out += 2 * bi * c.val[b] * raw.Data[i*raw.Stride+c.idx[b]]
		}
	}
	return out + float64(s.N)*r*r
}

// Predict returns ŷ = b0 + wᵀx for each row.
func (m *ElasticNet) Predict(x *mat.Dense) ([]float64, error) {
	p := 0
	if m.Coef != nil {
		p, _ = m.Coef.Dims()
	}
	if err := checkCols("ElasticNet.Predict", x, p); err != nil {
		return nil, err
	}
	return mat.Col(nil, 0, linearPredict(x, m.Coef, m.Intercept)), nil
}
