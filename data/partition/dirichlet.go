package partition

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// DefaultMinSize is the fewest samples Dirichlet gives a client when the
// caller passes a minimum of 0.
const DefaultMinSize = 2

// Dirichlet splits the samples 0..n−1 into clients of random sizes
// (quantity skew): client proportions p ~ Dir(β, …, β), drawn with rng.
//
// Each client first gets minSize samples (0 means DefaultMinSize); the
// other R = n − clients·minSize are shared in proportion to p, client c
// getting floor(p_c·R) and the remainder going one each to the clients
// with the largest fractional parts (ties to the lower index). The samples
// are then shuffled with rng and dealt out in runs of those sizes. Small β
// makes sizes very unequal, large β nearly equal.
//
// beta must be a finite number > 0, minSize ≥ 0, and clients·minSize ≤ n.
func Dirichlet(n, clients int, beta float64, minSize int, rng *rand.Rand) ([][]int, error) {
	if err := checkClients(n, clients); err != nil {
		return nil, err
	}
	if !(beta > 0) || math.IsInf(beta, 1) {
		return nil, fmt.Errorf("partition: beta = %v: want a finite number > 0", beta)
	}
	if minSize < 0 {
		return nil, fmt.Errorf("partition: minimum client size %d: want ≥ 0 (0 for the default, %d)", minSize, DefaultMinSize)
	}
	if minSize == 0 {
		minSize = DefaultMinSize
	}
	if clients*minSize > n {
		return nil, fmt.Errorf("partition: %d clients × minimum size %d = %d samples, have %d",
			clients, minSize, clients*minSize, n)
	}
	mustRand(rng)
	p := dirichlet(rng, beta, clients)
	rest := n - clients*minSize
	sizes := make([]int, clients)
	frac := make([]float64, clients)
	given := 0
	for c, pc := range p {
		share := pc * float64(rest)
		sizes[c] = int(share)
		frac[c] = share - float64(sizes[c])
		given += sizes[c]
	}
	byFrac := make([]int, clients)
	for c := range byFrac {
		byFrac[c] = c
	}
	slices.SortStableFunc(byFrac, func(a, b int) int { return cmp.Compare(frac[b], frac[a]) })
	for i := 0; given < rest; i++ { // fewer than clients passes
		sizes[byFrac[i%clients]]++
		given++
	}
	for c := range sizes {
		sizes[c] += minSize
	}
	return deal(rng.Perm(n), sizes), nil
}

// dirichlet draws a point of the k-simplex from Dir(β, …, β). The gamma
// draws are kept as logarithms, so a small β cannot underflow them all to
// zero.
func dirichlet(rng *rand.Rand, beta float64, k int) []float64 {
	p := make([]float64, k)
	top := math.Inf(-1)
	for c := range p {
		p[c] = logGamma(rng, beta)
		top = max(top, p[c])
	}
	var sum float64
	for c := range p {
		p[c] = math.Exp(p[c] - top)
		sum += p[c]
	}
	for c := range p {
		p[c] /= sum
	}
	return p
}

// logGamma returns log X for X ~ Gamma(a, 1), a > 0, by Marsaglia and
// Tsang's method (ACM TOMS 26(3), 2000). For a < 1 it uses
// X = Y·U^(1/a) with Y ~ Gamma(a+1, 1) and U ~ Uniform(0, 1].
func logGamma(rng *rand.Rand, a float64) float64 {
	if a < 1 {
		u := 1 - rng.Float64() // (0, 1]
		return logGamma(rng, a+1) + math.Log(u)/a
	}
	d := a - 1.0/3
	c := 1 / math.Sqrt(9*d)
	for {
		x := rng.NormFloat64()
		v := 1 + c*x
		if v <= 0 {
			continue
		}
		v = v * v * v
		u := rng.Float64()
		if math.Log(u) < 0.5*x*x+d-d*v+d*math.Log(v) {
			return math.Log(d * v)
		}
	}
}
