package baseline

import (
	"math"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/internal/gemm"
	"github.com/fdrmfl/fdrmfl/internal/linalg"
)

// SuffStats are the sufficient statistics of a block of N rows (x_i, y_i)
// for least squares, ridge, PLS and PCA: what a client sends instead of its
// rows. With x̄ = (1/N) Σ x_i and ȳ = (1/N) Σ y_i,
//
//	MeanX = x̄ (p), MeanY = ȳ (q),
//	Sxx = Σ (x_i − x̄)(x_i − x̄)ᵀ (p×p), Sxy = Σ (x_i − x̄)(y_i − ȳ)ᵀ (p×q),
//	Syy = Σ (y_i − ȳ)(y_i − ȳ)ᵀ (q×q).
//
// The raw sums follow: Σx = N·x̄, XᵀX = Sxx + N·x̄x̄ᵀ, XᵀY = Sxy + N·x̄ȳᵀ.
// Centred sums are kept rather than raw ones because forming a covariance
// as XᵀX − N·x̄x̄ᵀ cancels catastrophically when the means are large against
// the spread (spectra), while merging centred blocks (Merge) is exact
// algebra with no cancellation; see docs/decisions/0003-baseline-linear-algebra.md.
//
// The zero value holds no rows and is ready to Merge into. Sxx and Syy are
// stored as full symmetric matrices (mat.SymDense) and every field is a
// plain number or matrix, so a transport can copy it.
//
// Statistics of few rows against many inputs (spectra: lowRank, N − 1 ≤
// p/4 with p > 300) hold Sxx as a factor instead: F (p×r) with Sxx = FFᵀ
// and Sxx nil, which saves the p×p matrix (35 MB at p = 2100) and every
// O(p²) step; see lowrank.go. NewSuffStats makes F = X̃ᵀU from the
// eigenvectors U of X̃X̃ᵀ (signs fixed), a function of Sxx alone, so it
// tells no more about the rows than Sxx does. Merge keeps factors while
// the merge stays low-rank.
type SuffStats struct {
	N            int
	MeanX, MeanY []float64
	Sxx          *mat.SymDense
	F            *mat.Dense
	Sxy          *mat.Dense
	Syy          *mat.SymDense

	sxx32 []float32 // full float32 copy of Sxx for held-out errors at large p; nil until needed
}

// sxx returns Sxx, formed from the factor (and kept) when only F is held.
func (s *SuffStats) sxx() *mat.SymDense {
	if s.Sxx == nil && s.F != nil {
		p, r := s.F.Dims()
		f := mat.DenseCopyOf(s.F)
		var c []float64
		if p >= largeP {
			c = linalg.Outer(f.RawMatrix().Data, p, r)
		} else {
			var g mat.SymDense
			g.SymOuterK(1, f)
			return s.keep(&g)
		}
		return s.keep(mat.NewSymDense(p, c))
	}
	return s.Sxx
}

func (s *SuffStats) keep(g *mat.SymDense) *mat.SymDense {
	s.Sxx = g
	return g
}

// sxxTimes returns Sxx·coef. At large p it runs on the float32 GEMM from a
// cached full copy of Sxx (held-out errors compare candidates, which float32
// products resolve); otherwise in float64.
func (s *SuffStats) sxxTimes(coef *mat.Dense) *mat.Dense {
	p, q := coef.Dims()
	if p < largeP {
		var out mat.Dense
		out.Mul(s.sxx(), coef)
		return &out
	}
	if s.sxx32 == nil {
		raw := s.sxx().RawSymmetric()
		s.sxx32 = make([]float32, p*p)
		for i := range p {
			for j := i; j < p; j++ {
				v := float32(raw.Data[i*raw.Stride+j])
				s.sxx32[i*p+j], s.sxx32[j*p+i] = v, v
			}
		}
	}
	c32 := make([]float32, p*q)
	for i := range p {
		for j := range q {
			c32[i*q+j] = float32(coef.At(i, j))
		}
	}
	o32 := make([]float32, p*q)
	gemm.Sgemm(false, false, p, q, p, 1, s.sxx32, p, c32, q, 0, o32, q)
	out := make([]float64, p*q)
	for i, v := range o32 {
		out[i] = float64(v)
	}
	return mat.NewDense(p, q, out)
}

