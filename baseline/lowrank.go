package baseline

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// Statistics of few rows against many inputs (spectra: N ≤ 100 rows of
// p = 700–2100 channels) have a cross-product Sxx of rank at most N − 1.
// The server then factors each client's (or fold's) Sxx once,
// Sxx = FFᵀ with F p×r (a pivoted Cholesky factorisation, O(p·r²)), and
// works with the factors: the cross-product of a merge is
//
//	Sxx = Σ_g F_gF_gᵀ + Σ_g N_g·(x̄_g − x̄)(x̄_g − x̄)ᵀ,
//
// whose factor is the columns of every F_g and √N_g·(x̄_g − x̄), so no p×p
// matrix is formed for a training part, and G·v costs O(p·r) instead of
// O(p²). The results equal those of the full matrices to rounding.

// lowRank reports whether statistics of n rows and p inputs are worth
// factoring.
func lowRank(n, p int) bool { return !denseOnly && p > fullEigenP && 4*max(n-1, 1) <= p }

// denseOnly turns factoring off, so that tests can compare both paths.
var denseOnly = false

// factor returns F (p×r, row-major) with Sxx = FFᵀ to rounding, cached, or
// nil when the statistics are not low-rank (lowRank).
func (s *SuffStats) factor() (f []float64, r int) {
	p := len(s.MeanX)
	if !lowRank(s.N, p) || s.Sxx == nil {
		return nil, 0
	}
	if s.fac != nil {
		return s.fac, s.facR
	}
	raw := s.Sxx.RawSymmetric()
	full := make([]float64, p*p)
	for i := range p {
		for j := i; j < p; j++ {
			v := raw.Data[i*raw.Stride+j]
			full[i*p+j], full[j*p+i] = v, v
		}
	}
	cols := pivotedCholesky(full, p, min(s.N-1, p))
	s.facR = len(cols)
	s.fac = make([]float64, p*s.facR)
	for a, c := range cols {
		for i, v := range c {
			s.fac[i*s.facR+a] = v
		}
	}
	return s.fac, s.facR
}

// factored is the merge of some statistics with its cross-product held as
// a factor: Stats has N, the means, Sxy and Syy (Sxx nil) and Sxx = FFᵀ.
type factored struct {
	Stats *SuffStats
	F     []float64 // p×R, row-major
	R     int
}

// mergeFactored merges parts (in order) without forming Sxx; ok is false
// when a part is not low-rank.
func mergeFactored(parts []*SuffStats) (factored, bool) {
	var out factored
	light := &SuffStats{}
	for _, s := range parts {
		if s == nil || s.N == 0 {
			continue
		}
		if f, _ := s.factor(); f == nil {
			return out, false
		}
		light.mergeLight(s)
	}
	if light.N == 0 {
		return out, false
	}
	p := len(light.MeanX)
	var cols [][]float64
	for _, s := range parts {
		if s == nil || s.N == 0 {
			continue
		}
		f, r := s.factor()
		for a := range r {
			c := make([]float64, p)
			for i := range p {
				c[i] = f[i*r+a]
			}
			cols = append(cols, c)
		}
		c := make([]float64, p)
		w := math.Sqrt(float64(s.N))
		for i := range p {
			c[i] = w * (s.MeanX[i] - light.MeanX[i])
		}
		cols = append(cols, c)
	}
	out.Stats, out.R = light, len(cols)
	out.F = make([]float64, p*out.R)
	for a, c := range cols {
		for i, v := range c {
			out.F[i*out.R+a] = v
		}
	}
	return out, true
}

// mergeLight is Merge without Sxx: counts, means, Sxy and Syy.
func (s *SuffStats) mergeLight(o *SuffStats) {
	p, q := len(o.MeanX), len(o.MeanY)
	if s.N == 0 {
		s.N = o.N
		s.MeanX, s.MeanY = append([]float64(nil), o.MeanX...), append([]float64(nil), o.MeanY...)
		s.Sxy = mat.DenseCopyOf(o.Sxy)
		s.Syy = mat.NewSymDense(q, nil)
		s.Syy.CopySym(o.Syy)
		return
	}
	na, nb := float64(s.N), float64(o.N)
	n := na + nb
	c := na * nb / n
	dx := make([]float64, p)
	for j := range dx {
		dx[j] = o.MeanX[j] - s.MeanX[j]
	}
	dy := make([]float64, q)
	for j := range dy {
		dy[j] = o.MeanY[j] - s.MeanY[j]
	}
	s.Syy.AddSym(s.Syy, o.Syy)
	s.Syy.SymRankOne(s.Syy, c, mat.NewVecDense(q, dy))
	s.Sxy.Add(s.Sxy, o.Sxy)
	for i := range p {
		row := s.Sxy.RawRowView(i)
		for j := range q {
			row[j] += c * dx[i] * dy[j]
		}
	}
	for j := range dx {
		s.MeanX[j] += nb / n * dx[j]
	}
	for j := range dy {
		s.MeanY[j] += nb / n * dy[j]
	}
	s.N += o.N
}

