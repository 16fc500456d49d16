package baseline

import (
	"math"

	"gonum.org/v1/gonum/mat"
)

// PLS is partial least squares regression (PLS1 for one response, PLS2 for
// several), in sklearn's PLSRegression form. On centred (and, with
// Standardize, sd-scaled) X̃ and centred Ỹ, component a = 1..A takes
//
//	w_a = the dominant left singular vector of X̃_aᵀỸ (X̃_aᵀỹ/‖X̃_aᵀỹ‖ for one
//	      response), signed so its largest-magnitude entry is positive,
//	t_a = X̃_a w_a, p_a = X̃_aᵀt_a/(t_aᵀt_a), q_a = Ỹᵀt_a/(t_aᵀt_a),
//	X̃_{a+1} = X̃_a − t_a p_aᵀ (NIPALS deflation; Y is deflated alike),
//
// and forms the rotations R = W(PᵀW)⁻¹ (computed by the recursion
// r_a = w_a − Σ_{j<a}(p_jᵀw_a) r_j), the scores T = X̃R (Transform: the
// latent features) and the coefficients B = RQᵀ, so ŷ = ȳ + Bᵀx̃ (Predict).
// Fit runs NIPALS on the rows; FitStats runs the improved kernel algorithm
// of Dayal & MacGregor (1997, algorithm 1) on Sxx and Sxy alone, which
// deflates only XᵀY and gives the same model.
//
// The number of components is Components if positive; asking for more than
// the data allow (min(n−1, p), or fewer once X̃ᵀỸ or the X̃ variance is
// exhausted to rounding) is an error. With Components = 0 it is chosen by
// cross-validation: k = Folds (0: 5) random folds from Seed, each training
// part fitted with up to MaxComponents (0: 30) components, clamped to what
// the smallest training part allows (n_train − 1); the count with the least pooled
// out-of-fold MSE Σ SSE/(n·q) wins (the first on ties). A fold whose fit
// stops early predicts with all the components it has.
//
// Scaling uses the population sd (ddof 0) where sklearn's scale=True uses
// ddof 1: coefficients and predictions agree, scores differ by √((n−1)/n).
// PLS satisfies Regressor and SupervisedExtractor.
type PLS struct {
	Components    int    // fixed A; 0: choose by cross-validation
	MaxComponents int    // upper bound for the CV choice; 0: 30
	Folds         int    // CV folds; 0: 5
	Seed          uint64 // shuffles the CV folds
	Standardize   bool   // scale X columns to unit sd (sklearn's scale=True)

	// Set by Fit.
	XMean, XScale []float64  // column means and sds (XScale nil unless Standardize)
	YMean         []float64  // response means ȳ
	Weights       *mat.Dense // W, p×A
	XLoadings     *mat.Dense // P, p×A
	YLoadings     *mat.Dense // Q, q×A
	Rotations     *mat.Dense // R = W(PᵀW)⁻¹, p×A
	Coef          *mat.Dense // B in the units of x, p×q
	Intercept     []float64  // ȳ − Bᵀx̄
	CVMSE         []float64  // CVMSE[a−1]: CV MSE with a components; nil when Components is fixed
	// FoldCoef and FoldIntercept, set by FitFolds, are the models with the
	// chosen number of components fitted without each fold (in the units
	// of x): what the server sends back so that a client can predict its
	// own rows of fold f out of fold (for a personal correction, Correct).
	FoldCoef      []*mat.Dense
	FoldIntercept [][]float64
}

// Fit fits a single response y (len(y) = rows of x).
func (m *PLS) Fit(x *mat.Dense, y []float64) error {
	if err := checkXY("PLS.Fit", x, len(y)); err != nil {
		return err
	}
	return m.fit("PLS.Fit", x, mat.NewDense(len(y), 1, append([]float64(nil), y...)))
}

// FitMulti fits q responses at once (PLS2), y being n×q.
func (m *PLS) FitMulti(x, y *mat.Dense) error {
	const fn = "PLS.FitMulti"
	if y == nil {
		return errorf(fn, "y is nil")
	}
	ny, _ := y.Dims()
	if err := checkXY(fn, x, ny); err != nil {
		return err
	}
	return m.fit(fn, x, y)
}

