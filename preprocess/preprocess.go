// Package preprocess holds the spectral preprocessing of chemometrics:
// transforms applied to each spectrum (a row of values along a wavelength
// axis) before any model sees it, composed into chains such as
// "sg1(11,2)+snv".
//
// Steps:
//
//   - snv: standard normal variate, (x − mean(x)) / sd(x) per spectrum (sd
//     with n − 1, as Barnes, Dhanoa & Lister 1989).
//   - msc: multiplicative scatter correction against a reference r: fit
//     x ≈ a + b·r by least squares, then (x − a)/b. The reference is the
//     mean training spectrum, which a federation computes from summed
//     spectra (Fit), so no spectrum leaves a client.
//   - sg(w,k), sg1(w,k), sg2(w,k): Savitzky–Golay smoothing, first and
//     second derivative, with an odd window w and polynomial order k < w;
//     the ends are fitted by a polynomial over the first and last window
//     (scipy.signal.savgol_filter's mode "interp"), so length is kept.
//   - detrend, detrend(d): remove the least squares polynomial of degree d
//     (default 1, scipy.signal.detrend) in the channel index.
//   - none: the identity.
//
// A sample of a modality may hold several spectra (shape [channels, p]):
// each is transformed alone. The package does no I/O.
package preprocess

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/mat"
)

// Step is one transform. Its fields are plain data with JSON tags, so a
// model's manifest can store a fitted chain.
type Step struct {
	Op     string    `json:"op"`               // "snv", "msc", "sg" or "detrend"
	Window int       `json:"window,omitempty"` // sg: odd window length
	Order  int       `json:"order,omitempty"`  // sg: polynomial order; detrend: degree
	Deriv  int       `json:"deriv,omitempty"`  // sg: 0, 1 or 2
	Ref    []float64 `json:"ref,omitempty"`    // msc: the reference, one value per value of a sample
}

// Chain is a composition of steps, applied left to right. The empty chain
// is the identity.
type Chain []Step

// String returns the chain in the syntax Parse reads.
func (c Chain) String() string {
	if len(c) == 0 {
		return "none"
	}
	var parts []string
	for _, s := range c {
		switch s.Op {
		case "sg":
			name := "sg"
			if s.Deriv > 0 {
				name += strconv.Itoa(s.Deriv)
			}
			parts = append(parts, fmt.Sprintf("%s(%d,%d)", name, s.Window, s.Order))
		case "detrend":
			if s.Order == 1 {
				parts = append(parts, "detrend")
			} else {
				parts = append(parts, fmt.Sprintf("detrend(%d)", s.Order))
			}
		default:
			parts = append(parts, s.Op)
		}
	}
	return strings.Join(parts, "+")
}

// Parse reads a chain: steps joined by "+", each one of snv, msc,
// detrend, detrend(d), sg(w,k), sg1(w,k), sg2(w,k), or "none" alone.
// Spaces are ignored.
func Parse(spec string) (Chain, error) {
	spec = strings.ReplaceAll(strings.TrimSpace(spec), " ", "")
	if spec == "" || spec == "none" {
		return nil, nil
	}
	var c Chain
	for _, part := range strings.Split(spec, "+") {
		name, args, hasArgs := strings.Cut(part, "(")
		var nums []int
		if hasArgs {
			if !strings.HasSuffix(args, ")") {
				return nil, fmt.Errorf("preprocess: %q: unclosed parenthesis", part)
			}
			for _, a := range strings.Split(strings.TrimSuffix(args, ")"), ",") {
				v, err := strconv.Atoi(a)
				if err != nil {
					return nil, fmt.Errorf("preprocess: %q: %q is not a whole number", part, a)
				}
				nums = append(nums, v)
			}
		}
		var s Step
		switch name {
		case "snv", "msc":
			if hasArgs {
				return nil, fmt.Errorf("preprocess: %q takes no arguments", name)
			}
			s.Op = name
		case "detrend":
			s.Op, s.Order = "detrend", 1
			if hasArgs {
				if len(nums) != 1 || nums[0] < 0 || nums[0] > 5 {
					return nil, fmt.Errorf("preprocess: %q: want detrend(d) with a degree d from 0 to 5", part)
				}
				s.Order = nums[0]
			}
		case "sg", "sg0", "sg1", "sg2":
			if len(nums) != 2 {
				return nil, fmt.Errorf("preprocess: %q: want %s(window,order), e.g. %s(11,2)", part, name, name)
			}
			s.Op, s.Window, s.Order = "sg", nums[0], nums[1]
			if name != "sg" {
				s.Deriv = int(name[2] - '0')
			}
			if err := s.checkSG(); err != nil {
				return nil, fmt.Errorf("preprocess: %q: %w", part, err)
			}
		case "none":
			return nil, fmt.Errorf("preprocess: \"none\" cannot be combined with other steps")
		default:
			return nil, fmt.Errorf("preprocess: unknown step %q (known: snv, msc, detrend, detrend(d), sg(w,k), sg1(w,k), sg2(w,k), none)", name)
		}
		c = append(c, s)
	}
	return c, nil
}