// diag returns the diagonal of FFᵀ.
func (f factored) diag() []float64 {
	p := len(f.Stats.MeanX)
	d := make([]float64, p)
	for i := range p {
		row := f.F[i*f.R : i*f.R+f.R]
		d[i] = floats.Dot(row, row)
	}
	return d
}

// sdX is SuffStats.sdX from the factor's diagonal.
func (f factored) sdX() []float64 {
	d := f.diag()
	for i := range d {
		d[i] /= float64(f.Stats.N)
	}
	return sdFromVar(d, f.Stats.MeanX, f.Stats.N)
}

// scaled returns D⁻¹F for D = diag(sd).
func (f factored) scaled(sd []float64) []float64 {
	out := append([]float64(nil), f.F...)
	for i, s := range sd {
		floats.Scale(1/s, out[i*f.R:i*f.R+f.R])
	}
	return out
}

// gramOp is a symmetric positive semi-definite p×p matrix G by its action.
type gramOp interface {
	dim() int
	trace() float64
	mulVec(dst, x []float64) // dst = G·x
}

// denseGram is a full G.
type denseGram struct{ g *mat.SymDense }

func (d denseGram) dim() int { return d.g.SymmetricDim() }

func (d denseGram) trace() float64 {
	var t float64
	for i := range d.dim() {
		t += d.g.At(i, i)
	}
	return t
}

func (d denseGram) mulVec(dst, x []float64) {
	mat.NewVecDense(len(dst), dst).MulVec(d.g, mat.NewVecDense(len(x), x))
}

// factorGram is G = FFᵀ, F p×r row-major.
type factorGram struct {
	f    []float64
	p, r int
	tmp  []float64
}

func newFactorGram(f []float64, p, r int) *factorGram {
	return &factorGram{f: f, p: p, r: r, tmp: make([]float64, r)}
}

func (g *factorGram) dim() int { return g.p }

func (g *factorGram) trace() float64 { return floats.Dot(g.f, g.f) }

func (g *factorGram) mulVec(dst, x []float64) {
	t := g.tmp
	for a := range t {
		t[a] = 0
	}
	for i, xi := range x {
		if xi != 0 {
			floats.AddScaled(t, xi, g.f[i*g.r:i*g.r+g.r])
		}
	}
	for i := range dst {
		dst[i] = floats.Dot(g.f[i*g.r:i*g.r+g.r], t)
	}
}

// sseFactored is sse with tr(BᵀSxxB) = ‖FᵀB‖²_F from s's factor, or false
// when s has none.
func (s *SuffStats) sseFactored(coef *mat.Dense, b0 []float64) (float64, bool) {
	f, r := s.factor()
	if f == nil {
		return 0, false
	}
	p, q := coef.Dims()
	var out float64
	t := make([]float64, r)
	col := make([]float64, p)
	for k := range q {
		mat.Col(col, k, coef)
		for a := range t {
			t[a] = 0
		}
		for i, b := range col {
			if b != 0 {
				floats.AddScaled(t, b, f[i*r:i*r+r])
			}
		}
		out += s.Syy.At(k, k) + floats.Dot(t, t)
		res := s.MeanY[k] - b0[k]
		for j := range p {
			out -= 2 * col[j] * s.Sxy.At(j, k)
			res -= col[j] * s.MeanX[j]
		}
		out += float64(s.N) * res * res
	}
	return out, true
}

// foldSource serves the training parts and held-out errors of folds of
// statistics, restricted to a set of columns, for PLS cross-validation:
// from factors when the statistics are low-rank (no p×p matrix formed),
// else from merged full matrices. Training parts are merged once and
// shared by every column set.
type foldSource struct {
	folds  [][]*SuffStats
	total  factoredOrFull
	trains []*factoredOrFull
	fac    bool
}

// factoredOrFull is merged statistics with their cross-product as a
// factor (Stats.Sxx nil) or in full (F nil).
type factoredOrFull struct {
	factored
}

// restrictedGram is a scaled-ready cross-product of some columns.
type restrictedGram struct {
	full *mat.SymDense // nil when factored
	f    []float64     // p×r rows, when factored
	r    int
	sd   []float64 // population sds of the columns
}

