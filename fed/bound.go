package fed

import (
	"fmt"
	"math"
	"slices"
)

// Span is a half-open span [From, To) of the flat weight vector.
type Span struct{ From, To int }

// KeepsLocal is implemented by a Strategy that leaves spans of the vector
// to the clients (FedBN's normalisation layers): they are not merged, so
// the Server leaves them out when it measures how far an update moves
// the model.
type KeepsLocal interface {
	LocalSpans() []Span
}

// Distance returns ‖w − global‖₂ over the values outside skip, summed in
// float64 in index order.
func Distance(global, w Weights, skip []Span) float64 {
	var s float64
	from := 0
	add := func(a, b int) {
		for i := a; i < b; i++ {
			d := float64(w[i]) - float64(global[i])
			s += d * d
		}
	}
	for _, sp := range sortedSpans(skip) {
		if sp.From > from {
			add(from, min(sp.From, len(w)))
		}
		from = max(from, sp.To)
	}
	if from < len(w) {
		add(from, len(w))
	}
	return math.Sqrt(s)
}

func sortedSpans(skip []Span) []Span {
	if slices.IsSortedFunc(skip, func(a, b Span) int { return a.From - b.From }) {
		return skip
	}
	s := slices.Clone(skip)
	slices.SortFunc(s, func(a, b Span) int { return a.From - b.From })
	return s
}

// Why an update was not merged: the values of RoundReport.Causes.
const (
	// CauseFailed: the client reported a failure, or its result was
	// refused on the way in (a transport's checks).
	CauseFailed = "failed"
	// CauseInvalid: an answer to another task, a model of the wrong size,
	// no samples, values that are not finite, or beyond the fixed
	// MaxUpdateNorm.
	CauseInvalid = "invalid"
	// CauseOutlier: the update moved the model farther than NormBound
	// times the round's median.
	CauseOutlier = "outlier"
	// CauseMissing: no answer before the round's deadline.
	CauseMissing = "missing"
)

// LowerMedian returns the lower median of xs: the ⌈n/2⌉-th smallest (for
// an even n the smaller of the two middle values). Fewer than half of
// the values, however large or small, cannot move it outside the range
// of the others. xs is not modified; it must not be empty.
func LowerMedian(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[(len(s)-1)/2]
}

// lowFactor is the lower norm bound: an update shorter than the round's
// median over lowFactor is a model sent back all but unchanged. Honest
// updates stayed above 1/3 of the median in every federation measured
// (docs/decisions/0006-robust-defaults.md).
const lowFactor = 10

// minBoundUpdates is the fewest updates a round needs for the adaptive
// norm bound: with two, neither can be told to be the outlier.
const minBoundUpdates = 3

// defaultWindow is Server.Window's default.
const defaultWindow = 32

// judge applies the adaptive bounds to a round's valid updates. It holds
// up to window updates (0: all of them) and judges each, releasing them
// in the order they came:
//   - its distance d from the global model against the lower median m of
//     the distances of every update seen so far in the round: it must lie
//     in [m/k, k·m] (k > 0);
//   - with rho > 0, in a round of at least minDir valid updates (3 if
//     fewer; at most window+1 of them are needed), the cosine c between
//     its update and the reference, the coordinate-wise median of the
//     first window updates of the round (all of them if fewer), against
//     the lower median of the cosines seen so far, m_c: it must be at
//     least rho·m_c (when m_c > 0).
type judge struct {
	k, rho float64
	minDir int
	window int // 0: hold everything until finish
	copy   bool
	global Weights
	skip   []Span
	dists  []float64 // every distance seen, in arrival order
	cosine []float64 // every cosine computed
	ref    []float64 // the reference direction, once known
	held   []heldUpdate
	free   []Weights // copies whose updates were judged, for the next ones
	accept func(Update) error
	reject func(u Update, err error)
}

type heldUpdate struct {
	u   Update
	d   float64
	cos float64
}

