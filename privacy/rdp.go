// Package privacy is differential privacy's arithmetic: the Rényi-DP
// accountant of the subsampled Gaussian mechanism (Mironov, Talwar and
// Zhang 2019), its conversion to (ε, δ), the noise that meets a budget,
// L2 clipping, Gaussian noise, and adaptive clipping (Andrew et al. 2021).
// It computes only: the federation and the trainer apply it.
package privacy

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// DefaultOrders are the Rényi orders the accountant tracks: 1.1 to 10.9
// by tenths and 12 to 63, as Opacus's RDPAccountant.
func DefaultOrders() []float64 {
	var o []float64
	for x := 1; x < 100; x++ {
		o = append(o, 1+float64(x)/10)
	}
	for x := 12; x < 64; x++ {
		o = append(o, float64(x))
	}
	return o
}

// Accountant adds up the Rényi differential privacy of the mechanisms a
// run has released, order by order, and converts the total to (ε, δ).
// The zero value is not usable; call NewAccountant.
type Accountant struct {
	Orders []float64
	// RDP holds the total at each order; it is the accountant's whole state.
	RDP []float64
}

// NewAccountant returns an accountant over DefaultOrders with nothing spent.
func NewAccountant() *Accountant {
	o := DefaultOrders()
	return &Accountant{Orders: o, RDP: make([]float64, len(o))}
}

// Clone returns an independent copy.
func (a *Accountant) Clone() *Accountant {
	return &Accountant{Orders: slices.Clone(a.Orders), RDP: slices.Clone(a.RDP)}
}

// Compose records steps releases of the sampled Gaussian mechanism: each
// record is in the batch with probability q (Poisson sampling), the
// batch's sum of contributions clipped to L2 norm C gets Gaussian noise
// of standard deviation noise·C. q = 1 is the plain Gaussian mechanism.
func (a *Accountant) Compose(q, noise float64, steps int) {
	for i, o := range a.Orders {
		a.RDP[i] += float64(steps) * SampledGaussianRDP(q, noise, o)
	}
}

// Epsilon returns the smallest ε at which everything composed so far is
// (ε, δ)-DP, and the order that gives it, by the conversion of Balle et
// al. (2020, Theorem 21) that Opacus's get_privacy_spent uses:
//
//	ε = min_α  RDP(α) − (log δ + log α)/(α − 1) + log((α − 1)/α).
//
// Nothing composed gives 0; a mechanism without noise gives +Inf.
func (a *Accountant) Epsilon(delta float64) (eps, order float64) {
	return Epsilon(a.Orders, a.RDP, delta)
}

// Epsilon converts Rényi-DP values at orders to (ε, δ)-DP (see
// Accountant.Epsilon).
func Epsilon(orders, rdp []float64, delta float64) (eps, order float64) {
	eps, order = math.Inf(1), math.NaN()
	zero := true
	for i, o := range orders {
		if rdp[i] != 0 {
			zero = false
		}
		if o <= 1 || math.IsInf(rdp[i], 1) {
			continue
		}
		e := rdp[i] - (math.Log(delta)+math.Log(o))/(o-1) + math.Log((o-1)/o)
		if e < eps {
			eps, order = e, o
		}
	}
	if zero {
		return 0, math.NaN()
	}
	return max(eps, 0), order
}

// SampledGaussianRDP returns the Rényi divergence of order alpha of the
// sampled Gaussian mechanism with sampling rate q and noise multiplier
// sigma (Mironov, Talwar and Zhang 2019, §3.3: log A_α / (α − 1), A_α by
// the binomial sum for integer α and the two-sided series of erfc terms
// for fractional α).
func SampledGaussianRDP(q, sigma, alpha float64) float64 {
	switch {
	case q == 0:
		return 0
	case sigma == 0:
		return math.Inf(1)
	case q == 1:
		return alpha / (2 * sigma * sigma)
	case math.IsInf(alpha, 1):
		return math.Inf(1)
	}
	var logA float64
	if alpha == math.Trunc(alpha) {
		logA = logAInt(q, sigma, int(alpha))
	} else {
		logA = logAFrac(q, sigma, alpha)
	}
	return logA / (alpha - 1)
}

