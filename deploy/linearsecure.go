package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/fed"
)

// Under secure aggregation a linear model's statistics never reach the
// server one client at a time. For each cross-validation fold f the server
// runs the two sums of baseline.SecureMerge over the fleet
// (fed.SecureFloats): first every client's count and sums of fold f
// (N, N·x̄, N·ȳ), which give the pooled means; then every client's centred
// cross-products of fold f moved to those means. Each sum is taken in the
// pieces baseline.Pieces cuts, so that no message grows past about 8 MiB
// whatever the number of inputs. The server learns each fold's merge and
// nothing of one client's but, per block, how many clients' largest value
// falls in each power of two. It is fdrmfl.Simulate's arithmetic under
// secure aggregation (baseline.SecureByFold over fed/secagg), so the model
// is the simulation's bit for bit. A client that leaves a sum is left out
// with the reason, and the sums start again without it, so that every fold
// merges the same clients.

// linearSecureStep asks a client for its vector in one secure sum of the
// linear statistics.
type linearSecureStep struct {
	// Fold is the cross-validation fold (from 0); a client with fewer
	// folds takes part with zeros.
	Fold int `json:"fold"`
	// Stage is 1 for the count and sums, 2 for the cross-products at the
	// pooled means.
	Stage int `json:"stage"`
	// Inputs and Responses are the model's p and q.
	Inputs    int `json:"inputs"`
	Responses int `json:"responses"`
	// Means are the pooled means of the fold's inputs then responses
	// (stage 2).
	Means []float64 `json:"means,omitempty"`
	// Piece is the part of the stage's vector (baseline.Pieces) summed.
	Piece int `json:"piece"`
	// Step is the aggregation's.
	Step fed.FloatStep `json:"step"`
}

// linearFoldsCache is a client's fold statistics, kept through the
// secure sums of a request.
type linearFoldsCache struct {
	key   string // the SHA-256 of the request
	folds []*baseline.SuffStats
}

// secureLinearStats answers a step of the secure sums of the linear
// statistics: the client's vector for the fold, stage and piece asked
// for, as the first message of its part in the aggregation.
func (p *Participant) secureLinearStats(t linearStatsTask) (fed.Update, error) {
	st := t.Secure
	sum := sha256.Sum256(t.Linear)
	key := string(sum[:])
	p.mu.Lock()
	c := p.linFolds
	p.mu.Unlock()
	if c == nil || c.key != key {
		folds, _, _, err := p.linearFolds(t.Linear)
		if err != nil {
			return fed.Update{}, err
		}
		c = &linearFoldsCache{key: key, folds: folds}
		p.mu.Lock()
		p.linFolds = c
		p.mu.Unlock()
	}
	l := baseline.MergeLayout{P: st.Inputs, Q: st.Responses}
	var s *baseline.SuffStats
	if st.Fold >= 0 && st.Fold < len(c.folds) && c.folds[st.Fold].N > 0 {
		s = c.folds[st.Fold]
		if len(s.MeanX) != l.P || len(s.MeanY) != l.Q {
			return fed.Update{}, fmt.Errorf("client %s: the server asks for statistics of %d inputs and %d responses, this client's have %d and %d", p.Name, l.P, l.Q, len(s.MeanX), len(s.MeanY))
		}
	}
	var v []float64
	var blocks []int
	switch st.Stage {
	case 1:
		v, blocks = l.First(s), l.FirstBlocks()
	case 2:
		if len(st.Means) != l.P+l.Q {
			return fed.Update{}, fmt.Errorf("client %s: %d pooled means for %d inputs and %d responses", p.Name, len(st.Means), l.P, l.Q)
		}
		v, blocks = l.Second(s, st.Means[:l.P], st.Means[l.P:]), l.SecondBlocks()
	default:
		return fed.Update{}, fmt.Errorf("client %s: stage %d of the secure linear statistics asked for (1 or 2)", p.Name, st.Stage)
	}
	pieces := baseline.Pieces(blocks, baseline.MaxSumValues)
	if st.Piece < 0 || st.Piece >= len(pieces) {
		return fed.Update{}, fmt.Errorf("client %s: piece %d of %d asked for", p.Name, st.Piece, len(pieces))
	}
	pc := pieces[st.Piece]
	if !slices.Equal(pc.Blocks, st.Step.Blocks) {
		return fed.Update{}, fmt.Errorf("client %s: the server lays piece %d out in blocks %v, this client's statistics give %v", p.Name, st.Piece, st.Step.Blocks, pc.Blocks)
	}
	msg, err := p.secureClient().BeginFloats(p.Name, st.Step, v[pc.Start:pc.End])
	if err != nil {
		return fed.Update{}, err
	}
	return fed.Update{Kind: fed.Stats, Payload: msg}, nil
}

