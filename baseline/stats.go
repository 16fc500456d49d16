package baseline

import (
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
type SuffStats struct {
	N            int
	MeanX, MeanY []float64
	Sxx          *mat.SymDense
	Sxy          *mat.Dense
	Syy          *mat.SymDense

	sxx32 []float32 // full float32 copy of Sxx for held-out errors at large p; nil until needed
	fac   []float64 // p×facR factor of Sxx when low-rank (factor); nil until needed
	facR  int
}

// sxxTimes returns Sxx·coef. At large p it runs on the float32 GEMM from a
// cached full copy of Sxx (held-out errors compare candidates, which float32
// products resolve); otherwise in float64.
func (s *SuffStats) sxxTimes(coef *mat.Dense) *mat.Dense {
	p, q := coef.Dims()
	if p < largeP {
		var out mat.Dense
		out.Mul(s.Sxx, coef)
		return &out
	}
	if s.sxx32 == nil {
		raw := s.Sxx.RawSymmetric()
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
	s := &SuffStats{N: n, MeanX: mx, MeanY: my,
		Sxx: mat.NewSymDense(p, nil), Sxy: mat.NewDense(p, q, nil), Syy: mat.NewSymDense(q, nil)}
	if p >= largeP && n*p >= 1<<16 {
		// gonum's float64 rank-k update takes seconds at these sizes; the
		// float32 GEMM with float64 accumulation across row blocks takes
		// milliseconds, with relative rounding of about 1e-7 on centred data.
		c := linalg.CrossProduct(xc.RawMatrix().Data, n, p)
		raw := s.Sxx.RawSymmetric() // upper triangle, row-major
		for i := range p {
			copy(raw.Data[i*raw.Stride+i:i*raw.Stride+p], c[i*p+i:i*p+p])
		}
	} else {
		s.Sxx.SymOuterK(1, xc.T())
	}
	s.Sxy.Mul(xc.T(), yc)
	s.Syy.SymOuterK(1, yc.T())
	return s, nil
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
	s.sxx32, s.fac, s.facR = nil, nil, 0 // Sxx changes below
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
	s.Sxx.AddSym(s.Sxx, o.Sxx)
	s.Sxx.SymRankOne(s.Sxx, c, mat.NewVecDense(p, dx))
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
// order (so the same inputs give the same bits), without modifying them.
func MergeStats(stats ...*SuffStats) (*SuffStats, error) {
	out := &SuffStats{}
	for i, o := range stats {
		if err := out.Merge(o); err != nil {
			return nil, errorf("MergeStats", "argument %d: %w", i, err)
		}
	}
	return out, nil
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
	if p == 0 || s.Sxx == nil || s.Sxy == nil || s.Syy == nil {
		return errorf(fn, "incomplete statistics")
	}
	r, c := s.Sxy.Dims()
	if s.Sxx.SymmetricDim() != p || r != p || c != q || s.Syy.SymmetricDim() != q {
		return errorf(fn, "means of %d and %d columns with Sxx %d×%d, Sxy %d×%d, Syy %d×%d",
			p, q, s.Sxx.SymmetricDim(), s.Sxx.SymmetricDim(), r, c, s.Syy.SymmetricDim(), s.Syy.SymmetricDim())
	}
	return nil
}

// sdX returns the population sds of the x columns, √(Sxx_jj/N), with the
// Scaler's rule for constant columns.
func (s *SuffStats) sdX() []float64 {
	p := len(s.MeanX)
	v := make([]float64, p)
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