func (m *PLS) fit(fn string, x, y *mat.Dense) error {
	n, p := x.Dims()
	if err := m.checkConfig(fn); err != nil {
		return err
	}
	if n < 2 {
		return errorf(fn, "x has %d rows, need at least 2", n)
	}
	a := m.Components
	m.CVMSE = nil
	if a == 0 {
		k := m.folds()
		if k > n {
			return errorf(fn, "%d folds of %d rows", k, n)
		}
		folds := KFold(n, k, m.Seed)
		maxA := min(m.maxComponents(), p, smallestTrain(folds, k)-1)
		if maxA < 1 {
			return errorf(fn, "training folds too small for one component")
		}
		m.CVMSE = plsKFold(x, y, folds, k, maxA, m.Standardize)
		a = argmin(m.CVMSE) + 1
	} else if lim := min(n-1, p); a > lim {
		return errorf(fn, "%d components asked, x is %d×%d so at most %d", a, n, p, lim)
	}
	mx, sd := columnScale(x, m.Standardize)
	my, _ := columnScale(y, false)
	mod := nipals(centre(x, mx, sd), centre(y, my, nil), a)
	if mod.a < a {
		return errorf(fn, "%d components asked, only %d could be extracted (X variance or XᵀY exhausted)", a, mod.a)
	}
	m.set(mod, mx, sd, my)
	return nil
}

func (m *PLS) checkConfig(fn string) error {
	if m.Components < 0 || m.MaxComponents < 0 || m.Folds < 0 || m.Folds == 1 {
		return errorf(fn, "Components = %d, MaxComponents = %d, Folds = %d",
			m.Components, m.MaxComponents, m.Folds)
	}
	return nil
}

func (m *PLS) folds() int {
	if m.Folds == 0 {
		return 5
	}
	return m.Folds
}

func (m *PLS) maxComponents() int {
	if m.MaxComponents == 0 {
		return 30
	}
	return m.MaxComponents
}

// set stores a fitted model; sd nil means unscaled.
func (m *PLS) set(mod plsModel, mx, sd, my []float64) {
	m.XMean, m.XScale, m.YMean = mx, sd, my
	m.Weights, m.XLoadings, m.YLoadings, m.Rotations = mod.w, mod.p, mod.q, mod.r
	m.Coef, m.Intercept = unscale(mod.coef(mod.a), mx, my, sd)
}

// Transform returns the latent scores T = ((x − XMean)/XScale)·R, one
// row per row of x and one column per component.
func (m *PLS) Transform(x *mat.Dense) (*mat.Dense, error) {
	if err := checkCols("PLS.Transform", x, len(m.XMean)); err != nil {
		return nil, err
	}
	return project(centre(x, m.XMean, m.XScale), m.Rotations), nil
}

// Predict returns ŷ = b0 + Bᵀx for each row (the first response if q > 1).
func (m *PLS) Predict(x *mat.Dense) ([]float64, error) {
	yhat, err := m.predict("PLS.Predict", x)
	if err != nil {
		return nil, err
	}
	return mat.Col(nil, 0, yhat), nil
}

// PredictMulti returns the n×q predictions b0 + Bᵀx.
func (m *PLS) PredictMulti(x *mat.Dense) (*mat.Dense, error) {
	return m.predict("PLS.PredictMulti", x)
}

func (m *PLS) predict(fn string, x *mat.Dense) (*mat.Dense, error) {
	if err := checkCols(fn, x, len(m.XMean)); err != nil {
		return nil, err
	}
	return linearPredict(x, m.Coef, m.Intercept), nil
}

// FitStats fits from merged client statistics s by kernel PLS on
// D⁻¹SxxD⁻¹ and D⁻¹Sxy (D = diag of the sds when Standardize, else I),
// equal to Fit on the pooled rows. Components must be set; choosing it
// needs folds (FitFolds).
func (m *PLS) FitStats(s *SuffStats) error {
	const fn = "PLS.FitStats"
	if err := m.checkConfig(fn); err != nil {
		return err
	}
	if m.Components == 0 {
		return errorf(fn, "Components = 0: choosing it needs folds of statistics (FitFolds)")
	}
	if err := s.check(fn); err != nil {
		return err
	}
	m.CVMSE = nil
	return m.fitStats(fn, s, m.Components)
}

