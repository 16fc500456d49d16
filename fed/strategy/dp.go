package strategy

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/privacy"
)

// DPFedAvg is client-level differentially private FedAvg (McMahan, Ramage,
// Talwar and Zhang 2018): each client's update Δ_k = w_k − w is clipped to
// L2 norm C, the clipped updates are summed, Gaussian noise of standard
// deviation z·C is added, and the sum is divided by the number m of
// clients asked (a fixed denominator, so that one client's presence moves
// the mean by at most C/m):
//
//	w⁺ = β·w + (1−β)·(w + (Σ_k clip_C(Δ_k) + N(0, (zC)²I))/m).
//
// With Adaptive set, C follows a quantile of the update norms (Andrew et
// al. 2021) and the update's noise multiplier is lowered so that, with
// the clipped-count release, each round costs what multiplier z costs.
// Each round is accounted as the sampled Gaussian mechanism at rate
// q = m/Clients with multiplier z; Configure refuses, with
// privacy.ErrBudget, a round that would take ε past Budget.
//
// In the clear the server clips and adds the noise. Under secure
// aggregation the clients clip, and the noise is added by the server
// (which then sees the sum before noise) or, with AtClients, by the
// clients, N(0, (zC)²/Threshold) each, so that any Threshold of them
// together give at least the full noise and the server never sees a sum
// without it.
type DPFedAvg struct {
	FedAvg
	Clip      float64
	Noise     float64
	Adaptive  *privacy.AdaptiveClip
	AtClients bool
	Threshold int
	// Clients is the number of clients in the federation (the population
	// the round samples from).
	Clients int
	Delta   float64
	Budget  float64
	// NoiseRand draws the server's noise.
	NoiseRand *rand.Rand
	// NoiseSeed seeds the clients' noise in a simulation (0: random).
	NoiseSeed  uint64
	Accountant *privacy.Accountant

	asked int // clients asked in the current round
}

// clip returns the round's clipping bound.
func (s *DPFedAvg) clip() float64 {
	if s.Adaptive != nil {
		return s.Adaptive.Clip
	}
	return s.Clip
}

// updateNoise returns the noise multiplier of the update.
func (s *DPFedAvg) updateNoise() float64 {
	if s.Adaptive != nil {
		return s.Adaptive.UpdateNoise(s.Noise)
	}
	return s.Noise
}

func (s *DPFedAvg) check() error {
	switch {
	case !(s.Noise > 0):
		return fmt.Errorf("dp-fedavg: noise multiplier %v must be positive", s.Noise)
	case !(s.clip() > 0):
		return fmt.Errorf("dp-fedavg: clipping bound %v must be positive", s.clip())
	case s.Clients < 1:
		return fmt.Errorf("dp-fedavg: %d clients", s.Clients)
	case s.Accountant == nil || s.NoiseRand == nil:
		return errors.New("dp-fedavg: no accountant or noise source")
	case math.IsInf(s.updateNoise(), 1):
		return fmt.Errorf("dp-fedavg: the clipped-count noise %v spends the whole round's budget", s.Adaptive.CountNoise)
	}
	return nil
}

// Configure picks the round's clients as FedAvg does, unless the round
// would spend more than the budget.
func (s *DPFedAvg) Configure(round int, global fed.Weights, available []string) ([]fed.Task, error) {
	if err := s.check(); err != nil {
		return nil, err
	}
	tasks, err := s.FedAvg.Configure(round, global, available)
	if err != nil {
		return nil, err
	}
	s.asked = len(tasks)
	if s.Budget > 0 {
		a := s.Accountant.Clone()
		a.Compose(s.rate(), s.Noise, 1)
		if eps, _ := a.Epsilon(s.Delta); eps > s.Budget {
			return nil, fmt.Errorf("%w: round %d would take ε to %.3g, the budget is %.3g", privacy.ErrBudget, round, eps, s.Budget)
		}
	}
	return tasks, nil
}

// rate is the round's sampling rate q = m/K.
func (s *DPFedAvg) rate() float64 { return min(1, float64(s.asked)/float64(s.Clients)) }

// Spent returns the (ε, δ) spent so far.
func (s *DPFedAvg) Spent() (eps, delta float64) {
	e, _ := s.Accountant.Epsilon(s.Delta)
	return e, s.Delta
}

// Aggregate clips each update, adds the noise and averages over the
// clients asked.
func (s *DPFedAvg) Aggregate(round int, global fed.Weights, ups []fed.Update) (fed.Weights, error) {
	acc := s.Accumulate(round, global)
	for _, u := range ups {
		if err := acc.Add(u); err != nil {
			return nil, err
		}
	}
	return acc.Result()
}

