package strategy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/fdrmfl/fdrmfl/fed"
)

// Median is the coordinate-wise median (Yin, Chen, Ramchandran and
// Bartlett, "Byzantine-Robust Distributed Learning: Towards Optimal
// Statistical Rates", ICML 2018): each value of the merged update is
// the median of the clients' values there,
//
//	Δ⁺_i = med_k Δ_k,i,
//
// the mean of the two middle values for an even number of clients. Fewer
// than half of the clients cannot move a value outside the range of the
// others'.
type Median struct{}

// Merge returns the coordinate-wise median of the updates.
func (Median) Merge(global fed.Weights, ups []fed.Update, skip []fed.Span) ([]float64, error) {
	out := make([]float64, len(global))
	eachValue(global, ups, skip, func(i int, v []float64) {
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			out[i] = v[n/2]
		} else {
			out[i] = (v[n/2-1] + v[n/2]) / 2
		}
	})
	return out, nil
}

// TrimmedMean is the coordinate-wise trimmed mean (Yin et al., ICML
// 2018): at each value the Trim largest and Trim smallest of the
// clients' values are dropped and the rest averaged,
//
//	Δ⁺_i = 1/(n−2t) · Σ_{k=t+1}^{n−t} Δ_(k),i   (Δ_(k),i sorted),
//
// which tolerates t hostile clients. Trim is lowered to ⌊(n−1)/2⌋ when
// there are too few clients (the median, then).
type TrimmedMean struct {
	Trim int
}

// Merge returns the coordinate-wise trimmed mean of the updates.
func (r TrimmedMean) Merge(global fed.Weights, ups []fed.Update, skip []fed.Span) ([]float64, error) {
	if r.Trim < 0 {
		return nil, fmt.Errorf("trimmed mean: trim %d is negative", r.Trim)
	}
	t := min(r.Trim, (len(ups)-1)/2)
	out := make([]float64, len(global))
	eachValue(global, ups, skip, func(i int, v []float64) {
		slices.Sort(v)
		var s float64
		for _, x := range v[t : len(v)-t] {
			s += x
		}
		out[i] = s / float64(len(v)-2*t)
	})
	return out, nil
}

// Krum is Krum and Multi-Krum (Blanchard, El Mhamdi, Guerraoui and
// Stainer, "Machine Learning with Adversaries: Byzantine Tolerant
// Gradient Descent", NeurIPS 2017). Each update gets the score
//
//	s(k) = Σ_{j ∈ N_k} ‖Δ_k − Δ_j‖²,
//
// N_k its n − f − 2 nearest other updates, and the Select updates with
// the lowest scores are averaged (Krum: Select = 1, the update closest to
// its neighbours; Multi-Krum: Select = n − f). Hostile updates far from
// the honest cluster score high and are not selected. In the scores F,
// the number of hostile clients tolerated, is lowered to ⌊(n−3)/2⌋ when
// there are too few clients for it (Krum needs n ≥ 2f + 3); ties go to
// the client first in order.
type Krum struct {
	F int
	// Select is how many updates are averaged (0: n − F, Multi-Krum).
	Select int
}

// Merge returns the mean of the updates Krum selects.
func (r Krum) Merge(global fed.Weights, ups []fed.Update, skip []fed.Span) ([]float64, error) {
	if r.F < 0 || r.Select < 0 {
		return nil, fmt.Errorf("krum: f %d and select %d must not be negative", r.F, r.Select)
	}
	n := len(ups)
	f := max(0, min(r.F, (n-3)/2))
	m := r.Select
	if m == 0 {
		m = n - min(r.F, n-1)
	}
	m = min(m, n)
	local := localMask(len(global), skip)
	d2 := make([][]float64, n)
	for i := range d2 {
		d2[i] = make([]float64, n)
	}
	for i := range n {
		for j := i + 1; j < n; j++ {
			var s float64
			a, b := ups[i].Weights, ups[j].Weights
			for x := range a {
				if !local[x] {
					d := float64(a[x]) - float64(b[x])
					s += d * d
				}
			}
			d2[i][j], d2[j][i] = s, s
		}
	}
	nb := min(max(n-f-2, 1), n-1)
	score := make([]float64, n)
	for i := range n {
		others := make([]float64, 0, n-1)
		for j := range n {
			if j != i {
				others = append(others, d2[i][j])
			}
		}
		slices.Sort(others)
		for _, d := range others[:nb] {
			score[i] += d
		}
	}
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case score[a] < score[b]:
			return -1
		case score[a] > score[b]:
			return 1
		}
		return 0
	})
	chosen := order[:m]
	slices.Sort(chosen) // sum in client order
	out := make([]float64, len(global))
	for _, k := range chosen {
		for i, w := range ups[k].Weights {
			if !local[i] {
				out[i] += float64(w) - float64(global[i])
			}
		}
	}
	for i := range out {
		out[i] /= float64(m)
	}
	return out, nil
}

// GeoMedian is the geometric median of RFA, robust federated aggregation
// (Pillutla, Kakade and Harchaoui, "Robust Aggregation for Federated
// Learning", IEEE Transactions on Signal Processing 70, 2022): the point
// z that minimises Σ_k ‖Δ_k − z‖, found by Weiszfeld's iteration with
// smoothing ν,
//
//	z ← Σ_k β_k Δ_k / Σ_k β_k,   β_k = 1 / max(ν, ‖Δ_k − z‖),
//
// from the coordinate-wise median, until the objective improves by less
// than Tol (relative) or after MaxIter iterations. Its breakdown point
// is one half: fewer than half of the clients cannot move it
// arbitrarily far. Unlike the paper, every client weighs the same (the
// counts are the clients' own claims).
type GeoMedian struct {
	// MaxIter bounds the iterations (0: 10); Tol is the relative
	// improvement that stops them (0: 1e-6); Smoothing is ν, relative to
	// the median distance from the start (0: 1e-6).
	MaxIter   int
	Tol       float64
	Smoothing float64
}

