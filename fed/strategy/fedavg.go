// Package strategy holds federated aggregation policies: FedAvg with
// server smoothing, and its FedProx and FedBN variants.
package strategy

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/internal/vec"
)

// Range is a half-open span [From, To) of the flat weight vector.
type Range struct{ From, To int }

// FedAvg is federated averaging (McMahan et al., 2017): the next global
// model is the mean of the clients' weights weighted by their sample
// counts,
//
//	w⁺ = β·w + (1−β)·Σ_k n_k·w_k / Σ_k n_k,
//
// where β is the server smoothing (0: plain FedAvg; the author's real-data
// runs used β = 0.1). The sums run in float64 in client-name order, so the
// result does not depend on the order in which updates arrived.
//
// With Prox > 0 clients add FedProx's proximal term μ/2·‖w − w_global‖²
// (Li et al., 2020). With Local set, those spans of the vector — the
// normalisation layers — are not averaged and clients keep their own
// (FedBN, Li et al., 2021); the global vector carries the first round's
// values there.
type FedAvg struct {
	// Fraction of the available clients asked to train each round (0 or
	// 1: all). At least MinFit are asked when that many are available.
	Fraction float64
	MinFit   int
	// Smoothing is β.
	Smoothing float64
	// Prox is FedProx's μ.
	Prox float64
	// Local spans are kept by the clients (FedBN).
	Local []Range
	// SampleScale and SumMetrics serve secure aggregation (secure.go): the
	// federation's training samples, which scale each client's weight, and
	// the metrics summed with the updates.
	SampleScale float64
	SumMetrics  []string
	// Rand picks clients when 0 < Fraction < 1. It is the strategy's only
	// state: MarshalBinary saves it and UnmarshalBinary restores it, so that
	// a federation resumed from a checkpoint picks the clients it would
	// have picked.
	Rand *rand.PCG
}

// Configure asks a random Fraction of the available clients (all of them
// by default) to train global.
func (s *FedAvg) Configure(round int, global fed.Weights, available []string) ([]fed.Task, error) {
	if len(available) == 0 {
		return nil, errors.New("fedavg: no client is available")
	}
	pick := slices.Clone(available)
	if s.Fraction > 0 && s.Fraction < 1 {
		if s.Rand == nil {
			return nil, errors.New("fedavg: a client fraction needs a random source")
		}
		k := max(int(s.Fraction*float64(len(available))+0.5), s.MinFit, 1)
		k = min(k, len(available))
		rand.New(s.Rand).Shuffle(len(pick), func(i, j int) { pick[i], pick[j] = pick[j], pick[i] })
		pick = pick[:k]
		slices.Sort(pick)
	}
	tasks := make([]fed.Task, len(pick))
	for i, c := range pick {
		tasks[i] = fed.Task{Client: c, Round: round, Kind: fed.Fit, Global: global, Prox: s.Prox, KeepNormLocal: len(s.Local) > 0}
	}
	return tasks, nil
}

// Aggregate returns the smoothed, sample-weighted mean of the updates.
func (s *FedAvg) Aggregate(round int, global fed.Weights, ups []fed.Update) (fed.Weights, error) {
	acc := s.Accumulate(round, global)
	for _, u := range ups {
		if err := acc.Add(u); err != nil {
			return nil, err
		}
	}
	return acc.Result()
}

// Accumulate returns an accumulator of the same mean: it keeps the
// running Σ n_k·w_k in float64 and divides by Σ n_k at the end, adding
// updates in the order given (client order), so the result does not
// depend on how they were delivered.
func (s *FedAvg) Accumulate(_ int, global fed.Weights) fed.Accumulator {
	return &fedAvgAcc{s: s, global: global}
}

type fedAvgAcc struct {
	s      *FedAvg
	global fed.Weights
	sum    []float64
	n      float64
	count  int
}

func (a *fedAvgAcc) Add(u fed.Update) error {
	if len(u.Weights) != len(a.global) {
		return fmt.Errorf("fedavg: client %s sent %d values, the model has %d", u.Client, len(u.Weights), len(a.global))
	}
	if a.sum == nil {
		a.sum = make([]float64, len(a.global))
	}
	w := float64(u.N)
	vec.AddScaled64(a.sum, u.Weights, w)
	a.n += w
	a.count++
	return nil
}

func (a *fedAvgAcc) Result() (fed.Weights, error) {
	if a.count == 0 {
		return nil, errors.New("fedavg: no update to aggregate")
	}
	if a.n <= 0 {
		return nil, errors.New("fedavg: updates report no samples")
	}
	next := make(fed.Weights, len(a.global))
	b := a.s.Smoothing
	for i, m := range a.sum {
		next[i] = float32(b*float64(a.global[i]) + (1-b)*(m/a.n))
	}
	for _, r := range a.s.Local {
		copy(next[r.From:r.To], a.global[r.From:r.To])
	}
	return next, nil
}

// MarshalBinary returns the strategy's state: its random source (empty
// without one).
func (s *FedAvg) MarshalBinary() ([]byte, error) {
	if s.Rand == nil {
		return nil, nil
	}
	return s.Rand.MarshalBinary()
}

// UnmarshalBinary restores a state written by MarshalBinary. The strategy
// must have a random source exactly when the saved one had.
func (s *FedAvg) UnmarshalBinary(b []byte) error {
	switch {
	case s.Rand == nil && len(b) == 0:
		return nil
	case s.Rand == nil:
		return errors.New("fedavg: the saved state has a random source, this strategy has none")
	case len(b) == 0:
		return errors.New("fedavg: the saved state has no random source, this strategy has one")
	}
	if err := s.Rand.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("fedavg: restoring the random source: %w", err)
	}
	return nil
}