func (m *PLS) fitStats(fn string, s *SuffStats, a int) error {
	p := len(s.MeanX)
	if lim := min(s.N-1, p); a > lim {
		return errorf(fn, "%d components asked, statistics of %d rows × %d columns allow at most %d", a, s.N, p, lim)
	}
	sd := m.statsScale(s)
	mod := kernelPLS(plsGram(s, sd), scaleRows(s.Sxy, sd), a)
	if mod.a < a {
		return errorf(fn, "%d components asked, only %d could be extracted (X variance or XᵀY exhausted)", a, mod.a)
	}
	if !m.Standardize {
		sd = nil
	}
	m.set(mod, append([]float64(nil), s.MeanX...), sd, append([]float64(nil), s.MeanY...))
	return nil
}

// plsGram returns D⁻¹SxxD⁻¹ of s, as a factor when s is low-rank.
func plsGram(s *SuffStats, sd []float64) gramOp {
	if f, r := s.factor(); f != nil {
		fs := factored{Stats: s, F: f, R: r}
		return newFactorGram(fs.scaled(sd), len(sd), r)
	}
	return denseGram{scaleSym(s.Sxx, sd)}
}

func (m *PLS) statsScale(s *SuffStats) []float64 {
	if m.Standardize {
		return s.sdX()
	}
	return ones(len(s.MeanX))
}

// FitFolds chooses the number of components by cross-validation over folds
// of statistics (see "Federated forms" in the package doc),
// trying 1..MaxComponents (0: 30, clamped to the smallest training part
// less one),
// or scores the fixed Components if set; then it fits on the merge of all
// folds. With FoldStats of the KFold that Fit uses it reproduces Fit's CV.
func (m *PLS) FitFolds(folds [][]*SuffStats) error {
	const fn = "PLS.FitFolds"
	if err := m.checkConfig(fn); err != nil {
		return err
	}
	src, err := newFoldSource(fn, folds)
	if err != nil {
		return err
	}
	return m.fitSource(fn, src, nil)
}

// fitSource cross-validates and fits on the columns idx (nil: all) of the
// folds of src.
func (m *PLS) fitSource(fn string, src *foldSource, idx []int) error {
	p, q := src.total.Stats.Sxy.Dims()
	if idx != nil {
		p = len(idx)
	}
	lo, hi := 1, m.maxComponents()
	if m.Components > 0 {
		lo, hi = m.Components, m.Components
	}
	for f := range src.folds {
		hi = min(hi, src.trainN(f)-1, p)
	}
	if hi < lo {
		return errorf(fn, "training folds allow at most %d components, %d asked", hi, lo)
	}
	type foldModel struct {
		mod    plsModel
		train  *SuffStats
		sd     []float64
		coefAt func(a int) (*mat.Dense, []float64)
	}
	models := make([]foldModel, len(src.folds))
	sse := make([]float64, hi)
	for f := range src.folds {
		train, g := src.train(f, idx)
		sd := ones(len(train.MeanX))
		if m.Standardize {
			sd = g.sd
		}
		mod := kernelPLS(g.scaled(sd), scaleRows(train.Sxy, sd), hi)
		models[f] = foldModel{mod: mod, train: train, sd: sd}
		for a := lo; a <= hi; a++ {
			coef, b0 := unscale(mod.coef(min(a, mod.a)), train.MeanX, train.MeanY, sd)
			sse[a-1] += src.heldOut(f, idx, coef, b0)
		}
	}
	m.CVMSE = make([]float64, hi-lo+1)
	for a := lo; a <= hi; a++ {
		m.CVMSE[a-lo] = sse[a-1] / float64(src.total.Stats.N*q)
	}
	a := lo + argmin(m.CVMSE)
	m.FoldCoef, m.FoldIntercept = nil, nil
	for _, fm := range models {
		coef, b0 := unscale(fm.mod.coef(min(a, fm.mod.a)), fm.train.MeanX, fm.train.MeanY, fm.sd)
		m.FoldCoef, m.FoldIntercept = append(m.FoldCoef, coef), append(m.FoldIntercept, b0)
	}
	total, g := src.all(idx)
	if lim := min(total.N-1, p); a > lim {
		return errorf(fn, "%d components asked, statistics of %d rows × %d columns allow at most %d", a, total.N, p, lim)
	}
	sd := ones(len(total.MeanX))
	if m.Standardize {
		sd = g.sd
	}
	mod := kernelPLS(g.scaled(sd), scaleRows(total.Sxy, sd), a)
	if mod.a < a {
		return errorf(fn, "%d components asked, only %d could be extracted (X variance or XᵀY exhausted)", a, mod.a)
	}
	if !m.Standardize {
		sd = nil
	}
	m.set(mod, append([]float64(nil), total.MeanX...), sd, append([]float64(nil), total.MeanY...))
	return nil
}

