package nn

import (
	"math"
	"math/rand/v2"
)

// Uniform fills p with values drawn uniformly from [−bound, bound).
func Uniform[T Float](p *Param[T], bound float64, r *rand.Rand) {
	for i := range p.Value {
		p.Value[i] = T((2*r.Float64() - 1) * bound)
	}
}

// Normal fills p with values drawn from N(0, std²).
func Normal[T Float](p *Param[T], std float64, r *rand.Rand) {
	for i := range p.Value {
		p.Value[i] = T(r.NormFloat64() * std)
	}
}

// Fill sets every element of p to v.
func Fill[T Float](p *Param[T], v T) {
	for i := range p.Value {
		p.Value[i] = v
	}
}

// KaimingUniform fills a weight whose fan-in is fanIn as PyTorch's default
// for linear and convolution layers (kaiming_uniform_ with a = √5), that is
// uniformly on [−1/√fanIn, 1/√fanIn].
func KaimingUniform[T Float](p *Param[T], fanIn int, r *rand.Rand) {
	Uniform(p, 1/math.Sqrt(float64(fanIn)), r)
}

// XavierUniform fills p uniformly on ±√(6/(fanIn+fanOut)) (Glorot).
func XavierUniform[T Float](p *Param[T], fanIn, fanOut int, r *rand.Rand) {
	Uniform(p, math.Sqrt(6/float64(fanIn+fanOut)), r)
}
