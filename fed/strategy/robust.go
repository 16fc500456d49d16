package strategy

import (
	"encoding"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/fed"
)

// Rule merges the clients' models of a round into one: a robust
// replacement for the mean, which a single client can move anywhere.
//
// Every rule here gives each client one vote: the sample counts, which a
// client reports itself, do not weigh. Rules are translation-equivariant,
// so they work on the updates Δ_k = w_k − w (w the global model) and
// return the merged update. Sums run in float64 in client order (the
// order of ups), so the result does not depend on the order in which
// updates arrived.
type Rule interface {
	// Merge returns the merged update, one float64 per value of global.
	// ups are the round's accepted updates, at least one, sorted by
	// client; values inside skip (spans the clients keep, FedBN) are
	// ignored and left 0. Merge must not modify global or the updates.
	Merge(global fed.Weights, ups []fed.Update, skip []fed.Span) ([]float64, error)
}

// Robust is federated training with a robust aggregation rule: clients
// are picked and asked to train as by FedAvg (Base: fraction, FedProx's
// μ, FedBN's local spans, smoothing), and their models are merged by
// Rule instead of the weighted mean:
//
//	w⁺ = β·w + (1−β)·(w + Rule(Δ_1, …, Δ_n)),
//
// with β = Base.Smoothing, and the spans of Base.Local kept as in FedAvg.
//
// Robust does not stream (it is not a fed.StreamingStrategy): every rule
// needs all of a round's updates at once, so the server holds them, n
// clients × the model's size in float32, and the rules add at most the
// model's size in float64 (Krum and Multi-Krum n² distances besides).
// For very many clients of a large model, the mean with the server's
// adaptive norm bound (fed.Server.NormBound) streams in bounded memory.
type Robust struct {
	Base FedAvg
	Rule Rule
}

// Configure picks the round's clients as Base does.
func (s *Robust) Configure(round int, global fed.Weights, available []string) ([]fed.Task, error) {
	return s.Base.Configure(round, global, available)
}

// LocalSpans returns Base's local spans (FedBN).
func (s *Robust) LocalSpans() []fed.Span { return s.Base.Local }

// Aggregate merges the updates with the rule, then smooths and keeps the
// local spans as FedAvg does.
func (s *Robust) Aggregate(round int, global fed.Weights, ups []fed.Update) (fed.Weights, error) {
	if s.Rule == nil {
		return nil, errors.New("robust: no aggregation rule")
	}
	if len(ups) == 0 {
		return nil, errors.New("robust: no update to aggregate")
	}
	for _, u := range ups {
		if len(u.Weights) != len(global) {
			return nil, fmt.Errorf("robust: client %s sent %d values, the model has %d", u.Client, len(u.Weights), len(global))
		}
	}
	ups = slices.Clone(ups)
	slices.SortStableFunc(ups, func(a, b fed.Update) int { return strings.Compare(a.Client, b.Client) })
	delta, err := s.Rule.Merge(global, ups, s.Base.Local)
	if err != nil {
		return nil, err
	}
	b := s.Base.Smoothing
	next := make(fed.Weights, len(global))
	for i, d := range delta {
		g := float64(global[i])
		next[i] = float32(b*g + (1-b)*(g+d))
	}
	for _, r := range s.Base.Local {
		copy(next[r.From:r.To], global[r.From:r.To])
	}
	return next, nil
}

// MarshalBinary returns the strategy's state: Base's random source and
// the rule's own state (centered clipping's previous update), if any.
func (s *Robust) MarshalBinary() ([]byte, error) {
	base, err := s.Base.MarshalBinary()
	if err != nil {
		return nil, err
	}
	b := binary.AppendUvarint(nil, uint64(len(base)))
	b = append(b, base...)
	if m, ok := s.Rule.(encoding.BinaryMarshaler); ok {
		rs, err := m.MarshalBinary()
		if err != nil {
			return nil, err
		}
		b = append(b, rs...)
	}
	return b, nil
}

// UnmarshalBinary restores a state written by MarshalBinary.
func (s *Robust) UnmarshalBinary(b []byte) error {
	n, k := binary.Uvarint(b)
	if k <= 0 || uint64(len(b)-k) < n {
		return errors.New("robust: the saved state is truncated")
	}
	if err := s.Base.UnmarshalBinary(b[k : k+int(n)]); err != nil {
		return err
	}
	rest := b[k+int(n):]
	if u, ok := s.Rule.(encoding.BinaryUnmarshaler); ok {
		return u.UnmarshalBinary(rest)
	}
	if len(rest) > 0 {
		return errors.New("robust: the saved state has a rule state, this rule keeps none")
	}
	return nil
}

// eachValue calls fn for every value i outside skip with the updates'
// values there, as float64 offsets from global, in client order; vals is
// reused between calls.
func eachValue(global fed.Weights, ups []fed.Update, skip []fed.Span, fn func(i int, vals []float64)) {
	vals := make([]float64, len(ups))
	local := localMask(len(global), skip)
	for i, g := range global {
		if local[i] {
			continue
		}
		for k, u := range ups {
			vals[k] = float64(u.Weights[i]) - float64(g)
		}
		fn(i, vals)
	}
}

// localMask returns which values lie in skip.
func localMask(n int, skip []fed.Span) []bool {
	m := make([]bool, n)
	for _, sp := range skip {
		for i := sp.From; i < sp.To && i < n; i++ {
			m[i] = true
		}
	}
	return m
}
