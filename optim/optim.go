// Package optim updates a model's flat weight vector from its flat
// gradient: SGD with momentum, Adam and AdamW (as torch.optim defines
// them), gradient-norm clipping and learning-rate schedules. It knows
// nothing of layers: weights and gradients are []float32 of equal length.
package optim

import (
	"fmt"
	"math"

	"github.com/fdrmfl/fdrmfl/internal/vec"
)

// Optimizer updates weights in place from their gradients.
type Optimizer interface {
	// Step applies one update. weights and grads have equal length, the
	// same on every call.
	Step(weights, grads []float32)
	// LR returns the learning rate; SetLR changes it (for schedules).
	LR() float64
	SetLR(lr float64)
	// Snapshot returns a copy of the optimiser's state; Restore sets it.
	Snapshot() Snapshot
	Restore(Snapshot) error
}

// Snapshot is an optimiser's state: what it is, its numbers (step count,
// learning rate) and its per-weight vectors (moments, momentum).
type Snapshot struct {
	Kind    string
	Numbers map[string]float64
	Vectors map[string][]float32
}

func checkLen(op string, w, g []float32) {
	if len(w) != len(g) {
		panic(fmt.Sprintf("optim.%s: %d weights but %d gradients", op, len(w), len(g)))
	}
}

// SGD is stochastic gradient descent with optional momentum, Nesterov
// momentum and L2 weight decay (torch.optim.SGD):
//
//	g ← g + wd·w;  b ← μ·b + (1−dampening)·g (b = g at the first step);
//	w ← w − lr·(Nesterov ? g + μ·b : b)
type SGD struct {
	Rate, Momentum, Dampening, WeightDecay float64
	Nesterov                               bool
	buf                                    []float32
}

// Step applies one update.
func (o *SGD) Step(w, g []float32) {
	checkLen("SGD.Step", w, g)
	lr, mu, wd := float32(o.Rate), float32(o.Momentum), float32(o.WeightDecay)
	first := false
	if o.Momentum != 0 && o.buf == nil {
		o.buf, first = make([]float32, len(w)), true
	}
	for i := range w {
		d := g[i] + wd*w[i]
		if o.Momentum != 0 {
			if first {
				o.buf[i] = d
			} else {
				o.buf[i] = mu*o.buf[i] + (1-float32(o.Dampening))*d
			}
			if o.Nesterov {
				d += mu * o.buf[i]
			} else {
				d = o.buf[i]
			}
		}
		w[i] -= lr * d
	}
}

// LR returns the learning rate.
func (o *SGD) LR() float64 { return o.Rate }

// SetLR sets the learning rate.
func (o *SGD) SetLR(lr float64) { o.Rate = lr }

// Snapshot returns the momentum buffer and learning rate.
func (o *SGD) Snapshot() Snapshot {
	s := Snapshot{Kind: "sgd", Numbers: map[string]float64{"lr": o.Rate}, Vectors: map[string][]float32{}}
	if o.buf != nil {
		s.Vectors["momentum"] = append([]float32(nil), o.buf...)
	}
	return s
}

// Restore sets the state from a Snapshot of an SGD.
func (o *SGD) Restore(s Snapshot) error {
	if s.Kind != "sgd" {
		return fmt.Errorf("optim: cannot restore SGD from a %q snapshot", s.Kind)
	}
	o.Rate = s.Numbers["lr"]
	o.buf = append([]float32(nil), s.Vectors["momentum"]...)
	if len(o.buf) == 0 {
		o.buf = nil
	}
	return nil
}

// Adam is the Adam optimiser (Kingma & Ba, 2015) as torch.optim.Adam and,
// with Decoupled set, torch.optim.AdamW (Loshchilov & Hutter, 2019):
//
//	AdamW: w ← w·(1 − lr·wd);  Adam: g ← g + wd·w
//	m ← β₁m + (1−β₁)g;  v ← β₂v + (1−β₂)g²
//	w ← w − lr/(1−β₁ᵗ) · m / (√v/√(1−β₂ᵗ) + ε)
type Adam struct {
	Rate, Beta1, Beta2, Eps, WeightDecay float64
	Decoupled                            bool
	t                                    int
	m, v                                 []float32
}

// NewAdam returns Adam with PyTorch's defaults (β = 0.9, 0.999; ε = 1e-8)
// and no weight decay.
func NewAdam(lr float64) *Adam { return &Adam{Rate: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8} }

