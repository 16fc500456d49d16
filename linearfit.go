package fdrmfl

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/internal/seed"
)

// A linear model is fitted in two steps that a simulation and a real
// federation share, so that both reach the same model bit for bit:
//
//  1. each client standardises its sets with the pooled standardisation
//     and computes LinearStats of its training rows: the sufficient
//     statistics (count, means, centred cross-products) of each of its
//     cross-validation folds, with the inputs x (every modality of the
//     model, flattened, side by side; 0, the pooled mean, where a sample
//     lacks a modality) and the standardised responses y;
//  2. the server adds each client's statistics to a LinearPool, in client
//     order (fold f of every client merges into fold f), and Fit chooses
//     the settings by cross-validation over the merged folds and fits on
//     their merge (package baseline: exact, up to rounding, to the fit on
//     the pooled rows).

// LinearStatsSpec says which statistics a client of a linear federation
// computes: the model's inputs, and how it cuts its training rows into
// cross-validation folds.
type LinearStatsSpec struct {
	// Modalities are the model's inputs, in its order.
	Modalities []string `json:"modalities"`
	// Folds is the number of folds (fewer when the client has fewer than
	// 2 rows per fold).
	Folds int `json:"folds"`
	// Seed and Index (the federation's seed and the client's number,
	// from 0) seed the fold assignment.
	Seed  uint64 `json:"seed"`
	Index int    `json:"index"`
}

// LinearStatsSpec returns the statistics the client numbered index (from
// 0) computes for the linear model m describes (NewManifest's, before the
// fit). Call it on a Config after Defaults.
func (c Config) LinearStatsSpec(m *Manifest, index int) LinearStatsSpec {
	s := LinearStatsSpec{Folds: c.Linear.Folds, Seed: c.Seed, Index: index}
	for _, mi := range m.Modalities {
		s.Modalities = append(s.Modalities, mi.Name)
	}
	return s
}

// LinearStats returns the sufficient statistics of each cross-validation
// fold of train, a client's standardised training set: its n rows with
// every response (a row missing one is left out) are assigned to
// k = min(spec.Folds, ⌊n/2⌋) folds at random (baseline.KFold, seeded by
// spec), so that no fold describes fewer than 2 rows; with k < 2 there is
// one fold of every row. Their merge is the client's total.
func LinearStats(train *data.Dataset, spec LinearStatsSpec) ([]*baseline.SuffStats, error) {
	var shapes [][]int
	for _, name := range spec.Modalities {
		m := train.Modality(name)
		if m == nil {
			return nil, fmt.Errorf("linear statistics: the data have no modality %q (they have %v)", name, train.ModalityNames())
		}
		shapes = append(shapes, m.Shape)
	}
	x, err := linearInputs(train, spec.Modalities, shapes, false)
	if err != nil {
		return nil, err
	}
	q := train.NumResponses()
	if q == 0 {
		return nil, fmt.Errorf("linear statistics: the data have no responses")
	}
	// Rows with a missing response (NaN) are left out: the statistics of
	// several responses need every response of a row.
	var keep []int
	for i := range train.Len() {
		if !slices.ContainsFunc(train.Y[i*q:(i+1)*q], func(v float32) bool { return v != v }) {
			keep = append(keep, i)
		}
	}
	n := len(keep)
	if n == 0 {
		return nil, fmt.Errorf("linear statistics: no training row has every response")
	}
	if n < train.Len() {
		x = rowsOf(x, keep)
	}
	y := make([]float64, n*q)
	for k, i := range keep {
		for j := range q {
			y[k*q+j] = float64(train.Y[i*q+j])
		}
	}
	folds := make([]int, n)
	if k := min(spec.Folds, n/2); k >= 2 {
		folds = baseline.KFold(n, k, seed.For(spec.Seed, seed.Folds, uint64(spec.Index)))
	}
	stats, err := baseline.FoldStats(x, mat.NewDense(n, q, y), folds)
	if err != nil {
		return nil, err
	}
	for _, s := range stats {
		s.Densify() // the pool and the wire hold full cross-products
	}
	return stats, nil
}

// rowsOf returns the given rows of x.
func rowsOf(x *mat.Dense, idx []int) *mat.Dense {
	_, p := x.Dims()
	out := mat.NewDense(len(idx), p, nil)
	for k, i := range idx {
		out.SetRow(k, x.RawRowView(i))
	}
	return out
}

