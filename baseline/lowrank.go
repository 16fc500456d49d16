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

// factor returns F (p×r, row-major) with Sxx = FFᵀ to rounding — the
// held factor, or one computed from Sxx by a pivoted Cholesky
// factorisation and kept — or nil when the statistics are not low-rank
// (lowRank).
func (s *SuffStats) factor() (f []float64, r int) {
	p := len(s.MeanX)
	if s.F != nil {
		_, r = s.F.Dims()
		if s.F.RawMatrix().Stride != r {
			s.F = mat.DenseCopyOf(s.F)
		}
		return s.F.RawMatrix().Data, r
	}
	if !lowRank(s.N, p) || s.Sxx == nil {
		return nil, 0
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
	r = max(len(cols), 1)
	s.F = mat.NewDense(p, r, nil)
	for a, c := range cols {
		s.F.SetCol(a, c)
	}
	return s.F.RawMatrix().Data, r
}

// factored is merged statistics with their cross-product held as the
// factor F (p×R, row-major): Sxx = FFᵀ.
type factored struct {
	Stats *SuffStats
	F     []float64
	R     int
}

// mergeFactored merges parts keeping factors, without forming Sxx; ok is
// false when the parts or their merge are not low-rank. With x̄ the
// overall mean, Sxx = Σ_g F_gF_gᵀ + Σ_g N_g(x̄_g − x̄)(x̄_g − x̄)ᵀ, so the
// factor is every F_g and every √N_g(x̄_g − x̄) side by side (one
// allocation; Sxy and Syy likewise in one pass).
func mergeFactored(parts []*SuffStats) (factored, bool) {
	var keep []*SuffStats
	n, cols := 0, 0
	for _, s := range parts {
		if s == nil || s.N == 0 {
			continue
		}
		f, r := s.factor()
		if f == nil {
			return factored{}, false
		}
		keep = append(keep, s)
		n += s.N
		cols += r + 1
	}
	if len(keep) == 0 || !lowRank(n, len(keep[0].MeanX)) {
		return factored{}, false
	}
	p, q := len(keep[0].MeanX), len(keep[0].MeanY)
	m := &SuffStats{N: n, MeanX: make([]float64, p), MeanY: make([]float64, q), Sxy: mat.NewDense(p, q, nil), Syy: mat.NewSymDense(q, nil)}
	for _, s := range keep {
		w := float64(s.N) / float64(n)
		floats.AddScaled(m.MeanX, w, s.MeanX)
		floats.AddScaled(m.MeanY, w, s.MeanY)
	}
	f := make([]float64, p*cols)
	off := 0
	dx, dy := make([]float64, p), make([]float64, q)
	for _, s := range keep {
		fs, r := s.factor()
		for i := range p {
			copy(f[i*cols+off:i*cols+off+r], fs[i*r:i*r+r])
		}
		floats.SubTo(dx, s.MeanX, m.MeanX)
		floats.SubTo(dy, s.MeanY, m.MeanY)
		w := math.Sqrt(float64(s.N))
		for i := range p {
			f[i*cols+off+r] = w * dx[i]
		}
		off += r + 1
		m.Sxy.Add(m.Sxy, s.Sxy)
		m.Syy.AddSym(m.Syy, s.Syy)
		nn := float64(s.N)
		for i := range p {
			row := m.Sxy.RawRowView(i)
			for k := range q {
				row[k] += nn * dx[i] * dy[k]
			}
		}
		m.Syy.SymRankOne(m.Syy, nn, mat.NewVecDense(q, dy))
	}
	m.F = mat.NewDense(p, cols, f)
	return factored{Stats: m, F: f, R: cols}, true
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
// factor or in full (F nil).
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
	src.fac = lowRank(total.N, p)
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
		sxx := s.sxx()
		g.full = mat.NewSymDense(k, nil)
		for a, i := range idx {
			for b := a; b < k; b++ {
				g.full.SetSym(a, b, sxx.At(i, idx[b]))
			}
			v[a] = sxx.At(i, i) / float64(s.N)
		}
	}
	g.sd = sdFromVar(v, out.MeanX, s.N)
	return out, g
}

// heldOutPath returns the summed squared errors on fold f of the PLS
// models with 1..hi components (mod fitted on train, scaled by sd, over
// the columns idx; a model that stopped early keeps its last component).
// With R the rotations in the units of x and Q the y-loadings, the model
// with a components is B_a = R_aQ_aᵀ and b0 = ȳ − B_aᵀx̄, so from
// M = RᵀSxxR, V = RᵀSxy and u = Rᵀ(x̄_f − x̄) of each held-out part the
// error of every a follows in O(a·q): one product with Sxx per part
// instead of one per component count.
func (src *foldSource) heldOutPath(f int, idx []int, mod plsModel, train *SuffStats, sd []float64, hi int) []float64 {
	out := make([]float64, hi)
	p, q := mod.nx, mod.ny
	A := mod.a
	if A == 0 {
		for _, s := range src.folds[f] {
			v := s.sse(mat.NewDense(len(s.MeanX), q, nil), train.MeanY)
			for a := range out {
				out[a] += v
			}
		}
		return out
	}
	full, _ := src.total.Stats.Sxy.Dims()
	if idx == nil {
		idx = make([]int, p)
		for i := range idx {
			idx[i] = i
		}
	}
	// Rotations in the units of x, spread over all columns.
	rx := mat.NewDense(full, A, nil)
	for a, i := range idx {
		for j := range A {
			rx.Set(i, j, mod.r.At(a, j)/sd[a])
		}
	}
	for _, s := range src.folds[f] {
		var w mat.Dense // Sxx·R
		if fac, r := s.factor(); fac != nil {
			fm := mat.NewDense(full, r, fac)
			var t mat.Dense
			t.Mul(fm.T(), rx)
			w.Mul(fm, &t)
		} else {
			w.Mul(s.sxx(), rx)
		}
		var m, v mat.Dense
		m.Mul(rx.T(), &w)
		v.Mul(rx.T(), s.Sxy)
		u := make([]float64, A)
		for j := range A {
			for c, i := range idx {
				u[j] += rx.At(i, j) * (s.MeanX[i] - train.MeanX[c])
			}
		}
		n := float64(s.N)
		for k := range q {
			syy := s.Syy.At(k, k)
			var lin, quad, mu float64
			for a := range hi {
				if a < A {
					qa := mod.q.At(k, a)
					lin += qa * v.At(a, k)
					quad += qa * qa * m.At(a, a)
					for i := range a {
						quad += 2 * mod.q.At(k, i) * m.At(i, a) * qa
					}
					mu += qa * u[a]
				}
				res := s.MeanY[k] - train.MeanY[k] - mu
				out[a] += syy - 2*lin + quad + n*res*res
			}
		}
	}
	return out
}
