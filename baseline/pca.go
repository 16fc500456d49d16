package baseline

import (
	"github.com/fdrmfl/fdrmfl/internal/linalg"

	"gonum.org/v1/gonum/mat"
)

// PCA is principal component analysis. Fit centres the columns (and, with
// Standardize, divides them by their population sd), forms the covariance
// C = X̃ᵀX̃/(n−1) and keeps its leading eigenvectors as Basis; Transform
// returns the scores X̃·Basis.
//
// The number of components is Components if positive, otherwise the fewest
// whose cumulative explained-variance ratio λ_1+…+λ_k over tr C exceeds
// Variance (sklearn's PCA(n_components=Variance)); the zero value uses
// Variance 0.90, the author's threshold. Setting both is an error, and so is
// asking for more components than the rank of the centred data.
//
// The decomposition is of the smaller Gram matrix (X̃ᵀX̃ or X̃X̃ᵀ) by a
// symmetric eigensolver, about twice as fast as an SVD of X̃ at the sizes of
// the study (docs/decisions/0003-baseline-linear-algebra.md). Each
// component's sign makes its largest-magnitude loading positive.
type PCA struct {
	Components  int     // fixed number of components; 0: use Variance
	Variance    float64 // explained-variance share in (0, 1); 0 with Components 0: 0.90
	Standardize bool    // divide centred columns by their sd (a correlation PCA)

	// Set by Fit.
	Mean      []float64  // column means
	Scale     []float64  // column sds when Standardize, else nil
	Basis     *mat.Dense // p×k unit loadings, largest variance first
	Variances []float64  // variance λ_j/(n−1) of each kept component
	Ratios    []float64  // explained-variance ratio of each kept component
}

// Fit learns the components from the rows of x (at least 2).
func (m *PCA) Fit(x *mat.Dense) error {
	const fn = "PCA.Fit"
	share, err := checkRule(fn, m.Components, m.Variance)
	if err != nil {
		return err
	}
	if x == nil {
		return errorf(fn, "x is nil")
	}
	n, p := x.Dims()
	if n < 2 || p == 0 {
		return errorf(fn, "x is %d×%d, need at least 2 rows", n, p)
	}
	mean, sd := columnScale(x, m.Standardize)
	xc := centre(x, mean, sd)
	lam, v, ok := gramBasis(xc, m.Components)
	if !ok {
		return errorf(fn, "eigendecomposition failed")
	}
	total := mat.Norm(xc, 2) // Frobenius norm: Σ x̃_ij² = tr X̃ᵀX̃
	return m.set(fn, mean, sd, lam, v, total*total, n, share)
}

// FitStats learns the components from merged client statistics: the
// pooled covariance is s.Sxx/(N−1), so the result equals Fit on the pooled
// rows up to rounding (the federated PCA). s.MeanY and the y blocks are
// ignored.
func (m *PCA) FitStats(s *SuffStats) error {
	const fn = "PCA.FitStats"
	share, err := checkRule(fn, m.Components, m.Variance)
	if err != nil {
		return err
	}
	if err := s.check(fn); err != nil {
		return err
	}
	if s.N < 2 {
		return errorf(fn, "statistics of %d rows, need at least 2", s.N)
	}
	mean := append([]float64(nil), s.MeanX...)
	g := mat.Symmetric(s.sxx())
	var sd []float64
	if m.Standardize {
		sd = s.sdX()
		g = scaleSym(s.sxx(), sd)
	}
	var total float64
	for i := range g.SymmetricDim() {
		total += g.At(i, i)
	}
	if lam, v, ok := leadingBasis(g, m.Components, share); ok {
		return m.set(fn, mean, sd, lam, v, total, s.N, share)
	}
	lam, v, ok := symBasis(g, s.N)
	if !ok {
		return errorf(fn, "eigendecomposition failed")
	}
	return m.set(fn, mean, sd, lam, v, total, s.N, share)
}