// linearInputs returns the n×p inputs of a linear model: the named
// modalities of ds, flattened and side by side (shapes gives their
// sizes), with 0 where a sample lacks one. A modality ds does not have is
// an error unless absentOK, when every sample lacks it.
func linearInputs(ds *data.Dataset, names []string, shapes [][]int, absentOK bool) (*mat.Dense, error) {
	n, p := ds.Len(), 0
	mods := make([]*data.Modality, len(names))
	for i, name := range names {
		if mods[i] = ds.Modality(name); mods[i] == nil && !absentOK {
			return nil, fmt.Errorf("linear model: the data have no modality %q (they have %v)", name, ds.ModalityNames())
		}
		if mods[i] != nil && mods[i].SampleSize() != prod(shapes[i]) {
			return nil, fmt.Errorf("linear model: modality %q has %d values per sample, the model's has %d", name, mods[i].SampleSize(), prod(shapes[i]))
		}
		p += prod(shapes[i])
	}
	x := make([]float64, n*p)
	off := 0
	for k, m := range mods {
		w := prod(shapes[k])
		if m == nil {
			off += w
			continue
		}
		for i := range n {
			if !m.Has(i) {
				continue
			}
			row := x[i*p+off : i*p+off+w]
			for j, v := range m.Sample(i) {
				row[j] = float64(v)
			}
		}
		off += w
	}
	if n == 0 {
		return nil, nil
	}
	return mat.NewDense(n, p, x), nil
}

// LinearPool merges the fold statistics of a linear federation's clients:
// fold f of every client into fold f, in the order the clients are added.
// Adding in client order makes the merge, and so the fit, the same
// wherever it runs.
type LinearPool struct {
	p, q    int
	folds   []*baseline.SuffStats
	clients int
}

// NewLinearPool returns an empty pool for the linear model m describes.
func NewLinearPool(m *Manifest) *LinearPool {
	return &LinearPool{p: m.inputs(), q: len(m.Responses)}
}

// Clients returns how many clients' statistics were added.
func (lp *LinearPool) Clients() int { return lp.clients }

// Add merges one client's fold statistics (from LinearStats) into the
// pool. Statistics of other sizes than the model's, more folds than
// maxFolds (0: no bound), a negative count or values that are not finite
// are refused, and the pool is then unchanged.
func (lp *LinearPool) Add(client []*baseline.SuffStats, maxFolds int) error {
	if len(client) == 0 {
		return fmt.Errorf("no fold statistics")
	}
	if maxFolds > 0 && len(client) > maxFolds {
		return fmt.Errorf("%d folds of statistics, at most %d were asked for", len(client), maxFolds)
	}
	for f, s := range client {
		if err := checkStats(s, lp.p, lp.q); err != nil {
			return fmt.Errorf("fold %d: %w", f+1, err)
		}
	}
	for len(lp.folds) < len(client) {
		lp.folds = append(lp.folds, &baseline.SuffStats{})
	}
	for f, s := range client {
		if err := lp.folds[f].Merge(s); err != nil {
			return fmt.Errorf("fold %d: %w", f+1, err)
		}
	}
	lp.clients++
	return nil
}

// AddMerged puts into the pool the fold statistics of clients clients
// already merged across them, fold by fold — as secure aggregation gives
// them (baseline.SecureMerge): fold f of every client in merged[f]. The
// pool must be empty; statistics that cannot be the model's are refused.
func (lp *LinearPool) AddMerged(merged []*baseline.SuffStats, clients int) error {
	if lp.clients > 0 || len(lp.folds) > 0 {
		return fmt.Errorf("merged statistics into a pool that holds %d clients' already", lp.clients)
	}
	if clients < 1 {
		return fmt.Errorf("merged statistics of %d clients", clients)
	}
	for f, s := range merged {
		if err := checkStats(s, lp.p, lp.q); err != nil {
			return fmt.Errorf("fold %d: %w", f+1, err)
		}
	}
	lp.folds = append(lp.folds, merged...)
	lp.clients = clients
	return nil
}