func (s Step) checkSG() error {
	switch {
	case s.Window < 3 || s.Window%2 == 0:
		return fmt.Errorf("the window %d must be odd and at least 3", s.Window)
	case s.Order < 0 || s.Order >= s.Window:
		return fmt.Errorf("the polynomial order %d must be below the window %d", s.Order, s.Window)
	case s.Deriv < 0 || s.Deriv > 2:
		return fmt.Errorf("derivative %d: want 0, 1 or 2", s.Deriv)
	case s.Deriv > s.Order:
		return fmt.Errorf("the %d. derivative of a polynomial of order %d is zero", s.Deriv, s.Order)
	}
	return nil
}

// Check reports whether the chain can transform samples of size values
// made of spectra of width values each (size a multiple of width), and
// whether every msc step has its reference (fitted).
func (c Chain) Check(size, width int, fitted bool) error {
	if width <= 0 || size%width != 0 {
		return fmt.Errorf("preprocess: samples of %d values are not spectra of %d", size, width)
	}
	for _, s := range c {
		switch s.Op {
		case "sg":
			if err := s.checkSG(); err != nil {
				return fmt.Errorf("preprocess: %s: %w", c, err)
			}
			if s.Window > width {
				return fmt.Errorf("preprocess: %s: the window %d is longer than the %d channels", c, s.Window, width)
			}
		case "detrend":
			if s.Order >= width {
				return fmt.Errorf("preprocess: %s: degree %d needs more than %d channels", c, s.Order, width)
			}
		case "snv":
			if width < 2 {
				return fmt.Errorf("preprocess: snv needs at least 2 channels")
			}
		case "msc":
			if fitted && len(s.Ref) != size {
				return fmt.Errorf("preprocess: %s: msc has a reference of %d values for samples of %d", c, len(s.Ref), size)
			}
		default:
			return fmt.Errorf("preprocess: unknown step %q", s.Op)
		}
	}
	return nil
}

// NeedsFit reports whether the chain has an msc step.
func (c Chain) NeedsFit() bool {
	for _, s := range c {
		if s.Op == "msc" {
			return true
		}
	}
	return false
}

// Fit returns the chain with every msc reference set, in order: the
// reference of an msc step is the mean of the training samples after the
// steps before it. sum(prefix) must return the sum, over every training
// sample of every client, of the samples transformed by prefix, and their
// count: in a federation each client computes its part with Sum and the
// server adds them.
func (c Chain) Fit(sum func(prefix Chain) ([]float64, int, error)) (Chain, error) {
	out := make(Chain, len(c))
	copy(out, c)
	for i, s := range out {
		if s.Op != "msc" {
			continue
		}
		tot, n, err := sum(out[:i])
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, fmt.Errorf("preprocess: msc needs training samples for its reference")
		}
		ref := make([]float64, len(tot))
		for j, v := range tot {
			ref[j] = v / float64(n)
		}
		out[i].Ref = ref
	}
	return out, nil
}

// Sum returns the sum of the present samples of x (row-major, size values
// each, spectra of width values) after the chain, and their count: a
// client's part of Fit. present nil means every sample.
func (c Chain) Sum(x []float32, size, width int, present []bool) ([]float64, int, error) {
	if err := c.Check(size, width, true); err != nil {
		return nil, 0, err
	}
	out := make([]float64, size)
	row := make([]float64, size)
	tr := newTransformer(c, width)
	n := 0
	for i := range len(x) / size {
		if present != nil && !present[i] {
			continue
		}
		for j, v := range x[i*size : (i+1)*size] {
			row[j] = float64(v)
		}
		tr.apply(row)
		for j, v := range row {
			out[j] += v
		}
		n++
	}
	return out, n, nil
}