// NewSuffStats computes the statistics of the rows of x (n×p) and y (n×q).
// A single response is mat.NewDense(n, 1, y).
func NewSuffStats(x, y *mat.Dense) (*SuffStats, error) {
	const fn = "NewSuffStats"
	if x == nil || y == nil {
		return nil, errorf(fn, "nil matrix")
	}
	n, p := x.Dims()
	ny, q := y.Dims()
	if n != ny {
		return nil, errorf(fn, "x is %d×%d, y is %d×%d: rows differ", n, p, ny, q)
	}
	if n == 0 {
		return &SuffStats{}, nil
	}
	mx, _ := columnScale(x, false)
	my, _ := columnScale(y, false)
	xc, yc := centre(x, mx, nil), centre(y, my, nil)
	s := &SuffStats{N: n, MeanX: mx, MeanY: my, Sxy: mat.NewDense(p, q, nil), Syy: mat.NewSymDense(q, nil)}
	s.Sxy.Mul(xc.T(), yc)
	s.Syy.SymOuterK(1, yc.T())
	switch {
	case lowRank(n, p):
		s.F = rowFactor(xc)
	case p >= largeP && n*p >= 1<<16:
		// gonum's float64 rank-k update takes seconds at these sizes; the
		// float32 GEMM with float64 accumulation across row blocks takes
		// milliseconds, with relative rounding of about 1e-7 on centred data.
		s.Sxx = mat.NewSymDense(p, nil)
		c := linalg.CrossProduct(xc.RawMatrix().Data, n, p)
		raw := s.Sxx.RawSymmetric() // upper triangle, row-major
		for i := range p {
			copy(raw.Data[i*raw.Stride+i:i*raw.Stride+p], c[i*p+i:i*p+p])
		}
	default:
		s.Sxx = mat.NewSymDense(p, nil)
		s.Sxx.SymOuterK(1, xc.T())
	}
	return s, nil
}

// rowFactor returns F = X̃ᵀU (p×r) for centred rows xc (n×p): U the
// eigenvectors of X̃X̃ᵀ above the rank tolerance, each signed so that its
// largest entry is positive. FFᵀ = X̃ᵀX̃ and F depends on X̃ᵀX̃ alone (up to
// the order of equal eigenvalues), as V·Σ of the SVD.
func rowFactor(xc *mat.Dense) *mat.Dense {
	n, p := xc.Dims()
	var g mat.SymDense
	g.SymOuterK(1, xc)
	vals, u, ok := eigDesc(&g)
	if !ok {
		return mat.NewDense(p, 1, nil) // not reached: EigenSym does not fail on a finite Gram
	}
	r := numRank(vals, n, p)
	u = sliceCols(u, r)
	flipSigns(u)
	f := mat.NewDense(p, max(r, 1), nil)
	if r > 0 {
		f.Mul(xc.T(), u)
	}
	return f
}

// FoldStats computes one SuffStats per fold of a client's rows: folds[i]
// is the fold (0..k−1) of row i, as from KFold. A client sends these so the
// server can cross-validate (Ridge.FitFolds, PLS.FitFolds); their Merge
// is the client's total. A fold with no rows gives zero statistics.
func FoldStats(x, y *mat.Dense, folds []int) ([]*SuffStats, error) {
	const fn = "FoldStats"
	if x == nil || y == nil {
		return nil, errorf(fn, "nil matrix")
	}
	n, _ := x.Dims()
	if len(folds) != n {
		return nil, errorf(fn, "folds has %d entries, x has %d rows", len(folds), n)
	}
	k := 0
	for _, f := range folds {
		if f < 0 {
			return nil, errorf(fn, "negative fold id %d", f)
		}
		k = max(k, f+1)
	}
	out := make([]*SuffStats, k)
	for f := range k {
		_, idx := splitFold(folds, f)
		s, err := NewSuffStats(rows(x, idx), rows(y, idx))
		if err != nil {
			return nil, errorf(fn, "fold %d: %w", f, err)
		}
		out[f] = s
	}
	return out, nil
}