// Accumulate returns an accumulator of Aggregate's result that clips and
// adds each update as it comes.
func (s *DPFedAvg) Accumulate(_ int, global fed.Weights) fed.Accumulator {
	return &dpAcc{s: s, global: global, sum: make([]float64, len(global)), d: make([]float64, len(global))}
}

type dpAcc struct {
	s      *DPFedAvg
	global fed.Weights
	sum, d []float64
	count  float64
}

func (a *dpAcc) Add(u fed.Update) error {
	if len(u.Weights) != len(a.global) {
		return fmt.Errorf("dp-fedavg: client %s sent %d values, the model has %d", u.Client, len(u.Weights), len(a.global))
	}
	c := a.s.clip()
	for i, w := range u.Weights {
		a.d[i] = float64(w) - float64(a.global[i])
	}
	norm := privacy.Clip(a.d, c)
	for i, v := range a.d {
		a.sum[i] += v
	}
	if norm <= c {
		a.count += 0.5
	} else {
		a.count -= 0.5
	}
	return nil
}

func (a *dpAcc) Result() (fed.Weights, error) {
	s := a.s
	privacy.AddNoise(a.sum, s.updateNoise()*s.clip(), s.NoiseRand)
	if s.Adaptive != nil {
		a.count += s.Adaptive.CountNoise * s.NoiseRand.NormFloat64()
	}
	return s.finish(a.global, a.sum, a.count)
}

// finish turns the noisy sum into the next model, moves an adaptive bound
// and accounts for the round.
func (s *DPFedAvg) finish(global fed.Weights, sum []float64, count float64) (fed.Weights, error) {
	m := float64(max(s.asked, 1))
	next := make(fed.Weights, len(global))
	b := s.Smoothing
	for i, v := range sum {
		g := float64(global[i])
		next[i] = float32(b*g + (1-b)*(g+v/m))
	}
	for _, r := range s.Local {
		copy(next[r.From:r.To], global[r.From:r.To])
	}
	if s.Adaptive != nil {
		s.Adaptive.Update(count, s.asked)
	}
	s.Accountant.Compose(s.rate(), s.Noise, 1)
	return next, nil
}

// Contribution asks the clients for their updates clipped to C, unweighted,
// with their share of the noise under AtClients.
func (s *DPFedAvg) Contribution(_ int, _ fed.Weights, n int) (fed.Contribution, error) {
	c := s.clip()
	con := fed.Contribution{WeightSum: float64(n), NormClip: c, Clip: c, Metrics: s.SumMetrics, Indicator: s.Adaptive != nil, Seed: s.NoiseSeed}
	if s.AtClients {
		t := max(s.Threshold, 1)
		con.Noise = s.updateNoise() * c / math.Sqrt(float64(t))
		con.Clip = c + 8*con.Noise
		if s.Adaptive != nil {
			con.IndicatorNoise = s.Adaptive.CountNoise / math.Sqrt(float64(t))
		}
	}
	return con, nil
}

// AggregateSum adds the server's noise (unless the clients added it) to
// the secure sum and averages over the clients asked.
func (s *DPFedAvg) AggregateSum(_ int, global fed.Weights, sum fed.Sum) (fed.Weights, error) {
	x := append([]float64(nil), sum.Update...)
	count := sum.Unclipped
	if !s.AtClients {
		privacy.AddNoise(x, s.updateNoise()*s.clip(), s.NoiseRand)
		if s.Adaptive != nil {
			count += s.Adaptive.CountNoise * s.NoiseRand.NormFloat64()
		}
	}
	return s.finish(global, x, count)
}

// MarshalBinary saves the selection's random source, the accountant and
// the adaptive bound, so that a resumed federation spends what it had
// spent.
func (s *DPFedAvg) MarshalBinary() ([]byte, error) {
	sel, err := s.FedAvg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	st := dpState{Selection: sel, RDP: s.Accountant.RDP}
	if s.Adaptive != nil {
		st.Clip = s.Adaptive.Clip
	}
	return jsonMarshal(st)
}

// UnmarshalBinary restores a state written by MarshalBinary.
func (s *DPFedAvg) UnmarshalBinary(b []byte) error {
	var st dpState
	if err := jsonUnmarshal(b, &st); err != nil {
		return fmt.Errorf("dp-fedavg: the saved state: %w", err)
	}
	if len(st.RDP) != len(s.Accountant.RDP) {
		return errors.New("dp-fedavg: the saved accountant tracks other orders")
	}
	copy(s.Accountant.RDP, st.RDP)
	if s.Adaptive != nil && st.Clip > 0 {
		s.Adaptive.Clip = st.Clip
	}
	return s.FedAvg.UnmarshalBinary(st.Selection)
}

type dpState struct {
	Selection []byte    `json:"selection"`
	RDP       []float64 `json:"rdp"`
	Clip      float64   `json:"clip,omitempty"`
}