// NewAdamW returns AdamW with PyTorch's defaults (β = 0.9, 0.999; ε = 1e-8)
// and decoupled weight decay wd (PyTorch's default is 0.01).
func NewAdamW(lr, wd float64) *Adam {
	return &Adam{Rate: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: wd, Decoupled: true}
}

// Step applies one update.
func (o *Adam) Step(w, g []float32) {
	checkLen("Adam.Step", w, g)
	if o.m == nil {
		o.m, o.v = make([]float32, len(w)), make([]float32, len(w))
	}
	o.t++
	bc1 := 1 - math.Pow(o.Beta1, float64(o.t))
	bc2 := 1 - math.Pow(o.Beta2, float64(o.t))
	c := adamConsts{
		b1: float32(o.Beta1), omb1: float32(1 - o.Beta1), b2: float32(o.Beta2), omb2: float32(1 - o.Beta2),
		step: float32(o.Rate / bc1), invSqrtBC2: float32(1 / math.Sqrt(bc2)), eps: float32(o.Eps), decay: 1,
	}
	if o.Decoupled {
		c.decay = float32(1 - o.Rate*o.WeightDecay)
	} else {
		c.wd = float32(o.WeightDecay)
	}
	m, v := o.m[:len(w)], o.v[:len(w)]
	g = g[:len(w)]
	done := adamVector(w, g, m, v, &c)
	adamScalar(w[done:], g[done:], m[done:], v[done:], &c)
}

// adamConsts are the per-step constants of the Adam update, laid out for
// the vector kernel.
type adamConsts struct {
	b1, omb1, b2, omb2, step, invSqrtBC2, eps, wd, decay float32
}

// adamScalar is the reference form of the update, one element at a time.
func adamScalar(w, g, m, v []float32, c *adamConsts) {
	for i := range w {
		gi := g[i] + c.wd*w[i]
		wi := w[i] * c.decay
		mi := c.b1*m[i] + c.omb1*gi
		vi := c.b2*v[i] + c.omb2*gi*gi
		m[i], v[i] = mi, vi
		w[i] = wi - c.step*mi/(sqrt32(vi)*c.invSqrtBC2+c.eps)
	}
}

func sqrt32(x float32) float32 { return float32(math.Sqrt(float64(x))) }

// LR returns the learning rate.
func (o *Adam) LR() float64 { return o.Rate }

// SetLR sets the learning rate.
func (o *Adam) SetLR(lr float64) { o.Rate = lr }

// Snapshot returns the moments, step count and learning rate.
func (o *Adam) Snapshot() Snapshot {
	s := Snapshot{Kind: "adam", Numbers: map[string]float64{"lr": o.Rate, "step": float64(o.t)}, Vectors: map[string][]float32{}}
	if o.m != nil {
		s.Vectors["exp_avg"] = append([]float32(nil), o.m...)
		s.Vectors["exp_avg_sq"] = append([]float32(nil), o.v...)
	}
	return s
}

// Restore sets the state from a Snapshot of an Adam.
func (o *Adam) Restore(s Snapshot) error {
	if s.Kind != "adam" {
		return fmt.Errorf("optim: cannot restore Adam from a %q snapshot", s.Kind)
	}
	m, v := s.Vectors["exp_avg"], s.Vectors["exp_avg_sq"]
	if len(m) != len(v) {
		return fmt.Errorf("optim: Adam snapshot has moments of %d and %d elements", len(m), len(v))
	}
	o.Rate, o.t = s.Numbers["lr"], int(s.Numbers["step"])
	o.m, o.v = nil, nil
	if len(m) > 0 {
		o.m, o.v = append([]float32(nil), m...), append([]float32(nil), v...)
	}
	return nil
}

// ClipGradNorm scales grads so that their L2 norm is at most maxNorm (as
// torch.nn.utils.clip_grad_norm_, with scale maxNorm/(norm + 1e-6)) and
// returns the norm before clipping.
func ClipGradNorm(grads []float32, maxNorm float64) float64 {
	var s float64
	for start := 0; start < len(grads); start += 4096 { // float32 blocks, float64 across
		blk := grads[start:min(start+4096, len(grads))]
		_, d := vec.SumDot(blk, blk)
		s += float64(d)
	}
	norm := math.Sqrt(s)
	if c := maxNorm / (norm + 1e-6); c < 1 {
		f := float32(c)
		for i := range grads {
			grads[i] *= f
		}
	}
	return norm
}