// plsModel is a fitted PLS model of centred, scaled data: a components of
// nx x columns and ny responses. With a = 0 the matrices are nil.
type plsModel struct {
	a, nx, ny  int
	w, p, q, r *mat.Dense // nx×a, nx×a, ny×a, nx×a
}

// coef returns B = R_a Q_aᵀ for the first a components (nx×ny; zero for
// a = 0, the model that predicts the mean).
func (m plsModel) coef(a int) *mat.Dense {
	b := mat.NewDense(m.nx, m.ny, nil)
	if a > 0 {
		b.Mul(m.r.Slice(0, m.nx, 0, a), m.q.Slice(0, m.ny, 0, a).T())
	}
	return b
}

// plsTol is the share of the total X variance (or of the initial ‖XᵀY‖)
// below which a component is taken to be rounding noise and the fit stops.
const plsTol = 1e-12

// nipals fits up to maxA components to centred x (n×p) and y (n×q).
func nipals(x, y *mat.Dense, maxA int) plsModel {
	n, p := x.Dims()
	_, q := y.Dims()
	xk, yk := mat.DenseCopyOf(x), mat.DenseCopyOf(y)
	b := &plsBuilder{p: p, q: q, firstNormM: -1}
	varX := mat.Norm(x, 2)
	varX *= varX
	t := mat.NewVecDense(n, nil)
	for range maxA {
		var m mat.Dense
		m.Mul(xk.T(), yk)
		w, ok := b.weight(&m)
		if !ok {
			break
		}
		t.MulVec(xk, w)
		tt := mat.Dot(t, t)
		if tt <= plsTol*varX {
			break
		}
		pv := mat.NewVecDense(p, nil)
		pv.MulVec(xk.T(), t)
		pv.ScaleVec(1/tt, pv)
		qv := mat.NewVecDense(q, nil)
		qv.MulVec(yk.T(), t)
		qv.ScaleVec(1/tt, qv)
		xk.RankOne(xk, -1, t, pv)
		yk.RankOne(yk, -1, t, qv)
		b.add(w, pv, qv)
	}
	return b.model()
}

// kernelPLS fits up to maxA components from the cross-products g = X̃ᵀX̃
// (p×p) and xty = X̃ᵀỸ (p×q) by the improved kernel algorithm 1 of Dayal
// & MacGregor (1997): r_a = w_a − Σ_{j<a}(p_jᵀw_a) r_j, t_aᵀt_a = r_aᵀ g r_a,
// p_a = g r_a/(t_aᵀt_a), q_a = (XᵀY)ᵀr_a/(t_aᵀt_a) and XᵀY ← XᵀY − (t_aᵀt_a)p_a q_aᵀ.
func kernelPLS(g gramOp, xty *mat.Dense, maxA int) plsModel {
	p, q := xty.Dims()
	m := mat.DenseCopyOf(xty)
	b := &plsBuilder{p: p, q: q, firstNormM: -1}
	varX := g.trace()
	sr := mat.NewVecDense(p, nil)
	for range maxA {
		w, ok := b.weight(m)
		if !ok {
			break
		}
		r := b.rotation(w)
		g.mulVec(sr.RawVector().Data, r.RawVector().Data)
		tt := mat.Dot(r, sr)
		if tt <= plsTol*varX {
			break
		}
		pv := mat.NewVecDense(p, nil)
		pv.ScaleVec(1/tt, sr)
		qv := mat.NewVecDense(q, nil)
		qv.MulVec(m.T(), r)
		qv.ScaleVec(1/tt, qv)
		m.RankOne(m, -tt, pv, qv)
		b.add(w, pv, qv)
	}
	return b.model()
}

// plsBuilder accumulates components and their rotations.
type plsBuilder struct {
	p, q       int
	w, pl, ql  []*mat.VecDense
	r          []*mat.VecDense
	firstNormM float64
}

