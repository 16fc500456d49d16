package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/preprocess"
	"github.com/fdrmfl/fdrmfl/site"
)

// planSecure plans the federation under secure aggregation, from sums
// alone. The clients' descriptions (replies, in the clear: modalities,
// shapes, responses, set sizes) decide who takes part, as in
// PlanFederation; then the msc references' spectra and the
// standardisation moments are summed by secure aggregation among them
// (fed.SecureFloats, the simulation's arithmetic: the same vectors in the
// same blocks), so that the server never holds one client's. The
// statistics are not screened (site.Screen needs each client's). A client
// that drops out of a sum is left out of the federation: excluded maps its
// place in replies to the reason, naming the sum and the phase.
func (s *Server) planSecure(ctx context.Context, fleet fed.Fleet, replies []StatsReply, names []string) (*fdrmfl.Manifest, []fdrmfl.Preprocessing, map[int]string, error) {
	if len(replies) == 0 {
		return nil, nil, nil, fmt.Errorf("setup: no client described its data")
	}
	same, excluded := agree(replies)
	first := replies[same[0]]
	schema, err := layoutOf(first)
	if err != nil {
		return nil, nil, excluded, err
	}
	modes, err := scaleModes(s.cfg, schema)
	if err != nil {
		return nil, nil, excluded, err
	}
	place := map[string]int{}
	var kept []string
	for _, k := range same {
		kept = append(kept, names[k])
		place[names[k]] = k
	}
	cfg := fed.FloatSumConfig{
		Fleet: fleet, Secure: *s.cfg.SecureAggregationSettings(),
		Timeout: s.c.Settings.RoundTimeout.Or(10 * time.Minute), Log: s.log,
	}
	// sum returns the sum over the kept clients of the vectors the
	// requests ask for, laid out in blocks, and leaves out those not in it.
	sum := func(what string, blocks []int, ask func(*StatsRequest)) ([]float64, error) {
		cfg.Task = func(client string, step fed.FloatStep) (fed.Task, error) {
			req := NewStatsRequest(s.cfg, s.index[client])
			ask(&req)
			req.Secure = &step
			b, err := json.Marshal(req)
			return fed.Task{Client: client, Kind: fed.Stats, Payload: b}, err
		}
		res, err := fed.SecureFloats(ctx, cfg, kept, blocks)
		if err != nil {
			return nil, fmt.Errorf("setup: the statistics phase, the %s: %w", what, err)
		}
		for c, why := range res.Dropped {
			excluded[place[c]] = fmt.Sprintf("left the secure sum of the %s (%s)", what, why)
		}
		kept = slices.DeleteFunc(kept, func(c string) bool { return !slices.Contains(res.Clients, c) })
		s.log.Info("setup: summed securely", "what", what, "clients", len(res.Clients), "left", len(res.Dropped))
		return res.Sum, nil
	}
	var pre []fdrmfl.Preprocessing
	if len(s.cfg.Data.Preprocess) > 0 {
		pre, err = fdrmfl.FitPreprocessing(s.cfg.Data.Preprocess, schema, func(mod string, prefix preprocess.Chain) ([]float64, int, error) {
			size := schema.Modality(mod).SampleSize()
			_, blocks := preprocess.FlatSum(make([]float64, size), 0)
			x, err := sum("spectra of "+mod, blocks, func(r *StatsRequest) { r.Sums = &SumRequest{Modality: mod, Prefix: prefix} })
			if err != nil {
				return nil, 0, err
			}
			tot, n := preprocess.UnflatSum(x)
			return tot, n, nil
		})
		if err != nil {
			return nil, nil, excluded, err
		}
		for _, p := range pre {
			s.log.Info("setup: preprocessing", "modality", p.Modality, "chain", p.Spec)
		}
	}
	// The moments' layout follows from the description alone: the
	// statistics of no samples.
	like := site.ClientMoments(schema, modes)
	_, blocks := site.FlatMoments(like)
	x, err := sum("moments", blocks, func(r *StatsRequest) { r.Preprocess = pre })
	if err != nil {
		return nil, nil, excluded, err
	}
	summed, err := site.UnflatMoments(like, x)
	if err != nil {
		return nil, nil, excluded, err
	}
	man, err := planFrom(s.cfg, first, [][]site.Moments{summed})
	return man, pre, excluded, err
}

// secureStats answers a StatsRequest with Secure set: the client's
// statistics as one vector, as the first message of its part in the
// aggregation.
func (p *Participant) secureStats(req StatsRequest) (fed.Update, error) {
	sets, err := p.split(req)
	if err != nil {
		return fed.Update{}, err
	}
	var x []float64
	var blocks []int
	if sr := req.Sums; sr != nil {
		sum, n, err := p.sums(sets, sr)
		if err != nil {
			return fed.Update{}, err
		}
		x, blocks = preprocess.FlatSum(sum, n)
	} else {
		modes, err := site.ScaleModes(req.Scale)
		if err != nil {
			return fed.Update{}, err
		}
		ms, err := sets.Moments(modes)
		if err != nil {
			return fed.Update{}, fmt.Errorf("client %s: %w", p.Name, err)
		}
		x, blocks = site.FlatMoments(ms)
	}
	if !slices.Equal(blocks, req.Secure.Blocks) {
		return fed.Update{}, fmt.Errorf("client %s: the server lays the statistics out in blocks %v, this client's data give %v", p.Name, req.Secure.Blocks, blocks)
	}
	msg, err := p.secureClient().BeginFloats(p.Name, *req.Secure, x)
	if err != nil {
		return fed.Update{}, err
	}
	return fed.Update{Kind: fed.Stats, Payload: msg}, nil
}