// setupLinearSecure is setupLinear under secure aggregation: the folds
// are merged by secure sums among the clients named, and the model fitted
// from the merges.
func (s *Server) setupLinearSecure(ctx context.Context, fleet fed.Fleet, man *fdrmfl.Manifest, names []string, leftOut map[string]string, quorum int) (checkpoint, error) {
	l := baseline.MergeLayout{Q: len(man.Responses)}
	for _, mi := range man.Modalities {
		l.P += prod(mi.Shape)
	}
	folds := s.cfg.Linear.Folds
	s.log.Info("setup: summing the linear statistics securely", "kind", man.Model.Kind, "inputs", l.P, "folds", folds, "clients", len(names),
		"pieces", len(baseline.Pieces(l.SecondBlocks(), baseline.MaxSumValues)))
	start := time.Now()
	raw := map[string]json.RawMessage{}
	for _, name := range names {
		b, err := json.Marshal(s.linearStatsRequest(man, name, 0))
		if err != nil {
			return checkpoint{}, err
		}
		raw[name] = b
	}
	kept := slices.Clone(names)
	for {
		if len(kept) < max(quorum, 2) {
			return checkpoint{}, fmt.Errorf("setup: %d clients left for the secure sums of the linear statistics, the quorum is %d (and secure aggregation needs 2)", len(kept), quorum)
		}
		merged, dropped, err := s.mergeLinearFolds(ctx, fleet, l, folds, kept, raw)
		if err != nil {
			return checkpoint{}, err
		}
		if len(dropped) == 0 {
			pool := fdrmfl.NewLinearPool(man)
			if err := pool.AddMerged(merged, len(kept)); err != nil {
				return checkpoint{}, fmt.Errorf("setup: the merged linear statistics: %w", err)
			}
			s.log.Info("setup: linear statistics summed securely", "clients", len(kept), "folds", len(merged), "took", time.Since(start).Round(time.Millisecond))
			return s.fitLinear(pool, man, leftOut, quorum, start)
		}
		// Every fold must merge the same clients: start again without
		// those that left.
		for _, name := range slices.Sorted(maps.Keys(dropped)) {
			why := "left the secure sums of the linear statistics (" + dropped[name] + ")"
			leftOut[name] = why
			s.log.Warn("setup: client left out", "client", name, "reason", why)
		}
		kept = slices.DeleteFunc(kept, func(c string) bool { _, out := dropped[c]; return out })
	}
}

// mergeLinearFolds merges each fold of the clients' statistics by the two
// secure sums of baseline.SecureMerge. It stops at the first sum that
// some client left, and returns those clients with the reasons.
func (s *Server) mergeLinearFolds(ctx context.Context, fleet fed.Fleet, l baseline.MergeLayout, folds int, clients []string, raw map[string]json.RawMessage) ([]*baseline.SuffStats, map[string]string, error) {
	cfg := fed.FloatSumConfig{
		Fleet: fleet, Secure: *s.cfg.SecureAggregationSettings(),
		Timeout: s.c.Settings.RoundTimeout.Or(10 * time.Minute), Log: s.log,
	}
	// sum returns the sum of one stage's vectors of fold f, piece by piece.
	sum := func(f, stage int, means []float64, blocks []int) ([]float64, map[string]string, error) {
		var out []float64
		for i, pc := range baseline.Pieces(blocks, baseline.MaxSumValues) {
			cfg.Task = func(client string, step fed.FloatStep) (fed.Task, error) {
				b, err := json.Marshal(linearStatsTask{Linear: raw[client], Secure: &linearSecureStep{
					Fold: f, Stage: stage, Inputs: l.P, Responses: l.Q, Means: means, Piece: i, Step: step,
				}})
				return fed.Task{Client: client, Kind: fed.Stats, Payload: b}, err
			}
			res, err := fed.SecureFloats(ctx, cfg, clients, pc.Blocks)
			if err != nil {
				return nil, nil, fmt.Errorf("setup: the secure sum of the linear statistics, fold %d, stage %d, piece %d: %w", f+1, stage, i+1, err)
			}
			if len(res.Dropped) > 0 {
				return nil, res.Dropped, nil
			}
			out = append(out, res.Sum...)
		}
		return out, nil, nil
	}
	var merged []*baseline.SuffStats
	for f := range folds {
		tot, dropped, err := sum(f, 1, nil, l.FirstBlocks())
		if err != nil || dropped != nil {
			return nil, dropped, err
		}
		n, mx, my, err := l.Means(tot)
		if err != nil {
			return nil, nil, fmt.Errorf("setup: fold %d: %w", f+1, err)
		}
		if n < 0.5 {
			continue // no client has this fold
		}
		cs, dropped, err := sum(f, 2, append(slices.Clone(mx), my...), l.SecondBlocks())
		if err != nil || dropped != nil {
			return nil, dropped, err
		}
		m, err := l.Stats(n, mx, my, cs)
		if err != nil {
			return nil, nil, fmt.Errorf("setup: fold %d: %w", f+1, err)
		}
		merged = append(merged, m)
	}
	return merged, nil, nil
}
