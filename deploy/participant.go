package deploy

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/site"
)

// Participant is one client of a real federation, a fed.Client: it holds
// its own raw samples, answers the server's Stats tasks with their
// moments — in the clear, or under secure aggregation as a party of the
// sum (the server then learns only the description of its data) — sets
// itself up from the server's Plan, and then runs fit and evaluate tasks
// as a site.Site. Its methods are safe for concurrent use.
type Participant struct {
	Name string
	// Data holds the samples this client may use, raw; Rows picks this
	// client's samples from it (nil: all of them).
	Data *data.Dataset
	Rows []int
	// Source is the kind of data, "csv" or "simulation" (which picks the
	// network's defaults on the server).
	Source string
	// StoreFor returns where to keep the training state between rounds for
	// the federation with the given id (nil: in memory), so that a client
	// that restarts resumes with its optimiser state and previous model.
	StoreFor func(federation string) (site.StateStore, error)
	// Workers is the number of trainers (0: 1).
	Workers int

	mu     sync.Mutex
	fedID  string
	sets   *site.Sets
	site   *site.Site
	man    *fdrmfl.Manifest
	store  site.StateStore
	secure *fed.SecureClient
	// lin holds the encoded statistics of a linear federation while the
	// server fetches them part by part.
	lin *linearEncoded
	// linFolds holds a linear federation's fold statistics while the
	// server sums them securely.
	linFolds *linearFoldsCache
}

// Execute runs a task.
func (p *Participant) Execute(ctx context.Context, t fed.Task) (fed.Update, error) {
	switch t.Kind {
	case fed.Stats:
		lin, err := linearRequest(t.Payload)
		if err != nil {
			return fed.Update{}, fmt.Errorf("client %s: the stats request: %w", p.Name, err)
		}
		if lin != nil {
			return p.linearStats(*lin)
		}
		var req StatsRequest
		if err := json.Unmarshal(t.Payload, &req); err != nil {
			return fed.Update{}, fmt.Errorf("client %s: the stats request: %w", p.Name, err)
		}
		if req.Secure != nil {
			return p.secureStats(req)
		}
		rep, err := p.stats(req)
		if err != nil {
			return fed.Update{}, err
		}
		b, err := json.Marshal(rep)
		if err != nil {
			return fed.Update{}, err
		}
		return fed.Update{Kind: fed.Stats, N: rep.Train, Payload: b}, nil
	case fed.Setup:
		var plan Plan
		if err := json.Unmarshal(t.Payload, &plan); err != nil {
			return fed.Update{}, fmt.Errorf("client %s: the plan: %w", p.Name, err)
		}
		if err := p.setup(plan); err != nil {
			return fed.Update{}, err
		}
		return fed.Update{Kind: fed.Setup}, nil
	}
	sec := p.secureClient()
	t.Client = p.Name
	if t.Kind == fed.SecAgg { // a step of secure aggregation: of a fit, or of the statistics before the setup
		return sec.Execute(ctx, t)
	}
	p.mu.Lock()
	s := p.site
	p.mu.Unlock()
	if s == nil {
		return fed.Update{}, fmt.Errorf("client %s: a %v task before the setup", p.Name, t.Kind)
	}
	return sec.Execute(ctx, t)
}

// secureClient returns the client's side of secure aggregation: fit
// tasks under secure aggregation and the protocol's steps go through it,
// everything else passes through it to the site.
func (p *Participant) secureClient() *fed.SecureClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.secure == nil {
		p.secure = &fed.SecureClient{Client: fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
			p.mu.Lock()
			s := p.site
			p.mu.Unlock()
			if s == nil {
				return fed.Update{}, fmt.Errorf("client %s: a %v task before the setup", p.Name, t.Kind)
			}
			return s.Execute(ctx, t)
		})}
	}
	return p.secure
}

// split returns the client's sets as req asks, raw.
func (p *Participant) split(req StatsRequest) (*site.Sets, error) {
	if p.Data == nil {
		return nil, fmt.Errorf("client %s has no data", p.Name)
	}
	idx := p.Rows
	if idx == nil {
		idx = make([]int, p.Data.Len())
		for i := range idx {
			idx[i] = i
		}
	}
	sets, err := site.Split(p.Name, req.SplitSpec, p.Data, idx)
	if err != nil || len(req.Preprocess) == 0 {
		return sets, err
	}
	return preprocessSets(p.Name, req.Preprocess, sets)
}

// preprocessSets applies spectral preprocessing to every set of a client.
func preprocessSets(name string, pre []fdrmfl.Preprocessing, sets *site.Sets) (*site.Sets, error) {
	for _, d := range []**data.Dataset{&sets.Train, &sets.Val, &sets.Test} {
		var err error
		if *d, err = fdrmfl.ApplyPreprocessing(pre, *d); err != nil {
			return nil, fmt.Errorf("client %s: %w", name, err)
		}
	}
	return sets, nil
}