// set keeps the chosen components of a decomposition.
func (m *PCA) set(fn string, mean, sd, lam []float64, v *mat.Dense, total float64, n int, share float64) error {
	k, err := chooseK(fn, lam, total, m.Components, share)
	if err != nil {
		return err
	}
	m.Mean, m.Scale = mean, sd
	m.Basis = sliceCols(v, k)
	flipSigns(m.Basis)
	m.Variances = make([]float64, k)
	m.Ratios = make([]float64, k)
	for j := range k {
		m.Variances[j] = lam[j] / float64(n-1)
		m.Ratios[j] = lam[j] / total
	}
	return nil
}

// Transform returns the component scores ((x − Mean)/Scale)·Basis, one row
// per row of x.
func (m *PCA) Transform(x *mat.Dense) (*mat.Dense, error) {
	if err := checkCols("PCA.Transform", x, len(m.Mean)); err != nil {
		return nil, err
	}
	return project(centre(x, m.Mean, m.Scale), m.Basis), nil
}

// project returns x·b.
func project(x, b *mat.Dense) *mat.Dense {
	n, _ := x.Dims()
	_, k := b.Dims()
	out := mat.NewDense(n, k, nil)
	if n == 0 || k == 0 {
		return out
	}
	if p, _ := b.Dims(); n*p*k >= 1<<22 { // gonum's float64 product takes seconds at the simulation's sizes
		xr, br := x.RawMatrix(), b.RawMatrix()
		if xr.Stride == p && br.Stride == k {
			return mat.NewDense(n, k, linalg.Mul(xr.Data, false, br.Data, false, n, p, k))
		}
	}
	out.Mul(x, b)
	return out
}

// TruncatedSVD is a rank-k SVD of the uncentred data, X ≈ U_k S_k V_kᵀ, as
// sklearn's TruncatedSVD (latent semantic analysis): Basis = V_k and
// Transform returns x·V_k (= U_k S_k on the training rows).
//
// The number of components is Components if positive, otherwise the fewest
// whose energy s_1²+…+s_k² exceeds Energy·‖X‖²_F (the author's 0.90 rule;
// the zero value uses 0.90). Note that this energy share differs from
// sklearn's explained_variance_ratio_, which measures the variance of the
// projected columns.
//
// With Standardize the columns are z-scored first, which centres them:
// TruncatedSVD then equals PCA up to the signs of the components. That is
// what the author ran, and why the author's PCA and TSVD numbers often
// coincide.
type TruncatedSVD struct {
	Components  int     // fixed number of components; 0: use Energy
	Energy      float64 // share of Σ x_ij² in (0, 1); 0 with Components 0: 0.90
	Standardize bool    // z-score columns (centre and scale) first

	// Set by Fit.
	Mean, Scale []float64  // column means and sds when Standardize, else nil
	Basis       *mat.Dense // p×k right singular vectors V_k
	Singular    []float64  // s_1 ≥ … ≥ s_k
	Ratios      []float64  // s_j² / ‖X‖²_F
}

// Fit learns the singular vectors from the rows of x.
func (m *TruncatedSVD) Fit(x *mat.Dense) error {
	const fn = "TruncatedSVD.Fit"
	share, err := checkRule(fn, m.Components, m.Energy)
	if err != nil {
		return err
	}
	if x == nil {
		return errorf(fn, "x is nil")
	}
	n, p := x.Dims()
	if n == 0 || p == 0 {
		return errorf(fn, "x is %d×%d", n, p)
	}
	xs := x
	m.Mean, m.Scale = nil, nil
	if m.Standardize {
		m.Mean, m.Scale = columnScale(x, true)
		xs = centre(x, m.Mean, m.Scale)
	}
	lam, v, ok := gramBasis(xs, m.Components)
	if !ok {
		return errorf(fn, "eigendecomposition failed")
	}
	total := mat.Norm(xs, 2)
	total *= total
	k, err := chooseK(fn, lam, total, m.Components, share)
	if err != nil {
		return err
	}
	m.Basis = sliceCols(v, k)
	flipSigns(m.Basis)
	m.Singular = make([]float64, k)
	m.Ratios = make([]float64, k)
	for j := range k {
		m.Singular[j] = sqrt(lam[j])
		m.Ratios[j] = lam[j] / total
	}
	return nil
}