// push takes u, at distance d, and judges the updates that leave the window.
func (j *judge) push(u Update, d float64) error {
	if j.copy { // the fleet reuses the memory once we return
		var buf Weights
		if n := len(j.free); n > 0 && len(j.free[n-1]) == len(u.Weights) {
			buf, j.free = j.free[n-1], j.free[:n-1]
		} else {
			buf = make(Weights, len(u.Weights))
		}
		copy(buf, u.Weights)
		u.Weights = buf
	}
	j.dists = append(j.dists, d)
	h := heldUpdate{u: u, d: d}
	if j.ref != nil {
		h.cos = j.cos(u.Weights)
		j.cosine = append(j.cosine, h.cos)
	}
	j.held = append(j.held, h)
	for j.window > 0 && len(j.held) > j.window {
		j.reference()
		h := j.held[0]
		j.held = j.held[1:]
		if err := j.judgeOne(h); err != nil {
			return err
		}
	}
	return nil
}

// finish judges every update still held.
func (j *judge) finish() error {
	j.reference()
	for _, h := range j.held {
		if err := j.judgeOne(h); err != nil {
			return err
		}
	}
	j.held = nil
	return nil
}

// reference computes the reference direction from the held updates, if
// the direction check is on and it is not known yet.
func (j *judge) reference() {
	need := max(j.minDir, minBoundUpdates)
	if j.window > 0 {
		need = min(need, j.window+1) // the window is full: judge with what it holds
	}
	if j.rho <= 0 || j.ref != nil || len(j.held) < need {
		return
	}
	local := make([]bool, len(j.global))
	for _, sp := range j.skip {
		for i := sp.From; i < sp.To && i < len(local); i++ {
			local[i] = true
		}
	}
	j.ref = make([]float64, len(j.global))
	vals := make([]float64, len(j.held))
	for i, g := range j.global {
		if local[i] {
			continue
		}
		for k, h := range j.held {
			vals[k] = float64(h.u.Weights[i]) - float64(g)
		}
		slices.Sort(vals)
		n := len(vals)
		j.ref[i] = (vals[(n-1)/2] + vals[n/2]) / 2
	}
	for k := range j.held {
		j.held[k].cos = j.cos(j.held[k].u.Weights)
		j.cosine = append(j.cosine, j.held[k].cos)
	}
}

// cos returns the cosine between w − global and the reference (0 if
// either is zero), outside the local spans (0 in the reference).
func (j *judge) cos(w Weights) float64 {
	var dot, a, b float64
	for i, r := range j.ref {
		d := float64(w[i]) - float64(j.global[i])
		if r == 0 {
			continue
		}
		dot += d * r
		b += r * r
	}
	a = Distance(j.global, w, j.skip)
	if a == 0 || b == 0 {
		return 0
	}
	return dot / (a * math.Sqrt(b))
}

func (j *judge) judgeOne(h heldUpdate) error {
	if j.copy { // an accumulator does not keep the weights: the copy is free again once judged
		defer func() { j.free = append(j.free, h.u.Weights) }()
	}
	if len(j.dists) >= minBoundUpdates && j.k > 0 {
		med := LowerMedian(j.dists)
		if med > 0 && (h.d > j.k*med || h.d < med/lowFactor) {
			j.reject(h.u, outlierError(h.d, j.k, med))
			return nil
		}
	}
	if j.ref != nil && len(j.cosine) >= minBoundUpdates {
		med := LowerMedian(j.cosine)
		if med > 0 && h.cos < j.rho*med {
			j.reject(h.u, fmt.Errorf("update points elsewhere: its cosine with the round's coordinate-wise median update is %.3g, below %.3g = %g × the round's median cosine %.3g", h.cos, j.rho*med, j.rho, med))
			return nil
		}
	}
	return j.accept(h.u)
}

// outlierError is the reason an update outside the adaptive bounds is refused.
func outlierError(d, k, median float64) error {
	if d < median {
		return fmt.Errorf("update norm %.4g is below %.4g = the round's median norm %.4g / %d: the model came back all but unchanged", d, median/lowFactor, median, lowFactor)
	}
	return fmt.Errorf("update norm %.4g exceeds %.4g = %g × the round's median norm %.4g", d, k*median, k, median)
}