func logAInt(q, sigma float64, alpha int) float64 {
	logA := math.Inf(-1)
	for i := 0; i <= alpha; i++ {
		fi := float64(i)
		c := logBinom(float64(alpha), fi) + fi*math.Log(q) + float64(alpha-i)*math.Log1p(-q)
		logA = logAdd(logA, c+(fi*fi-fi)/(2*sigma*sigma))
	}
	return logA
}

func logAFrac(q, sigma, alpha float64) float64 {
	a0, a1 := math.Inf(-1), math.Inf(-1)
	z0 := sigma*sigma*math.Log(1/q-1) + 0.5
	for i := 0.0; ; i++ {
		lc, sign := logBinomSigned(alpha, i)
		j := alpha - i
		t0 := lc + i*math.Log(q) + j*math.Log1p(-q)
		t1 := lc + j*math.Log(q) + i*math.Log1p(-q)
		e0 := math.Log(0.5) + logErfc((i-z0)/(math.Sqrt2*sigma))
		e1 := math.Log(0.5) + logErfc((z0-j)/(math.Sqrt2*sigma))
		s0 := t0 + (i*i-i)/(2*sigma*sigma) + e0
		s1 := t1 + (j*j-j)/(2*sigma*sigma) + e1
		if sign > 0 {
			a0, a1 = logAdd(a0, s0), logAdd(a1, s1)
		} else {
			a0, a1 = logSub(a0, s0), logSub(a1, s1)
		}
		if max(s0, s1) < -30 {
			break
		}
	}
	return logAdd(a0, a1)
}

func logBinom(n, k float64) float64 {
	l, _ := logBinomSigned(n, k)
	return l
}

// logBinomSigned returns log|C(n, k)| and its sign, for real n.
func logBinomSigned(n, k float64) (float64, int) {
	a, sa := math.Lgamma(n + 1)
	b, _ := math.Lgamma(k + 1)
	c, sc := math.Lgamma(n - k + 1)
	return a - b - c, sa * sc
}

func logAdd(x, y float64) float64 {
	a, b := min(x, y), max(x, y)
	if math.IsInf(a, -1) {
		return b
	}
	return math.Log1p(math.Exp(a-b)) + b
}

func logSub(x, y float64) float64 {
	switch {
	case math.IsInf(y, -1):
		return x
	case x <= y:
		return math.Inf(-1)
	}
	return math.Log(math.Expm1(x-y)) + y
}

// logErfc returns log(erfc(x)), accurate where erfc underflows.
func logErfc(x float64) float64 {
	if x < 20 {
		return math.Log(math.Erfc(x))
	}
	// erfc(x) = e^{−x²}/(x√π)·(1 − 1/(2x²) + 3/(4x⁴) − 15/(8x⁶) + …)
	x2 := x * x
	return -x2 - math.Log(x) - 0.5*math.Log(math.Pi) + math.Log1p(-1/(2*x2)+3/(4*x2*x2)-15/(8*x2*x2*x2))
}

// NoiseFor returns the noise multiplier for which steps releases of the
// sampled Gaussian mechanism at rate q are (eps, delta)-DP, found as
// Opacus's get_noise_multiplier finds it: the bracket [0, 10] is doubled
// until its top meets the budget, then bisected until the top's ε is
// within tol below eps. It returns the top of the bracket.
func NoiseFor(eps, delta, q float64, steps int, tol float64) (float64, error) {
	if !(eps > 0) || !(delta > 0 && delta < 1) || !(q > 0 && q <= 1) || steps < 1 || !(tol > 0) {
		return 0, fmt.Errorf("privacy: no noise for ε = %v, δ = %v, q = %v over %d steps", eps, delta, q, steps)
	}
	spent := func(sigma float64) float64 {
		a := NewAccountant()
		a.Compose(q, sigma, steps)
		e, _ := a.Epsilon(delta)
		return e
	}
	lo, hi, epsHi := 0.0, 10.0, math.Inf(1)
	for epsHi > eps {
		hi *= 2
		if hi > 1e6 {
			return 0, errors.New("privacy: the budget needs a noise multiplier above 10⁶")
		}
		epsHi = spent(hi)
	}
	for eps-epsHi > tol {
		mid := (lo + hi) / 2
		if e := spent(mid); e < eps {
			hi, epsHi = mid, e
		} else {
			lo = mid
		}
	}
	return hi, nil
}

// ErrBudget is the error of a release that would spend more than the
// privacy budget.
var ErrBudget = errors.New("privacy budget spent")
