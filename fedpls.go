package fdrmfl

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"
)

// linearClient is one client's share of the warm start's linear fit: its
// standardised training rows (every modality side by side), responses,
// and the fold of every row. The fit reads them only through the methods
// below, each a sum over the client's own rows outside one fold — counts
// and column sums, Xᵀ(X·v), XᵀY, the held-out rows' projections — which
// is what a client of a real federation would send (p numbers per
// product), never a row.
type linearClient struct {
	x    *mat.Dense // n×p
	y    *mat.Dense // n×q
	fold []int
}

// outside reports whether row i takes part in a fit that holds out fold f
// (f < 0: every row does).
func (c *linearClient) outside(i, f int) bool { return f < 0 || c.fold[i] != f }

// sums adds the count, Σx and Σy of the rows outside fold f.
func (c *linearClient) sums(f int, sx, sy []float64) int {
	n := 0
	for i := range c.fold {
		if !c.outside(i, f) {
			continue
		}
		n++
		for j, v := range c.x.RawRowView(i) {
			sx[j] += v
		}
		for j, v := range c.y.RawRowView(i) {
			sy[j] += v
		}
	}
	return n
}

// gram adds Σ x·(xᵀv) over the rows outside fold f to dst.
func (c *linearClient) gram(f int, v, dst []float64) {
	n, p := c.x.Dims()
	var u mat.VecDense
	u.MulVec(c.x, mat.NewVecDense(p, v))
	for i := range n {
		if !c.outside(i, f) {
			u.SetVec(i, 0)
		}
	}
	var g mat.VecDense
	g.MulVec(c.x.T(), &u)
	for j, x := range g.RawVector().Data {
		dst[j] += x
	}
}

// project returns the rows of fold f, centred by mx, times the columns
// of r (p×a): their scores.
func (c *linearClient) project(f int, mx []float64, r *mat.Dense) (*mat.Dense, []int) {
	var rows []int
	for i, fi := range c.fold {
		if fi == f {
			rows = append(rows, i)
		}
	}
	if len(rows) == 0 || r == nil {
		return nil, rows
	}
	_, p := c.x.Dims()
	h := mat.NewDense(len(rows), p, nil)
	for k, i := range rows {
		dst := h.RawRowView(k)
		for j, v := range c.x.RawRowView(i) {
			dst[j] = v - mx[j]
		}
	}
	var t mat.Dense
	t.Mul(h, r)
	return &t, rows
}

// cross adds Σ x·yᵀ over the rows outside fold f to dst (p×q).
func (c *linearClient) cross(f int, dst *mat.Dense) {
	_, q := dst.Dims()
	for i := range c.fold {
		if !c.outside(i, f) {
			continue
		}
		y := c.y.RawRowView(i)
		for j, x := range c.x.RawRowView(i) {
			row := dst.RawRowView(j)
			for k := range q {
				row[k] += x * y[k]
			}
		}
	}
}

// pooledLinear is the server's view of the clients' rows outside one
// fold: counts, means, and the centred cross-products as operators.
type pooledLinear struct {
	clients []*linearClient
	fold    int
	n       int
	mx, my  []float64
}

func newPooled(clients []*linearClient, fold int) *pooledLinear {
	_, p := clients[0].x.Dims()
	_, q := clients[0].y.Dims()
	pl := &pooledLinear{clients: clients, fold: fold, mx: make([]float64, p), my: make([]float64, q)}
	for _, c := range clients {
		pl.n += c.sums(fold, pl.mx, pl.my)
	}
	for j := range pl.mx {
		pl.mx[j] /= float64(max(pl.n, 1))
	}
	for j := range pl.my {
		pl.my[j] /= float64(max(pl.n, 1))
	}
	return pl
}

// sxx returns Sxx·v = Σ (x − x̄)(x − x̄)ᵀv = Σ x(xᵀv) − n·x̄(x̄ᵀv) over the
// rows, masked to the columns keep (nil: all).
func (pl *pooledLinear) sxx(v []float64, keep []bool) []float64 {
	out := make([]float64, len(v))
	for _, c := range pl.clients {
		c.gram(pl.fold, v, out)
	}
	var d float64
	for j, m := range pl.mx {
		d += m * v[j]
	}
	for j, m := range pl.mx {
		out[j] -= float64(pl.n) * d * m
		if keep != nil && !keep[j] {
			out[j] = 0
		}
	}
	return out
}