// scaled returns D⁻¹GD⁻¹ for D = diag(sd).
func (g restrictedGram) scaled(sd []float64) gramOp {
	if g.full != nil {
		return denseGram{scaleSym(g.full, sd)}
	}
	fs := factored{Stats: &SuffStats{MeanX: sd}, F: g.f, R: g.r}
	return newFactorGram(fs.scaled(sd), len(sd), g.r)
}

func newFoldSource(fn string, folds [][]*SuffStats) (*foldSource, error) {
	total, err := checkFolds(fn, folds)
	if err != nil {
		return nil, err
	}
	src := &foldSource{folds: folds, trains: make([]*factoredOrFull, len(folds))}
	p := len(total.MeanX)
	var all []*SuffStats
	for _, fold := range folds {
		all = append(all, fold...)
	}
	src.fac = true
	for _, s := range all {
		src.fac = src.fac && lowRank(s.N, p)
	}
	if src.fac {
		fm, ok := mergeFactored(all)
		if !ok {
			return nil, errorf(fn, "factoring the statistics failed")
		}
		src.total = factoredOrFull{fm}
	} else {
		src.total = factoredOrFull{factored{Stats: total}}
	}
	return src, nil
}

// trainN returns the rows outside fold f.
func (src *foldSource) trainN(f int) int {
	n := src.total.Stats.N
	for _, s := range src.folds[f] {
		n -= s.N
	}
	return n
}

func (src *foldSource) trainOf(f int) *factoredOrFull {
	if src.trains[f] == nil {
		parts := trainParts(src.folds, f)
		if src.fac {
			fm, _ := mergeFactored(parts) // every part factors (newFoldSource)
			src.trains[f] = &factoredOrFull{fm}
		} else {
			m, _ := MergeStats(parts...) // checked by newFoldSource
			src.trains[f] = &factoredOrFull{factored{Stats: m}}
		}
	}
	return src.trains[f]
}

// train returns the statistics of every fold but f restricted to the
// columns idx (nil: all) and their cross-product.
func (src *foldSource) train(f int, idx []int) (*SuffStats, restrictedGram) {
	return src.trainOf(f).restrict(idx)
}

// all is train for every fold together.
func (src *foldSource) all(idx []int) (*SuffStats, restrictedGram) {
	return src.total.restrict(idx)
}

// restrict returns the statistics of the columns idx (nil: all) with Sxx
// left nil, and their cross-product.
func (m *factoredOrFull) restrict(idx []int) (*SuffStats, restrictedGram) {
	s := m.Stats
	p, q := s.Sxy.Dims()
	if idx == nil {
		idx = make([]int, p)
		for i := range idx {
			idx[i] = i
		}
	}
	k := len(idx)
	out := &SuffStats{N: s.N, MeanX: make([]float64, k), MeanY: append([]float64(nil), s.MeanY...),
		Sxy: mat.NewDense(k, q, nil), Syy: s.Syy}
	for a, i := range idx {
		out.MeanX[a] = s.MeanX[i]
		out.Sxy.SetRow(a, s.Sxy.RawRowView(i))
	}
	g := restrictedGram{}
	v := make([]float64, k)
	if m.F != nil {
		g.f, g.r = make([]float64, k*m.R), m.R
		for a, i := range idx {
			copy(g.f[a*m.R:a*m.R+m.R], m.F[i*m.R:i*m.R+m.R])
			row := g.f[a*m.R : a*m.R+m.R]
			v[a] = floats.Dot(row, row) / float64(s.N)
		}
	} else {
		g.full = mat.NewSymDense(k, nil)
		for a, i := range idx {
			for b := a; b < k; b++ {
				g.full.SetSym(a, b, s.Sxx.At(i, idx[b]))
			}
			v[a] = s.Sxx.At(i, i) / float64(s.N)
		}
	}
	g.sd = sdFromVar(v, out.MeanX, s.N)
	return out, g
}

// heldOut returns the summed squared error on fold f of the model (coef
// over the columns idx, nil: all; intercepts b0).
func (src *foldSource) heldOut(f int, idx []int, coef *mat.Dense, b0 []float64) float64 {
	if idx != nil {
		p, _ := src.total.Stats.Sxy.Dims()
		_, q := coef.Dims()
		full := mat.NewDense(p, q, nil)
		for a, i := range idx {
			full.SetRow(i, coef.RawRowView(a))
		}
		coef = full
	}
	var sse float64
	for _, s := range src.folds[f] {
		sse += s.sse(coef, b0)
	}
	return sse
}