// checkStats reports statistics that cannot be those of p inputs and q
// responses.
func checkStats(s *baseline.SuffStats, p, q int) error {
	if s == nil {
		return fmt.Errorf("missing statistics")
	}
	if s.N < 0 {
		return fmt.Errorf("a count of %d rows", s.N)
	}
	if s.N == 0 {
		return nil
	}
	if len(s.MeanX) != p || len(s.MeanY) != q || s.Sxx == nil || s.Sxy == nil || s.Syy == nil {
		return fmt.Errorf("statistics of %d inputs and %d responses, the model has %d and %d", len(s.MeanX), len(s.MeanY), p, q)
	}
	if s.Sxx.SymmetricDim() != p || s.Syy.SymmetricDim() != q {
		return fmt.Errorf("cross-products of %d and %d columns, the model has %d inputs and %d responses", s.Sxx.SymmetricDim(), s.Syy.SymmetricDim(), p, q)
	}
	if r, c := s.Sxy.Dims(); r != p || c != q {
		return fmt.Errorf("Sxy is %d×%d, the model needs %d×%d", r, c, p, q)
	}
	finite := func(v []float64) bool {
		for _, x := range v {
			if math.IsNaN(x) || math.IsInf(x, 0) {
				return false
			}
		}
		return true
	}
	if !finite(s.MeanX) || !finite(s.MeanY) || !finite(s.Sxx.RawSymmetric().Data) || !finite(s.Sxy.RawMatrix().Data) || !finite(s.Syy.RawSymmetric().Data) {
		return fmt.Errorf("values that are not finite")
	}
	for j := range p {
		if s.Sxx.At(j, j) < 0 {
			return fmt.Errorf("a negative sum of squares for input %d", j+1)
		}
	}
	return nil
}

// Fit fits the linear model m describes (NewManifest's, before the fit)
// from the pooled statistics with the settings set: it scores every
// candidate by cross-validation over the merged folds — when there are
// at least two — and fits the best on their merge. It returns the model:
// m completed with the fit (LinearFit) and its weights.
func (lp *LinearPool) Fit(m *Manifest, set Linear) (*Model, error) {
	kind := m.Model.Kind
	fitter, ok := linearFitters[kind]
	if !ok {
		return nil, fmt.Errorf("model.kind: %q is not a linear model this version fits", kind)
	}
	var folds [][]*baseline.SuffStats
	var all []*baseline.SuffStats
	for _, s := range lp.folds {
		if s.N > 0 {
			folds = append(folds, []*baseline.SuffStats{s})
			all = append(all, s)
		}
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("linear fit: no client sent statistics of any training row")
	}
	total, err := baseline.MergeStats(all...)
	if err != nil {
		return nil, fmt.Errorf("linear fit: %w", err)
	}
	if len(folds) < 2 {
		folds = nil // too few rows anywhere for cross-validation
	}
	sol, err := fitter(set, folds, total)
	if err != nil {
		return nil, fmt.Errorf("linear fit (%s): %w", kind, err)
	}
	sol.fit.Settings, sol.fit.Inputs, sol.fit.Rows, sol.fit.Folds, sol.fit.Clients = set, lp.p, total.N, len(folds), lp.clients
	out := *m
	out.Model.Features = sol.fit.Components
	out.Linear = &sol.fit
	w := sol.weights()
	out.Values = len(w)
	return &Model{Manifest: &out, Weights: w}, nil
}

// LinearFit records how a linear model was fitted: its settings, the
// settings chosen, and the cross-validation that chose them.
type LinearFit struct {
	// Settings are the configuration's (Config.Linear).
	Settings Linear `json:"settings"`
	// Inputs is p, the number of input values: every modality of the
	// model flattened, side by side, in the model's order.
	Inputs int `json:"inputs"`
	// Rows is the number of training rows over all clients, and Clients
	// the number of clients whose statistics were pooled.
	Rows    int `json:"rows"`
	Clients int `json:"clients"`
	// Folds is the number of folds cross-validation scored (0: none: the
	// settings were fixed, or ridge chose α by generalised
	// cross-validation, Criterion "gcv").
	Folds     int    `json:"folds"`
	Criterion string `json:"criterion,omitempty"`
	// The chosen settings: Components for PLS (the size of Z), Alpha for
	// ridge, the lasso and the elastic net, L1Ratio for the elastic net.
	Components int     `json:"components,omitempty"`
	Alpha      float64 `json:"alpha,omitempty"`
	L1Ratio    float64 `json:"l1_ratio,omitempty"`
	// CV holds every candidate's cross-validated error, in the order
	// tried.
	CV []CVScore `json:"cv,omitempty"`
}

// CVScore is one candidate's cross-validated error: the pooled
// out-of-fold mean squared error of the standardised responses, averaged
// over them (1 − MSE is the cross-validated R² against the pooled
// training variance).
type CVScore struct {
	Components int     `json:"components,omitempty"`
	Alpha      float64 `json:"alpha,omitempty"`
	L1Ratio    float64 `json:"l1_ratio,omitempty"`
	MSE        float64 `json:"mse"`
}