// sxy returns Σ (x − x̄)(y − ȳ)ᵀ, masked to the rows keep.
func (pl *pooledLinear) sxy(keep []bool) *mat.Dense {
	p, q := len(pl.mx), len(pl.my)
	out := mat.NewDense(p, q, nil)
	for _, c := range pl.clients {
		c.cross(pl.fold, out)
	}
	for j := range p {
		row := out.RawRowView(j)
		for k := range q {
			row[k] -= float64(pl.n) * pl.mx[j] * pl.my[k]
			if keep != nil && !keep[j] {
				row[k] = 0
			}
		}
	}
	return out
}

// plsFit is a PLS model of centred data: rotations R (p×a) and
// y-loadings Q (q×a); B_a = R_a·Q_aᵀ predicts ŷ − ȳ from x − x̄.
type plsFit struct {
	r, q [][]float64 // per component
}

// kernelPLSOp fits up to maxA components by the improved kernel algorithm
// of Dayal & MacGregor (1997, algorithm 1) — as baseline.PLS.FitStats
// does — with XᵀX given as an operator, so that no p×p matrix is formed:
// w_a is the dominant left singular vector of the deflated XᵀY,
// r_a = w_a − Σ_{j<a}(p_jᵀw_a) r_j, t_aᵀt_a = r_aᵀ(XᵀX)r_a,
// p_a = (XᵀX)r_a/(t_aᵀt_a), q_a = (XᵀY)ᵀr_a/(t_aᵀt_a) and
// XᵀY ← XᵀY − (t_aᵀt_a)p_a q_aᵀ. It stops early when XᵀY or the X
// variance is exhausted to rounding.
func kernelPLSOp(sxx func([]float64) []float64, m *mat.Dense, trace float64, maxA int) plsFit {
	p, q := m.Dims()
	m = mat.DenseCopyOf(m)
	var fit plsFit
	var ps [][]float64
	first := -1.0
	for range maxA {
		w, ok := dominant(m)
		norm := mat.Norm(m, 2)
		if first < 0 {
			first = norm
		}
		if !ok || norm == 0 || norm <= 1e-12*first {
			break
		}
		r := append([]float64(nil), w...)
		for j := range fit.r {
			d := dot(ps[j], w)
			for i := range r {
				r[i] -= d * fit.r[j][i]
			}
		}
		sr := sxx(r)
		tt := dot(r, sr)
		if tt <= 1e-12*trace {
			break
		}
		pa := make([]float64, p)
		for i := range pa {
			pa[i] = sr[i] / tt
		}
		qa := make([]float64, q)
		for k := range q {
			var s float64
			for i := range p {
				s += m.At(i, k) * r[i]
			}
			qa[k] = s / tt
		}
		for i := range p {
			row := m.RawRowView(i)
			for k := range q {
				row[k] -= tt * pa[i] * qa[k]
			}
		}
		fit.r, fit.q, ps = append(fit.r, r), append(fit.q, qa), append(ps, pa)
	}
	return fit
}

// dominant returns the unit dominant left singular vector of m (p×q),
// signed so that its largest-magnitude entry is positive.
func dominant(m *mat.Dense) ([]float64, bool) {
	p, q := m.Dims()
	w := make([]float64, p)
	if q == 1 {
		copy(w, mat.Col(nil, 0, m))
	} else {
		var mtm mat.SymDense
		mtm.SymOuterK(1, m.T())
		var eig mat.EigenSym
		if !eig.Factorize(&mtm, true) {
			return nil, false
		}
		var vecs mat.Dense
		eig.VectorsTo(&vecs)
		vals := eig.Values(nil)
		top := 0
		for i, v := range vals {
			if v > vals[top] {
				top = i
			}
		}
		var mv mat.VecDense
		mv.MulVec(m, vecs.ColView(top))
		copy(w, mv.RawVector().Data)
	}
	n := math.Sqrt(dot(w, w))
	if n == 0 || math.IsNaN(n) {
		return nil, false
	}
	at := 0
	for i, v := range w {
		w[i] = v / n
		if math.Abs(w[i]) > math.Abs(w[at]) {
			at = i
		}
	}
	if w[at] < 0 {
		for i := range w {
			w[i] = -w[i]
		}
	}
	return w, true
}