func (p *Participant) stats(req StatsRequest) (StatsReply, error) {
	sets, err := p.split(req)
	if err != nil {
		return StatsReply{}, err
	}
	rep := StatsReply{
		Source: p.Source, Responses: p.Data.ResponseNames, Modalities: p.modalities(),
		Train: sets.Train.Len(), Val: sets.Val.Len(), Test: sets.Test.Len(),
	}
	switch {
	case req.Describe:
	case req.Sums != nil:
		if rep.Sum, rep.SumCount, err = p.sums(sets, req.Sums); err != nil {
			return StatsReply{}, err
		}
	default:
		modes, err := site.ScaleModes(req.Scale)
		if err != nil {
			return StatsReply{}, err
		}
		if rep.Moments, err = sets.Moments(modes); err != nil {
			return StatsReply{}, fmt.Errorf("client %s: %w", p.Name, err)
		}
	}
	return rep, nil
}

// sums returns the sum of the client's training samples of the modality
// sr names after its chain, and their count.
func (p *Participant) sums(sets *site.Sets, sr *SumRequest) ([]float64, int, error) {
	m := sets.Train.Modality(sr.Modality)
	if m == nil {
		return nil, 0, fmt.Errorf("client %s: sums of modality %q, which the data lack (they have %v)", p.Name, sr.Modality, p.Data.ModalityNames())
	}
	sum, n, err := sr.Prefix.Sum(m.Data, m.SampleSize(), m.Shape[len(m.Shape)-1], m.Present)
	if err != nil {
		return nil, 0, fmt.Errorf("client %s: %w", p.Name, err)
	}
	return sum, n, nil
}

func (p *Participant) modalities() []fdrmfl.ModalityInfo {
	var out []fdrmfl.ModalityInfo
	for _, m := range p.Data.Modalities {
		out = append(out, fdrmfl.ModalityInfo{Name: m.Name, Kind: m.Kind, Shape: m.Shape})
	}
	return out
}

func (p *Participant) setup(plan Plan) error {
	m := plan.Manifest
	if m == nil {
		return fmt.Errorf("client %s: the plan has no model", p.Name)
	}
	if err := m.Check(); err != nil {
		return fmt.Errorf("client %s: the plan: %w", p.Name, err)
	}
	for _, mi := range m.Modalities {
		dm := p.Data.Modality(mi.Name)
		if dm == nil {
			return fmt.Errorf("client %s: the model needs modality %q, the data have %v", p.Name, mi.Name, p.Data.ModalityNames())
		}
		if dm.Kind != mi.Kind || dm.SampleSize() != prod(mi.Shape) {
			return fmt.Errorf("client %s: modality %q is %v %v here, the model's is %v %v", p.Name, mi.Name, dm.Kind, dm.Shape, mi.Kind, mi.Shape)
		}
	}
	if !slices.Equal(p.Data.ResponseNames, m.Responses) {
		return fmt.Errorf("client %s: responses %v here, the model predicts %v", p.Name, p.Data.ResponseNames, m.Responses)
	}
	req := plan.Stats
	req.Preprocess = m.Preprocess // the model's, whatever the request says
	sets, err := p.split(req)
	if err != nil {
		return err
	}
	modes, err := site.ScaleModes(plan.Stats.Scale)
	if err != nil {
		return err
	}
	own, err := sets.Moments(modes)
	if err != nil {
		return fmt.Errorf("client %s: %w", p.Name, err)
	}
	if err := sets.Standardize(m.Standardizer, own, plan.Stats.Standardize); err != nil {
		return err
	}
	if m.IsLinear() { // fitted already: nothing to train
		p.mu.Lock()
		defer p.mu.Unlock()
		p.fedID, p.sets, p.man, p.site = plan.Federation, sets, m, nil
		p.lin = nil
		return nil
	}
	pool, err := site.NewTrainerPool(m.Model, m.Train, max(p.Workers, 1))
	if err != nil {
		return fmt.Errorf("client %s: %w", p.Name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.store == nil || p.fedID != plan.Federation {
		p.store = &site.MemoryStore{}
		if p.StoreFor != nil {
			if p.store, err = p.StoreFor(plan.Federation); err != nil {
				return fmt.Errorf("client %s: %w", p.Name, err)
			}
		}
	}
	p.fedID, p.sets, p.man = plan.Federation, sets, m
	p.site = &site.Site{
		Name: p.Name, Train: sets.Train, Val: sets.Val, Test: sets.Test, Store: p.store, Trainers: pool,
		Seed: seed.For(m.Seed, seed.Client, uint64(plan.Stats.Index)),
	}
	return nil
}

// Manifest returns the model the client was set up for (nil before).
func (p *Participant) Manifest() *fdrmfl.Manifest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.man
}

// Features applies a global model to every set of the client — features,
// predictions, test error — as fdrmfl.Simulate reports them for each
// client.
func (p *Participant) Features(global []float32) (fdrmfl.ClientResult, error) {
	p.mu.Lock()
	s, sets, m := p.site, p.sets, p.man
	p.mu.Unlock()
	if m != nil && m.IsLinear() {
		return fdrmfl.LinearClientFeatures(&fdrmfl.Model{Manifest: m, Weights: global}, sets)
	}
	if s == nil {
		return fdrmfl.ClientResult{}, fmt.Errorf("client %s: features before the setup", p.Name)
	}
	cr, err := fdrmfl.ClientFeatures(s, sets, global, m.Standardizer)
	if err != nil {
		return cr, err
	}
	// A personal head, fitted on the client's own validation rows.
	if err := fdrmfl.PersonalizeOnValidation(&cr, m.Federation.Personalize, m.Standardizer); err != nil {
		return cr, fmt.Errorf("client %s: %w", p.Name, err)
	}
	return cr, nil
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