// Transform returns x·Basis (after the training z-scoring if Standardize).
func (m *TruncatedSVD) Transform(x *mat.Dense) (*mat.Dense, error) {
	const fn = "TruncatedSVD.Transform"
	if m.Basis == nil {
		return nil, errorf(fn, "not fitted")
	}
	p, _ := m.Basis.Dims()
	if err := checkCols(fn, x, p); err != nil {
		return nil, err
	}
	if m.Standardize {
		x = centre(x, m.Mean, m.Scale)
	}
	return project(x, m.Basis), nil
}

// RandomProjection is a Gaussian random projection: Fit draws a p×k matrix
// R with independent N(0, 1/k) entries from Seed (sklearn's
// GaussianRandomProjection, whose components_ is Rᵀ), and Transform returns
// x·R. By Johnson–Lindenstrauss, squared distances are kept in expectation.
// Components must be positive; the author used the PCA dimensions.
type RandomProjection struct {
	Components int    // k, the output dimension
	Seed       uint64 // the same seed and p give the same R

	Matrix *mat.Dense // p×k, set by Fit
}

// Fit draws the projection for the columns of x; the rows are not used.
func (m *RandomProjection) Fit(x *mat.Dense) error {
	const fn = "RandomProjection.Fit"
	if m.Components < 1 {
		return errorf(fn, "Components = %d, need at least 1", m.Components)
	}
	if x == nil {
		return errorf(fn, "x is nil")
	}
	_, p := x.Dims()
	if p == 0 {
		return errorf(fn, "x has no columns")
	}
	k := m.Components
	rng := newRand(m.Seed, streamProjection)
	sd := sqrt(1 / float64(k))
	data := make([]float64, p*k)
	for i := range data {
		data[i] = sd * rng.NormFloat64()
	}
	m.Matrix = mat.NewDense(p, k, data)
	return nil
}

// Transform returns x·Matrix.
func (m *RandomProjection) Transform(x *mat.Dense) (*mat.Dense, error) {
	const fn = "RandomProjection.Transform"
	if m.Matrix == nil {
		return nil, errorf(fn, "not fitted")
	}
	p, _ := m.Matrix.Dims()
	if err := checkCols(fn, x, p); err != nil {
		return nil, err
	}
	return project(x, m.Matrix), nil
}

// leadingBasis finds the components a PCA keeps by block subspace
// iteration (internal/linalg) when the matrix is large and few components
// are needed, as with spectra, where gonum's full eigendecomposition is
// slow (half a second at p = 700, minutes at p = 3604). ok is false when
// the full decomposition should be used instead.
func leadingBasis(g mat.Symmetric, fixed int, share float64) (lam []float64, v *mat.Dense, ok bool) {
	p := g.SymmetricDim()
	if p < largeP/2 || fixed+8 > p/4 {
		return nil, nil, false
	}
	full := make([]float64, p*p)
	for i := range p {
		for j := i; j < p; j++ {
			x := g.At(i, j)
			full[i*p+j], full[j*p+i] = x, x
		}
	}
	if fixed > 0 {
		vals, vecs := linalg.TopK(full, p, fixed, 1)
		return vals, mat.NewDense(p, fixed, vecs), true
	}
	vals, vecs, ok := linalg.TopEigen(full, p, share, p/8, 1)
	if !ok {
		return nil, nil, false
	}
	return vals, mat.NewDense(p, len(vals), vecs), true
}