// FlatSum lays a client's part of Fit — the sum of its samples and their
// count — out as one vector, for a sum that sees vectors only (secure
// aggregation): the sum, then the count, in blocks of the given lengths.
func FlatSum(sum []float64, n int) (x []float64, blocks []int) {
	return append(slices.Clip(sum), float64(n)), []int{len(sum), 1}
}

// UnflatSum splits a vector FlatSum laid out (typically a sum of such
// vectors) into the sum and the count, rounded to the nearest integer.
func UnflatSum(x []float64) ([]float64, int) {
	if len(x) == 0 {
		return nil, 0
	}
	return x[:len(x)-1], int(math.Round(x[len(x)-1]))
}

// Apply transforms the present samples of x (row-major, size values each,
// spectra of width values) in place. Every msc step needs its reference.
func (c Chain) Apply(x []float32, size, width int, present []bool) error {
	if err := c.Check(size, width, true); err != nil {
		return err
	}
	if len(c) == 0 {
		return nil
	}
	row := make([]float64, size)
	tr := newTransformer(c, width)
	for i := range len(x) / size {
		if present != nil && !present[i] {
			continue
		}
		for j, v := range x[i*size : (i+1)*size] {
			row[j] = float64(v)
		}
		tr.apply(row)
		for j, v := range row {
			x[i*size+j] = float32(v)
		}
	}
	return nil
}

// ApplyRow transforms one sample (spectra of width values) in place.
func (c Chain) ApplyRow(row []float64, width int) error {
	if err := c.Check(len(row), width, true); err != nil {
		return err
	}
	newTransformer(c, width).apply(row)
	return nil
}

// transformer applies a checked chain with its Savitzky–Golay and
// detrend operators precomputed.
type transformer struct {
	c     Chain
	width int
	ops   []*mat.Dense // per step: the w×w SG weights, or the detrend projector basis
	tmp   []float64
}

func newTransformer(c Chain, width int) *transformer {
	t := &transformer{c: c, width: width, ops: make([]*mat.Dense, len(c)), tmp: make([]float64, width)}
	for i, s := range c {
		switch s.Op {
		case "sg":
			t.ops[i] = sgWeights(s.Window, s.Order, s.Deriv)
		case "detrend":
			t.ops[i] = polyBasis(width, s.Order)
		}
	}
	return t
}

// apply transforms every spectrum of a sample in place.
func (t *transformer) apply(row []float64) {
	w := t.width
	for k, s := range t.c {
		for off := 0; off < len(row); off += w {
			x := row[off : off+w]
			switch s.Op {
			case "snv":
				snv(x)
			case "msc":
				msc(x, s.Ref[off:off+w])
			case "sg":
				savgol(t.tmp, x, t.ops[k])
				copy(x, t.tmp)
			case "detrend":
				detrend(x, t.ops[k])
			}
		}
	}
}

func snv(x []float64) {
	var m float64
	for _, v := range x {
		m += v
	}
	m /= float64(len(x))
	var ss float64
	for _, v := range x {
		ss += (v - m) * (v - m)
	}
	sd := math.Sqrt(ss / float64(len(x)-1))
	if sd == 0 {
		sd = 1
	}
	for i, v := range x {
		x[i] = (v - m) / sd
	}
}

func msc(x, ref []float64) {
	var mx, mr float64
	for i, v := range x {
		mx += v
		mr += ref[i]
	}
	mx /= float64(len(x))
	mr /= float64(len(x))
	var srr, srx float64
	for i, v := range x {
		srr += (ref[i] - mr) * (ref[i] - mr)
		srx += (ref[i] - mr) * (v - mx)
	}
	b := 1.0
	if srr > 0 && srx != 0 {
		b = srx / srr
	}
	a := mx - b*mr
	for i, v := range x {
		x[i] = (v - a) / b
	}
}