// weight returns the unit dominant left singular vector of m = X̃_aᵀỸ,
// signed so its largest-magnitude entry is positive; ok is false when m is
// zero to rounding (no covariance left).
func (b *plsBuilder) weight(m *mat.Dense) (*mat.VecDense, bool) {
	norm := mat.Norm(m, 2)
	if b.firstNormM < 0 {
		b.firstNormM = norm
	}
	if norm == 0 || norm <= plsTol*b.firstNormM {
		return nil, false
	}
	w := mat.NewVecDense(b.p, nil)
	if b.q == 1 {
		w.CopyVec(m.ColView(0))
	} else {
		var mtm mat.SymDense
		mtm.SymOuterK(1, m.T())
		_, vecs, ok := eigDesc(&mtm)
		if !ok {
			return nil, false
		}
		w.MulVec(m, vecs.ColView(0))
	}
	nw := mat.Norm(w, 2)
	if nw == 0 || math.IsNaN(nw) {
		return nil, false
	}
	w.ScaleVec(1/nw, w)
	best, at := -1.0, 0
	for i := range b.p {
		if a := math.Abs(w.AtVec(i)); a > best {
			best, at = a, i
		}
	}
	if w.AtVec(at) < 0 {
		w.ScaleVec(-1, w)
	}
	return w, true
}

// rotation returns r = w − Σ_j (p_jᵀw) r_j over the components so far.
func (b *plsBuilder) rotation(w *mat.VecDense) *mat.VecDense {
	r := mat.VecDenseCopyOf(w)
	for j := range b.r {
		r.AddScaledVec(r, -mat.Dot(b.pl[j], w), b.r[j])
	}
	return r
}

func (b *plsBuilder) add(w, pv, qv *mat.VecDense) {
	b.r = append(b.r, b.rotation(w))
	b.w = append(b.w, w)
	b.pl = append(b.pl, pv)
	b.ql = append(b.ql, qv)
}

func (b *plsBuilder) model() plsModel {
	a := len(b.w)
	if a == 0 {
		return plsModel{nx: b.p, ny: b.q}
	}
	return plsModel{a: a, nx: b.p, ny: b.q,
		w: columns(b.p, b.w), p: columns(b.p, b.pl), q: columns(b.q, b.ql), r: columns(b.p, b.r)}
}

// columns stacks vectors of length n as the columns of an n×len(v) matrix.
func columns(n int, v []*mat.VecDense) *mat.Dense {
	out := mat.NewDense(n, len(v), nil)
	for j, c := range v {
		out.SetCol(j, c.RawVector().Data)
	}
	return out
}

// plsKFold returns the CV MSE for 1..maxA components.
func plsKFold(x, y *mat.Dense, folds []int, k, maxA int, standardize bool) []float64 {
	n, _ := x.Dims()
	_, q := y.Dims()
	sse := make([]float64, maxA)
	for f := range k {
		train, test := splitFold(folds, f)
		xtr, ytr := rows(x, train), rows(y, train)
		mx, sd := columnScale(xtr, standardize)
		my, _ := columnScale(ytr, false)
		mod := nipals(centre(xtr, mx, sd), centre(ytr, my, nil), maxA)
		xte := centre(rows(x, test), mx, sd)
		yte := rows(y, test)
		pred := mat.NewDense(len(test), q, nil)
		for a := 1; a <= maxA; a++ {
			if a <= mod.a {
				// pred += (x̃ r_a) q_aᵀ
				var t mat.VecDense
				t.MulVec(xte, mod.r.ColView(a-1))
				pred.RankOne(pred, 1, &t, mod.q.ColView(a-1))
			}
			for i := range test {
				for c := range q {
					e := yte.At(i, c) - my[c] - pred.At(i, c)
					sse[a-1] += e * e
				}
			}
		}
	}
	for a := range sse {
		sse[a] /= float64(n * q)
	}
	return sse
}

// smallestTrain returns the fewest training rows of any of k folds.
func smallestTrain(folds []int, k int) int {
	size := make([]int, k)
	for _, f := range folds {
		size[f]++
	}
	least := len(folds)
	for _, s := range size {
		least = min(least, len(folds)-s)
	}
	return least
}
