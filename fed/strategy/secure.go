package strategy

import (
	"encoding/json"
	"errors"

	"github.com/fdrmfl/fdrmfl/fed"
)

// Contribution asks each client for its update weighted by its share of
// the federation's training samples, ω_k = n_k/SampleScale, so that the
// weights of a round sum to at most 1 and the fixed-point range need not
// grow with the number of clients. Without a SampleScale every client
// weighs 1.
func (s *FedAvg) Contribution(_ int, _ fed.Weights, n int) (fed.Contribution, error) {
	c := fed.Contribution{SampleScale: s.SampleScale, WeightSum: 1, Metrics: s.SumMetrics}
	if s.SampleScale <= 0 {
		c.WeightSum = float64(n)
	}
	return c, nil
}

// AggregateSum is Aggregate from the sum of the weighted updates:
//
//	w⁺ = β·w + (1−β)·(w + Σ_k ω_k·Δ_k / Σ_k ω_k),
//
// which equals FedAvg's sample-weighted mean of the clients' weights,
// up to the fixed-point rounding of the sum.
func (s *FedAvg) AggregateSum(_ int, global fed.Weights, sum fed.Sum) (fed.Weights, error) {
	if sum.Weight <= 0 {
		return nil, errors.New("fedavg: the secure sum carries no weight")
	}
	next := make(fed.Weights, len(global))
	b := s.Smoothing
	for i, d := range sum.Update {
		g := float64(global[i])
		next[i] = float32(b*g + (1-b)*(g+d/sum.Weight))
	}
	for _, r := range s.Local {
		copy(next[r.From:r.To], global[r.From:r.To])
	}
	return next, nil
}

func jsonMarshal(v any) ([]byte, error)   { return json.Marshal(v) }
func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
