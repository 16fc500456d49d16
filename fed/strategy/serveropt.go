package strategy

import (
	"errors"
	"fmt"
	"math"

	"github.com/fdrmfl/fdrmfl/fed"
)

// Server optimisers of ServerOpt.
const (
	OptAvgM    = "fedavgm"    // momentum (Hsu et al., 2019)
	OptAdagrad = "fedadagrad" // Reddi et al., 2021
	OptAdam    = "fedadam"    // Reddi et al., 2021
	OptYogi    = "fedyogi"    // Reddi et al., 2021
)

// ServerOpt is FedAvg whose server treats the round's change as a
// pseudo-gradient and takes an optimiser step with it (Reddi et al.,
// "Adaptive federated optimization", ICLR 2021, algorithm 2). With
// Δ = avg − w, where avg is FedAvg's (sample-weighted, smoothed) mean of
// the clients' weights:
//
//	fedavgm:    m ← β₁·m + Δ,                          w ← w + η·m
//	fedadagrad: m ← β₁·m + (1−β₁)·Δ, v ← v + Δ²,        w ← w + η·m/(√v + τ)
//	fedadam:    m ← β₁·m + (1−β₁)·Δ, v ← β₂·v + (1−β₂)·Δ², w ← w + η·m/(√v + τ)
//	fedyogi:    m ← β₁·m + (1−β₁)·Δ, v ← v − (1−β₂)·Δ²·sign(v − Δ²), w ← w + η·m/(√v + τ)
//
// elementwise, with m starting at 0 and v at τ². fedavgm with η = 1 and
// β₁ = 0 is FedAvg. Only the first Weights values (the trained weights)
// take the step; the rest (buffers such as batch-normalisation statistics)
// and FedAvg's Local spans are FedAvg's mean.
type ServerOpt struct {
	FedAvg
	Method string
	// LR is η, Beta1 β₁, Beta2 β₂ and Tau τ, the adaptivity.
	LR, Beta1, Beta2, Tau float64
	// Weights is the number of trained values at the front of the vector
	// (0: all of it).
	Weights int

	m, v []float64
}

// Aggregate returns the optimiser's step from the updates' mean.
func (s *ServerOpt) Aggregate(round int, global fed.Weights, ups []fed.Update) (fed.Weights, error) {
	acc := s.Accumulate(round, global)
	for _, u := range ups {
		if err := acc.Add(u); err != nil {
			return nil, err
		}
	}
	return acc.Result()
}

// Accumulate merges updates as FedAvg does and takes the step at the end.
func (s *ServerOpt) Accumulate(round int, global fed.Weights) fed.Accumulator {
	return &stepAcc{inner: s.FedAvg.Accumulate(round, global), global: global, step: s.step}
}

// stepAcc is FedAvg's accumulator followed by a server step.
type stepAcc struct {
	inner  fed.Accumulator
	global fed.Weights
	step   func(global, avg fed.Weights) (fed.Weights, error)
}

func (a *stepAcc) Add(u fed.Update) error { return a.inner.Add(u) }

func (a *stepAcc) Result() (fed.Weights, error) {
	avg, err := a.inner.Result()
	if err != nil {
		return nil, err
	}
	return a.step(a.global, avg)
}

func (s *ServerOpt) check(n int) error {
	switch s.Method {
	case OptAvgM, OptAdagrad, OptAdam, OptYogi:
	default:
		return fmt.Errorf("server optimiser: unknown method %q", s.Method)
	}
	if s.LR <= 0 || s.Beta1 < 0 || s.Beta1 >= 1 || s.Beta2 < 0 || s.Beta2 >= 1 || s.Tau < 0 {
		return fmt.Errorf("%s: η = %v, β₁ = %v, β₂ = %v, τ = %v (need η > 0, β in [0, 1), τ ≥ 0)", s.Method, s.LR, s.Beta1, s.Beta2, s.Tau)
	}
	if s.Weights < 0 || s.Weights > n {
		return fmt.Errorf("%s: %d trained values in a model of %d", s.Method, s.Weights, n)
	}
	if s.m != nil && len(s.m) != s.trained(n) {
		return fmt.Errorf("%s: the optimiser state has %d values, the model %d", s.Method, len(s.m), s.trained(n))
	}
	return nil
}

func (s *ServerOpt) trained(n int) int {
	if s.Weights == 0 {
		return n
	}
	return s.Weights
}

// step moves global towards avg by the optimiser's rule.
func (s *ServerOpt) step(global, avg fed.Weights) (fed.Weights, error) {
	if err := s.check(len(global)); err != nil {
		return nil, err
	}
	n := s.trained(len(global))
	if s.m == nil {
		s.m = make([]float64, n)
		if s.Method != OptAvgM {
			s.v = make([]float64, n)
			for i := range s.v {
				s.v[i] = s.Tau * s.Tau
			}
		}
	}
	next := avg.Clone()
	b1, b2 := s.Beta1, s.Beta2
	for i := range n {
		d := float64(avg[i]) - float64(global[i])
		var step float64
		switch s.Method {
		case OptAvgM:
			s.m[i] = b1*s.m[i] + d
			step = s.LR * s.m[i]
		default:
			s.m[i] = b1*s.m[i] + (1-b1)*d
			d2 := d * d
			switch s.Method {
			case OptAdagrad:
				s.v[i] += d2
			case OptAdam:
				s.v[i] = b2*s.v[i] + (1-b2)*d2
			case OptYogi:
				s.v[i] -= (1 - b2) * d2 * sign(s.v[i]-d2)
			}
			step = s.LR * s.m[i] / (math.Sqrt(s.v[i]) + s.Tau)
		}
		next[i] = float32(float64(global[i]) + step)
	}
	for _, r := range s.Local {
		copy(next[r.From:r.To], global[r.From:r.To])
	}
	return next, nil
}

func sign(x float64) float64 {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

// MarshalBinary returns the strategy's state: FedAvg's random source and
// the optimiser's moments.
func (s *ServerOpt) MarshalBinary() ([]byte, error) {
	base, err := s.FedAvg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var w stateWriter
	w.str(s.Method)
	w.bytes(base)
	w.vec(s.m)
	w.vec(s.v)
	return w.b, nil
}

// UnmarshalBinary restores a state written by MarshalBinary of a
// strategy with the same method.
func (s *ServerOpt) UnmarshalBinary(b []byte) error {
	if len(b) == 0 { // a fresh federation's checkpoint
		s.m, s.v = nil, nil
		return s.FedAvg.UnmarshalBinary(nil)
	}
	r := stateReader{b: b}
	method := r.str()
	base := r.bytes()
	m, v := r.vec(), r.vec()
	if err := r.done(); err != nil {
		return fmt.Errorf("%s: restoring the state: %w", s.Method, err)
	}
	if method != s.Method {
		return fmt.Errorf("%s: the saved state is of %q", s.Method, method)
	}
	switch {
	case method == OptAvgM && v != nil:
		return errors.New(s.Method + ": a momentum state with second moments")
	case method != OptAvgM && len(v) != len(m):
		return fmt.Errorf("%s: saved moments of %d and %d values", s.Method, len(m), len(v))
	}
	if err := s.FedAvg.UnmarshalBinary(base); err != nil {
		return err
	}
	s.m, s.v = m, v
	return nil
}
