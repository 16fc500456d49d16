package privacy

import (
	"math"
	"math/rand/v2"
)

// Float is float32 or float64.
type Float interface{ ~float32 | ~float64 }

// Norm returns the L2 norm of x, summed in float64.
func Norm[T Float](x []T) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s)
}

// Clip scales x in place to L2 norm at most c: x ← x·min(1, c/‖x‖). It
// returns the norm before clipping.
func Clip[T Float](x []T, c float64) float64 {
	n := Norm(x)
	if n > c && n > 0 {
		f := T(c / n)
		for i := range x {
			x[i] *= f
		}
	}
	return n
}

// AddNoise adds independent Gaussian noise of standard deviation std to
// every element of x: the Gaussian mechanism, whose noise std = σ·Δ for
// a query of L2 sensitivity Δ and noise multiplier σ.
func AddNoise[T Float](x []T, std float64, r *rand.Rand) {
	if std == 0 {
		return
	}
	for i := range x {
		x[i] += T(std * r.NormFloat64())
	}
}

// AdaptiveClip is the clipping bound that follows a quantile of the
// clients' update norms (Andrew, Thakkar, McMahan and Ramaswamy 2021,
// "Differentially Private Learning with Adaptive Clipping"). Each round
// every client reports whether its norm was within the bound, as
// b − ½ ∈ {−½, ½}; the server adds Gaussian noise of std CountNoise to
// their sum and moves the bound geometrically:
//
//	b̄ = (Σ (b_k − ½) + N(0, CountNoise²))/m + ½,
//	C ← C · exp(−LR·(b̄ − Quantile)).
//
// The count is a second release per round, of sensitivity ½; to keep the
// round's privacy that of noise multiplier z, the update's own noise
// multiplier becomes UpdateNoise(z).
type AdaptiveClip struct {
	Clip       float64 // the current bound C
	Quantile   float64 // the target share γ of unclipped updates
	LR         float64 // η_C
	CountNoise float64 // σ_b
}

// Update moves the bound after a round in which m clients reported
// unclipped, the noisy sum of their b − ½.
func (a *AdaptiveClip) Update(noisySum float64, m int) {
	if m <= 0 {
		return
	}
	frac := noisySum/float64(m) + 0.5
	a.Clip *= math.Exp(-a.LR * (frac - a.Quantile))
}

// UpdateNoise returns the noise multiplier of the update that, composed
// with the count's release (multiplier 2σ_b, for sensitivity ½), gives
// the privacy of one release at multiplier z:
// z_Δ = (z⁻² − (2σ_b)⁻²)^(−½). It is +Inf when the count alone spends
// the round's budget.
func (a *AdaptiveClip) UpdateNoise(z float64) float64 {
	r := 1/(z*z) - 1/(4*a.CountNoise*a.CountNoise)
	if r <= 0 {
		return math.Inf(1)
	}
	return 1 / math.Sqrt(r)
}