// Merge returns the smoothed geometric median of the updates.
func (r GeoMedian) Merge(global fed.Weights, ups []fed.Update, skip []fed.Span) ([]float64, error) {
	iters, tol, nu := r.MaxIter, r.Tol, r.Smoothing
	if iters <= 0 {
		iters = 10
	}
	if tol <= 0 {
		tol = 1e-6
	}
	if nu <= 0 {
		nu = 1e-6
	}
	z, err := Median{}.Merge(global, ups, skip)
	if err != nil {
		return nil, err
	}
	local := localMask(len(global), skip)
	dists := func() ([]float64, float64) {
		d := make([]float64, len(ups))
		var obj float64
		for k, u := range ups {
			var s float64
			for i, w := range u.Weights {
				if !local[i] {
					e := float64(w) - float64(global[i]) - z[i]
					s += e * e
				}
			}
			d[k] = math.Sqrt(s)
			obj += d[k]
		}
		return d, obj
	}
	d, obj := dists()
	nu *= fed.LowerMedian(d)
	if nu == 0 {
		return z, nil // half the updates or more coincide with the median
	}
	for range iters {
		next := make([]float64, len(global))
		var wsum float64
		for k, u := range ups {
			b := 1 / max(nu, d[k])
			wsum += b
			for i, w := range u.Weights {
				if !local[i] {
					next[i] += b * (float64(w) - float64(global[i]))
				}
			}
		}
		for i := range next {
			next[i] /= wsum
		}
		old := z
		z = next
		var nobj float64
		d, nobj = dists()
		if nobj > obj { // smoothing can make a step worse near the optimum: keep the better point
			z = old
			break
		}
		improved := obj - nobj
		obj = nobj
		if improved <= tol*obj {
			break
		}
	}
	return z, nil
}

// CenteredClip is centered clipping (Karimireddy, He and Jaggi,
// "Learning from History for Byzantine Robust Optimization", ICML 2021):
// starting from the previous round's merged update v₀ (the history an
// attacker cannot rewrite), Iters times
//
//	v ← v + 1/n · Σ_k (Δ_k − v) · min(1, τ / ‖Δ_k − v‖),
//
// so that no client moves the result by more than τ/n, while updates
// within τ of the centre count in full, as in the mean. τ is Tau, or, if
// Tau is 0, Factor × the lower median of ‖Δ_k − v‖ at each iteration
// (Factor 0: 2). The previous update is the rule's state
// (MarshalBinary), saved with the server's checkpoints.
type CenteredClip struct {
	Tau    float64
	Factor float64
	// Iters is the number of clipping iterations (0: 3).
	Iters int

	prev []float32
}

// Merge returns the centered-clipping update and keeps it for the next round.
func (r *CenteredClip) Merge(global fed.Weights, ups []fed.Update, skip []fed.Span) ([]float64, error) {
	if r.Tau < 0 || r.Factor < 0 {
		return nil, fmt.Errorf("centered clipping: tau %v and factor %v must not be negative", r.Tau, r.Factor)
	}
	iters := r.Iters
	if iters <= 0 {
		iters = 3
	}
	factor := r.Factor
	if factor == 0 {
		factor = 2
	}
	local := localMask(len(global), skip)
	v := make([]float64, len(global))
	if len(r.prev) == len(global) {
		for i, p := range r.prev {
			if !local[i] {
				v[i] = float64(p)
			}
		}
	}
	n := float64(len(ups))
	d := make([]float64, len(ups))
	for range iters {
		for k, u := range ups {
			var s float64
			for i, w := range u.Weights {
				if !local[i] {
					e := float64(w) - float64(global[i]) - v[i]
					s += e * e
				}
			}
			d[k] = math.Sqrt(s)
		}
		tau := r.Tau
		if tau == 0 {
			tau = factor * fed.LowerMedian(d)
		}
		step := make([]float64, len(global))
		for k, u := range ups {
			c := 1.0
			if d[k] > tau {
				c = tau / d[k]
			}
			if d[k] == 0 {
				continue
			}
			for i, w := range u.Weights {
				if !local[i] {
					step[i] += c * (float64(w) - float64(global[i]) - v[i])
				}
			}
		}
		for i := range v {
			v[i] += step[i] / n
		}
	}
	r.prev = make([]float32, len(v))
	for i, x := range v {
		r.prev[i] = float32(x)
	}
	return v, nil
}

// MarshalBinary returns the previous round's merged update.
func (r *CenteredClip) MarshalBinary() ([]byte, error) {
	b := make([]byte, 0, 4*len(r.prev))
	for _, x := range r.prev {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return b, nil
}

// UnmarshalBinary restores the previous update written by MarshalBinary.
func (r *CenteredClip) UnmarshalBinary(b []byte) error {
	if len(b)%4 != 0 {
		return errors.New("centered clipping: the saved update is not whole float32 values")
	}
	r.prev = make([]float32, len(b)/4)
	for i := range r.prev {
		r.prev[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	if len(r.prev) == 0 {
		r.prev = nil
	}
	return nil
}