func dot(a, b []float64) float64 {
	var s float64
	for i, v := range a {
		s += v * b[i]
	}
	return s
}

// plsCV fits PLS with up to maxA components on the columns keep (nil:
// all), choosing the number by the pooled k-fold error over the clients'
// folds (0 components: the training mean), and refits on every row. It
// returns the chosen number, its CV MSE per response, the fit on all
// rows, and the pooled statistics of all rows.
func plsCV(clients []*linearClient, folds, maxA int, keep []bool) (int, float64, plsFit, *pooledLinear, error) {
	_, q := clients[0].y.Dims()
	sse := make([]float64, maxA+1)
	total := 0
	for f := range folds {
		pl := newPooled(clients, f)
		if pl.n < 2 {
			return 0, 0, plsFit{}, nil, fmt.Errorf("init: fold %d leaves %d training rows", f+1, pl.n)
		}
		trace := pl.trace(keep)
		fit := kernelPLSOp(func(v []float64) []float64 { return pl.sxx(v, keep) }, pl.sxy(keep), trace, min(maxA, pl.n-1))
		_, p := clients[0].x.Dims()
		rot := fit.rotations(p)
		for _, c := range clients {
			t, rows := c.project(f, pl.mx, rot)
			for k, i := range rows {
				total++
				y := c.y.RawRowView(i)
				pred := append([]float64(nil), pl.my...)
				for a := 0; a <= maxA; a++ {
					if a > 0 && a <= len(fit.r) {
						ta := t.At(k, a-1)
						for kk := range q {
							pred[kk] += ta * fit.q[a-1][kk]
						}
					}
					for kk := range q {
						d := y[kk] - pred[kk]
						sse[a] += d * d
					}
				}
			}
		}
	}
	best := 0
	for a := range sse {
		if sse[a] < sse[best] {
			best = a
		}
	}
	all := newPooled(clients, -1)
	fit := kernelPLSOp(func(v []float64) []float64 { return all.sxx(v, keep) }, all.sxy(keep), all.trace(keep), min(best, all.n-1))
	return len(fit.r), sse[best] / float64(total*q), fit, all, nil
}

// trace returns Σ‖x − x̄‖² over the columns keep.
func (pl *pooledLinear) trace(keep []bool) float64 {
	var s float64
	for _, c := range pl.clients {
		for i := range c.fold {
			if !c.outside(i, pl.fold) {
				continue
			}
			for j, v := range c.x.RawRowView(i) {
				if keep == nil || keep[j] {
					d := v - pl.mx[j]
					s += d * d
				}
			}
		}
	}
	return s
}

// coef returns the fit's B = R·Qᵀ (p×q) and intercept ȳ − Bᵀx̄ for all a
// of its components.
func (fit plsFit) coef(pl *pooledLinear) (*mat.Dense, []float64) {
	p, q := len(pl.mx), len(pl.my)
	b := mat.NewDense(p, q, nil)
	for a := range fit.r {
		for i := range p {
			row := b.RawRowView(i)
			for k := range q {
				row[k] += fit.r[a][i] * fit.q[a][k]
			}
		}
	}
	b0 := append([]float64(nil), pl.my...)
	for i := range p {
		for k := range q {
			b0[k] -= b.At(i, k) * pl.mx[i]
		}
	}
	return b, b0
}

// rotations returns R as a p×a matrix (nil without components).
func (fit plsFit) rotations(p int) *mat.Dense {
	if len(fit.r) == 0 {
		return nil
	}
	out := mat.NewDense(p, len(fit.r), nil)
	for a, r := range fit.r {
		out.SetCol(a, r)
	}
	return out
}
