package loss

import (
	"fmt"

	"github.com/fdrmfl/fdrmfl/ag"
)

// Latent is one modality's latent code for a batch, read as the Gaussian
// q = N(Mu, diag exp(LogVar)).
type Latent[T Float] struct {
	Mu     *ag.Var[T] // B×e
	LogVar *ag.Var[T] // B×e, or nil for the fixed σ of SymmetricKL
	// Present says which samples have this modality (nil: all).
	Present []bool
}

// SymmetricKL returns the symmetric Kullback–Leibler divergence between
// modality latents, ½[KL(q_m‖q_m′) + KL(q_m′‖q_m)] averaged over the
// latent's e dimensions, over the modality pairs present in each sample,
// and then over the samples that have at least one pair.
//
// With LogVar nil the Gaussians share the fixed standard deviation sigma
// and the divergence reduces to (μ_m − μ_m′)²/(2σ²) (50·(μ_m − μ_m′)² for
// the author's σ = 0.1). With LogVar set it is the closed form
//
//	¼[(σ_m² + Δ²)/σ_m′² + (σ_m′² + Δ²)/σ_m²] − ½,  Δ = μ_m − μ_m′.
//
// It returns nil when no sample has two modalities.
func SymmetricKL[T Float](tp *ag.Tape[T], lat []Latent[T], sigma float64) *ag.Var[T] {
	if len(lat) < 2 {
		return nil
	}
	b, e := lat[0].Mu.Dim(0), lat[0].Mu.Dim(1)
	for _, l := range lat {
		if l.Mu.Rank() != 2 || l.Mu.Dim(0) != b || l.Mu.Dim(1) != e || (l.LogVar != nil && l.LogVar.Len() != b*e) {
			panic(fmt.Sprintf("loss.SymmetricKL: latents must all be %d×%d, got %v", b, e, l.Mu.Shape()))
		}
		if l.Present != nil && len(l.Present) != b {
			panic(fmt.Sprintf("loss.SymmetricKL: presence mask has %d entries for a batch of %d", len(l.Present), b))
		}
	}
	has := func(m, i int) bool { return lat[m].Present == nil || lat[m].Present[i] }
	// Weight of (sample i, pair p): 1/(pairs present in i) / (samples with a pair).
	pairsIn := make([]int, b)
	full := true
	for i := range b {
		k := 0
		for m := range lat {
			if has(m, i) {
				k++
			}
		}
		pairsIn[i] = k * (k - 1) / 2
		full = full && k == len(lat)
	}
	samples := 0
	for _, p := range pairsIn {
		if p > 0 {
			samples++
		}
	}
	if samples == 0 {
		return nil
	}
	var total *ag.Var[T]
	for m := range lat {
		for n := m + 1; n < len(lat); n++ {
			d := pairDivergence(tp, lat[m], lat[n], sigma) // B×1, mean over e
			if full {
				d = tp.Sum(d)
			} else {
				w := tp.Zeros(b, 1)
				any := false
				for i := range b {
					if has(m, i) && has(n, i) {
						w.Data()[i] = T(1 / float64(pairsIn[i]))
						any = true
					}
				}
				if !any {
					continue
				}
				d = tp.Sum(tp.Mul(d, w))
			}
			if total == nil {
				total = d
			} else {
				total = tp.Add(total, d)
			}
		}
	}
	scale := 1 / float64(samples)
	if full {
		scale /= float64(pairsIn[0])
	}
	return tp.Scale(total, T(scale))
}

// pairDivergence returns the per-sample symmetric KL of two latents,
// averaged over dimensions, as a B×1 variable.
func pairDivergence[T Float](tp *ag.Tape[T], a, b Latent[T], sigma float64) *ag.Var[T] {
	e := a.Mu.Dim(1)
	d2 := tp.Square(tp.Sub(a.Mu, b.Mu))
	if a.LogVar == nil || b.LogVar == nil {
		return tp.Scale(tp.Sum(d2, 1), T(1/(2*sigma*sigma*float64(e))))
	}
	va, vb := tp.Exp(a.LogVar), tp.Exp(b.LogVar)
	k := tp.Add(tp.Div(tp.Add(va, d2), vb), tp.Div(tp.Add(vb, d2), va))
	return tp.AddScalar(tp.Scale(tp.Sum(k, 1), T(0.25/float64(e))), -0.5)
}