// Chosen describes the fitted settings in words, such as "7 components"
// or "α = 0.01".
func (f *LinearFit) Chosen() string {
	switch {
	case f.Components == 1:
		return "1 component"
	case f.Components > 0:
		return fmt.Sprintf("%d components", f.Components)
	case f.L1Ratio > 0:
		return fmt.Sprintf("α = %.4g, l1_ratio = %.4g", f.Alpha, f.L1Ratio)
	}
	return fmt.Sprintf("α = %.4g", f.Alpha)
}

// linearFitter fits one linear kind: folds are the merged folds of
// statistics (nil when there are too few rows for cross-validation) and
// total their merge.
type linearFitter func(set Linear, folds [][]*baseline.SuffStats, total *baseline.SuffStats) (*linearSolution, error)

// linearFitters maps each linear kind this version fits to its fitter;
// model.kind refuses the others.
var linearFitters = map[string]linearFitter{
	KindPLS:   fitPLS,
	KindRidge: fitRidge,
	KindLasso: func(set Linear, folds [][]*baseline.SuffStats, total *baseline.SuffStats) (*linearSolution, error) {
		return fitENet(set, folds, total, []float64{1})
	},
	KindENet: func(set Linear, folds [][]*baseline.SuffStats, total *baseline.SuffStats) (*linearSolution, error) {
		return fitENet(set, folds, total, set.L1Ratios)
	},
}

// linearSolution is a fitted linear model on the standardised inputs x
// (p) and responses (q): with features (PLS), Z = Wz·x + bz and
// ŷ = Wy·Z + by; without, ŷ = Wy·x + by.
type linearSolution struct {
	fit LinearFit
	wz  *mat.Dense // A×p, nil without features
	bz  []float64
	wy  *mat.Dense // q×A, or q×p without features
	by  []float64
}

// weights returns the solution as the model's flat weight vector, in
// layout order.
func (s *linearSolution) weights() []float32 {
	var w []float32
	add := func(m *mat.Dense) {
		r, c := m.Dims()
		for i := range r {
			for j := range c {
				w = append(w, float32(m.At(i, j)))
			}
		}
	}
	addVec := func(v []float64) {
		for _, x := range v {
			w = append(w, float32(x))
		}
	}
	if s.wz != nil {
		add(s.wz)
		addVec(s.bz)
	}
	add(s.wy)
	addVec(s.by)
	return w
}

// fitPLS fits PLS with the number of components fixed or chosen by
// cross-validation among 1..MaxComponents. Z holds the X-scores
// t = Rᵀ(x − x̄) (R the rotations) and ŷ = ȳ + Q·t (Q the y-loadings),
// which equals baseline's b0 + Bᵀx with B = RQᵀ.
func fitPLS(set Linear, folds [][]*baseline.SuffStats, total *baseline.SuffStats) (*linearSolution, error) {
	m := &baseline.PLS{Components: set.Components, MaxComponents: set.MaxComponents}
	var err error
	if folds != nil {
		err = m.FitFolds(folds)
	} else {
		if m.Components == 0 {
			return nil, fmt.Errorf("too few training rows to cross-validate the number of components (fix it with linear.components)")
		}
		err = m.FitStats(total)
	}
	if err != nil {
		return nil, err
	}
	_, a := m.Rotations.Dims()
	sol := &linearSolution{fit: LinearFit{Components: a}}
	lo := 1
	if set.Components > 0 {
		lo = set.Components
	}
	for i, mse := range m.CVMSE {
		sol.fit.CV = append(sol.fit.CV, CVScore{Components: lo + i, MSE: mse})
	}
	sol.wz = mat.DenseCopyOf(m.Rotations.T())
	sol.bz = make([]float64, a)
	for k := range a {
		for j, mu := range m.XMean {
			sol.bz[k] -= m.Rotations.At(j, k) * mu
		}
	}
	sol.wy = mat.DenseCopyOf(m.YLoadings)
	sol.by = slices.Clone(m.YMean)
	return sol, nil
}