// sgWeights returns the w×w matrix E whose row t gives the weights of the
// window's values for the d-th derivative, at window position t, of the
// least squares polynomial of order k through the window: row (w−1)/2 is
// the convolution of the interior, the others serve the ends.
func sgWeights(w, k, d int) *mat.Dense {
	h := (w - 1) / 2
	a := mat.NewDense(w, k+1, nil)
	for t := range w {
		for q := 0; q <= k; q++ {
			a.Set(t, q, math.Pow(float64(t-h), float64(q)))
		}
	}
	// Pseudo-inverse (AᵀA)⁻¹Aᵀ: the polynomial's coefficients from the
	// window's values.
	var ata mat.Dense
	ata.Mul(a.T(), a)
	var pinv mat.Dense
	if err := pinv.Solve(&ata, a.T()); err != nil {
		panic(fmt.Sprintf("preprocess: Savitzky–Golay system (%d, %d): %v", w, k, err)) // checked: k < w
	}
	e := mat.NewDense(w, w, nil)
	der := make([]float64, k+1)
	for t := range w {
		u := float64(t - h)
		for q := range der {
			der[q] = 0
			if q >= d {
				c := 1.0
				for j := range d {
					c *= float64(q - j)
				}
				der[q] = c * math.Pow(u, float64(q-d))
			}
		}
		for j := range w {
			var v float64
			for q := range der {
				v += der[q] * pinv.At(q, j)
			}
			e.Set(t, j, v)
		}
	}
	return e
}

// savgol writes the filtered x into dst (same length ≥ w).
func savgol(dst, x []float64, e *mat.Dense) {
	w, _ := e.Dims()
	h := (w - 1) / 2
	n := len(x)
	mid := e.RawRowView(h)
	for i := h; i < n-h; i++ {
		var v float64
		for j, c := range mid {
			v += c * x[i-h+j]
		}
		dst[i] = v
	}
	for t := range h {
		var lo, hi float64
		rl, rh := e.RawRowView(t), e.RawRowView(w-h+t)
		for j := range w {
			lo += rl[j] * x[j]
			hi += rh[j] * x[n-w+j]
		}
		dst[t], dst[n-h+t] = lo, hi
	}
}

// polyBasis returns an orthonormal basis (n×(d+1)) of the polynomials of
// degree ≤ d on 0..n−1.
func polyBasis(n, d int) *mat.Dense {
	v := mat.NewDense(n, d+1, nil)
	for i := range n {
		u := 2*float64(i)/float64(max(n-1, 1)) - 1
		for q := 0; q <= d; q++ {
			v.Set(i, q, math.Pow(u, float64(q)))
		}
	}
	var qr mat.QR
	qr.Factorize(v)
	var q mat.Dense
	qr.QTo(&q)
	return mat.DenseCopyOf(q.Slice(0, n, 0, d+1))
}

// detrend subtracts the projection of x onto the basis.
func detrend(x []float64, basis *mat.Dense) {
	n, k := basis.Dims()
	for q := range k {
		var c float64
		for i := range n {
			c += basis.At(i, q) * x[i]
		}
		for i := range n {
			x[i] -= c * basis.At(i, q)
		}
	}
}

// Candidates returns the chains that "auto" chooses among for spectra of
// width channels: none, snv, msc, snv+detrend(2) (Barnes' SNV–detrend),
// Savitzky–Golay smoothing, first derivative alone and followed by snv,
// msc followed by the first derivative, and the second derivative. The
// windows scale with the number of channels: w ≈ width/64 (odd, at least
// 5; 11 for 700 channels), and 1.5·w for the second derivative.
func Candidates(width int) []Chain {
	w := max(5, width/64)
	if w%2 == 0 {
		w++
	}
	w2 := (3*w)/2 | 1
	specs := []string{"none", "snv", "msc", "snv+detrend(2)",
		fmt.Sprintf("sg(%d,2)", w), fmt.Sprintf("sg1(%d,2)", w), fmt.Sprintf("sg1(%d,2)+snv", w),
		fmt.Sprintf("msc+sg1(%d,2)", w), fmt.Sprintf("sg2(%d,3)", w2)}
	var out []Chain
	for _, s := range specs {
		c, err := Parse(s)
		if err != nil {
			panic(err) // the specifications above are valid
		}
		if c.Check(width, width, false) == nil {
			out = append(out, c)
		}
	}
	return out
}