// Merge adds the rows summarised by o to s, in place, by the pairwise
// update of Chan, Golub & LeVeque (1979): with n = n_a + n_b,
// δx = x̄_b − x̄_a and δy = ȳ_b − ȳ_a,
//
//	x̄ = x̄_a + (n_b/n)·δx,  Sxx = Sxx_a + Sxx_b + (n_a·n_b/n)·δx δxᵀ,
//
// and likewise for ȳ, Sxy and Syy. The result equals the statistics of the
// concatenated rows up to rounding. o is not modified.
func (s *SuffStats) Merge(o *SuffStats) error {
	const fn = "SuffStats.Merge"
	if o == nil || o.N == 0 {
		return nil
	}
	if err := o.check(fn); err != nil {
		return err
	}
	if s.N == 0 {
		*s = *o.Clone()
		return nil
	}
	if err := s.check(fn); err != nil {
		return err
	}
	p, q := len(s.MeanX), len(s.MeanY)
	if len(o.MeanX) != p || len(o.MeanY) != q {
		return errorf(fn, "statistics of %d x and %d y columns merged with %d and %d",
			p, q, len(o.MeanX), len(o.MeanY))
	}
	s.sxx32 = nil // Sxx changes below
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
	if s.F != nil && o.F != nil && lowRank(s.N+o.N, p) {
		// Sxx = F_aF_aᵀ + F_bF_bᵀ + c·δxδxᵀ: the factors side by side
		// with √c·δx.
		_, ra := s.F.Dims()
		_, rb := o.F.Dims()
		f := mat.NewDense(p, ra+rb+1, nil)
		w := math.Sqrt(c)
		for i := range p {
			row := f.RawRowView(i)
			copy(row, s.F.RawRowView(i))
			copy(row[ra:], o.F.RawRowView(i))
			row[ra+rb] = w * dx[i]
		}
		s.F, s.Sxx = f, nil
	} else {
		// In full: each side's Sxx formed from its factor at most once
		// (o keeps it for the next merge it takes part in).
		sa, sb := s.sxx(), o.sxx()
		s.Sxx = mat.NewSymDense(p, nil)
		s.Sxx.AddSym(sa, sb)
		s.Sxx.SymRankOne(s.Sxx, c, mat.NewVecDense(p, dx))
		s.F = nil
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
	return nil
}

// MergeStats returns the merge of the given statistics, taken in argument
// order (so the same inputs give the same bits), without modifying their
// values (a factored input whose merge is not low-rank keeps its Sxx,
// formed from the factor, for later merges).
func MergeStats(stats ...*SuffStats) (*SuffStats, error) {
	n := 0
	for _, o := range stats {
		if o != nil {
			n += o.N
		}
	}
	for _, o := range stats {
		if o != nil && o.N > 0 && o.Sxx == nil && o.F != nil && !lowRank(n, len(o.MeanX)) {
			o.sxx() // formed once, and kept for the other merges o takes part in
		}
	}
	out := &SuffStats{}
	for i, o := range stats {
		if err := out.Merge(o); err != nil {
			return nil, errorf("MergeStats", "argument %d: %w", i, err)
		}
	}
	return out, nil
}

// Densify forms Sxx from the factor when s holds only the factor F, and
// drops F: for consumers that need the full cross-product (a wire format
// of p×p statistics, checks of its diagonal).
func (s *SuffStats) Densify() {
	if s.Sxx == nil && s.F != nil {
		s.sxx()
	}
	s.F = nil
}

// Clone returns a deep copy of s.
func (s *SuffStats) Clone() *SuffStats {
	c := &SuffStats{N: s.N,
		MeanX: append([]float64(nil), s.MeanX...),
		MeanY: append([]float64(nil), s.MeanY...),
	}
	if s.Sxx != nil {
		c.Sxx = mat.NewSymDense(s.Sxx.SymmetricDim(), nil)
		c.Sxx.CopySym(s.Sxx)
	}
	if s.F != nil {
		c.F = mat.DenseCopyOf(s.F)
	}
	if s.Syy != nil {
		c.Syy = mat.NewSymDense(s.Syy.SymmetricDim(), nil)
		c.Syy.CopySym(s.Syy)
	}
	if s.Sxy != nil {
		c.Sxy = mat.DenseCopyOf(s.Sxy)
	}
	return c
}

// check reports statistics whose blocks disagree in size.
func (s *SuffStats) check(fn string) error {
	if s == nil {
		return errorf(fn, "nil statistics")
	}
	if s.N < 0 {
		return errorf(fn, "N = %d", s.N)
	}
	if s.N == 0 {
		return errorf(fn, "statistics of no rows")
	}
	p, q := len(s.MeanX), len(s.MeanY)
	if p == 0 || (s.Sxx == nil && s.F == nil) || s.Sxy == nil || s.Syy == nil {
		return errorf(fn, "incomplete statistics")
	}
	r, c := s.Sxy.Dims()
	px := p
	if s.Sxx != nil {
		px = s.Sxx.SymmetricDim()
	}
	if s.F != nil {
		if fr, _ := s.F.Dims(); fr != p {
			return errorf(fn, "means of %d columns with a factor of %d rows", p, fr)
		}
	}
	if px != p || r != p || c != q || s.Syy.SymmetricDim() != q {
		return errorf(fn, "means of %d and %d columns with Sxx %d×%d, Sxy %d×%d, Syy %d×%d",
			p, q, px, px, r, c, s.Syy.SymmetricDim(), s.Syy.SymmetricDim())
	}
	return nil
}

// sdX returns the population sds of the x columns, √(Sxx_jj/N), with the
// Scaler's rule for constant columns.
func (s *SuffStats) sdX() []float64 {
	p := len(s.MeanX)
	v := make([]float64, p)
	if s.Sxx == nil && s.F != nil {
		for j := range p {
			row := s.F.RawRowView(j)
			v[j] = floats.Dot(row, row) / float64(s.N)
		}
		return sdFromVar(v, s.MeanX, s.N)
	}
	for j := range p {
		v[j] = s.Sxx.At(j, j) / float64(s.N)
	}
	return sdFromVar(v, s.MeanX, s.N)
}

// sse returns the summed squared error Σ_i ‖y_i − b0 − Bᵀx_i‖² of the
// linear model (coef B p×q, intercept b0) on the rows summarised by s,
// from the statistics alone:
//
//	SSE = tr Syy − 2·tr(BᵀSxy) + tr(BᵀSxxB) + N·‖ȳ − b0 − Bᵀx̄‖².
func (s *SuffStats) sse(coef *mat.Dense, b0 []float64) float64 {
	if v, ok := s.sseFactored(coef, b0); ok {
		return v
	}
	p, q := coef.Dims()
	sxxB := s.sxxTimes(coef)
	var out float64
	for k := range q {
		out += s.Syy.At(k, k)
		for j := range p {
			b := coef.At(j, k)
			out += b * (sxxB.At(j, k) - 2*s.Sxy.At(j, k))
		}
		r := s.MeanY[k] - b0[k]
		for j := range p {
			r -= coef.At(j, k) * s.MeanX[j]
		}
		out += float64(s.N) * r * r
	}
	return out
}