// fitRidge fits ridge with α fixed, or chosen among Alphas (or the grid
// fitted to the data) by k-fold cross-validation over the folds, or —
// with one fold per client — by generalised cross-validation from the
// merged statistics alone (baseline.Ridge.FitGCV: exact GCV, over
// baseline's grid of 81 penalties λ₁·10^e, e from −7 to 1, when Alphas is
// empty).
func fitRidge(set Linear, folds [][]*baseline.SuffStats, total *baseline.SuffStats) (*linearSolution, error) {
	alphas := set.Alphas
	r := &baseline.Ridge{}
	var err error
	switch {
	case len(alphas) == 1:
		if folds != nil {
			r.Alphas = alphas // scored, and fitted at it
			err = r.FitFolds(folds)
		} else {
			r.Alpha = alphas[0]
			err = r.FitStats(total)
		}
	case folds != nil:
		if len(alphas) == 0 {
			alphas = AlphaGrid(total)
		}
		r.Alphas = alphas
		err = r.FitFolds(folds)
	default:
		r.Alphas = alphas
		if err = r.FitGCV(total); err == nil {
			alphas = r.AlphaGrid
		}
	}
	if err != nil {
		if p := len(total.MeanX); p >= 512 && strings.Contains(err.Error(), "positive definite") {
			return nil, fmt.Errorf("%w (at %d inputs ridge is solved by a float32 Cholesky factorisation, which needs α above about 10⁻⁷·tr(Sxx) = %.3g; the default grid starts at 10⁻⁶·tr(Sxx))", err, p, 1e-7*sxxTrace(total))
		}
		return nil, err
	}
	sol := &linearSolution{fit: LinearFit{Alpha: r.AlphaUsed}}
	for i, mse := range r.CVMSE {
		sol.fit.CV = append(sol.fit.CV, CVScore{Alpha: alphas[i], MSE: mse})
	}
	if folds == nil && len(r.CVMSE) > 0 {
		sol.fit.Criterion = "gcv"
	}
	sol.wy = mat.DenseCopyOf(r.Coef.T())
	sol.by = slices.Clone(r.Intercept)
	return sol, nil
}

// fitENet fits the elastic net (the lasso: ratios {1}) of one response
// with α, and the L1 ratio among ratios, fixed or chosen by k-fold
// cross-validation over the folds: among Alphas, or along the path of
// 100 penalties from the smallest α that keeps every coefficient 0 down
// to a thousandth of it (scikit-learn's ElasticNetCV), warm-started.
func fitENet(set Linear, folds [][]*baseline.SuffStats, total *baseline.SuffStats, ratios []float64) (*linearSolution, error) {
	if q := len(total.MeanY); q != 1 {
		return nil, fmt.Errorf("the lasso and the elastic net fit one response, the data have %d (fit pls or ridge, or one response at a time)", q)
	}
	m := &baseline.ElasticNet{}
	var err error
	if folds == nil {
		m.Alpha, m.L1Ratio = set.Alphas[0], ratios[0]
		err = m.FitStats(total)
	} else {
		m.Alphas, m.L1Ratios = set.Alphas, ratios
		if len(m.Alphas) == 0 {
			m.NAlphas = 100
		}
		err = m.FitFolds(folds)
	}
	if err != nil {
		return nil, err
	}
	sol := &linearSolution{fit: LinearFit{Alpha: m.AlphaUsed}}
	lasso := len(ratios) == 1 && ratios[0] == 1
	if !lasso {
		sol.fit.L1Ratio = m.L1RatioUsed
	}
	for r, scores := range m.CVMSE {
		for a, mse := range scores {
			c := CVScore{Alpha: m.Grid[r][a], MSE: mse}
			if !lasso {
				c.L1Ratio = ratios[r]
			}
			sol.fit.CV = append(sol.fit.CV, c)
		}
	}
	sol.wy = mat.DenseCopyOf(m.Coef.T())
	sol.by = slices.Clone(m.Intercept)
	return sol, nil
}

// AlphaGrid returns the default penalties of ridge, the lasso and the
// elastic net for statistics s: tr(Sxx)·10^e for e = −6, −5.5, …, 0,
// 13 values. tr(Sxx), the inputs' summed centred sums of squares, bounds
// the largest eigenvalue of Sxx, so the grid runs from nearly
// unpenalised (every direction with more than a millionth of the total
// variance kept) to α = tr(Sxx), which shrinks every direction by at
// least half; and its smallest α keeps the float32 factorisation that
// solves ridge at p ≥ 512 inputs positive definite.
func AlphaGrid(s *baseline.SuffStats) []float64 {
	tr := sxxTrace(s)
	grid := baseline.LogSpace(-6, 0, 13)
	for i := range grid {
		grid[i] *= tr
	}
	return grid
}

// sxxTrace returns tr(Sxx) (1 for inputs without spread).
func sxxTrace(s *baseline.SuffStats) float64 {
	var tr float64
	for j := range len(s.MeanX) {
		tr += s.Sxx.At(j, j)
	}
	if !(tr > 0) {
		return 1
	}
	return tr
}
