package fdrmfl

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/train"
)

// This file holds what a real federation adds to the simulation: the
// setup phase, in which the server asks every client for the moments of
// its training data (a fed.Stats task with a StatsRequest) and answers
// with a Plan (a fed.Setup task) — the completed model, the training
// settings and the pooled standardisation — and Participant, the client
// that answers those tasks and then trains as a Site. The simulation runs
// the same steps (splitClient, ClientMoments, PooledStandardizer,
// completeModel), so a federation of processes reaches the simulation's
// model for the same data and seed.

// StatsRequest is the payload of a fed.Stats task: how a client is to
// split its samples and which statistics to send.
type StatsRequest struct {
	Seed  uint64 `json:"seed"`
	Index int    `json:"index"` // the client's number in the federation, from 0: its random streams
	// TestFraction and ValFraction, Standardize and Scale are the
	// configuration's data settings; Lacks the modalities this client is
	// to treat as absent (federation.lacks).
	TestFraction float64           `json:"test_fraction"`
	ValFraction  float64           `json:"val_fraction"`
	Standardize  string            `json:"standardize"`
	Scale        map[string]string `json:"scale,omitempty"`
	Lacks        []string          `json:"lacks,omitempty"`
}

// StatsRequest returns the request for the client numbered index (from 0).
// Call it on a Config after Defaults.
func (c Config) StatsRequest(index int) StatsRequest {
	return c.statsRequest(index)
}

func (c Config) statsRequest(k int) StatsRequest {
	return StatsRequest{
		Seed: c.Seed, Index: k, TestFraction: c.Data.TestFraction, ValFraction: c.Data.ValFraction,
		Standardize: c.Data.Standardize, Scale: c.Data.Scale, Lacks: c.Federation.Lacks[k+1],
	}
}

// StatsReply is a client's answer to a StatsRequest: a description of its
// data, the sizes of its sets, and the moments of its training set. No
// sample leaves the client.
type StatsReply struct {
	Source     string         `json:"source"`
	Modalities []ModalityInfo `json:"modalities"`
	Responses  []string       `json:"responses"`
	Train      int            `json:"train"`
	Val        int            `json:"val"`
	Test       int            `json:"test"`
	Moments    []Moments      `json:"moments"`
}

// Plan is the payload of a fed.Setup task: everything a client needs to
// train — the model's manifest (network, training settings, pooled
// standardisation, seed) and its own StatsRequest, so that a client that
// restarted can split its data again.
type Plan struct {
	// Federation identifies the federation (the server draws it once and
	// keeps it across restarts), so that a client keeps its state apart
	// from an earlier federation's.
	Federation string       `json:"federation"`
	Manifest   *Manifest    `json:"manifest"`
	Stats      StatsRequest `json:"stats"`
}

// PlanFederation turns the clients' answers to the stats phase, in client
// order, into the federation's model: the network cfg describes completed
// for the clients' data, with the standardisation pooled from their
// moments (the simulation's arithmetic, in the same order). Every client
// must describe the same data. Call it on a Config after Defaults.
func PlanFederation(cfg Config, replies []StatsReply) (*Manifest, error) {
	if len(replies) == 0 {
		return nil, errors.New("plan: no client statistics")
	}
	first := replies[0]
	for i, r := range replies[1:] {
		if r.Source != first.Source || !slices.Equal(r.Responses, first.Responses) || !sameModalities(r.Modalities, first.Modalities) {
			return nil, fmt.Errorf("plan: client %d describes its data as %s, client 1 as %s", i+2, describe(r), describe(first))
		}
	}
	var mods []data.Modality
	for _, mi := range first.Modalities {
		mods = append(mods, data.Modality{Name: mi.Name, Kind: mi.Kind, Shape: slices.Clone(mi.Shape)})
	}
	schema, err := data.New(0, mods, slices.Clone(first.Responses), nil)
	if err != nil {
		return nil, fmt.Errorf("plan: the clients' data: %w", err)
	}
	modes, err := scaleModes(cfg.Data.Scale)
	if err != nil {
		return nil, err
	}
	for name := range modes {
		if schema.Modality(name) == nil {
			return nil, fmt.Errorf("data.scale: the data have no modality %q", name)
		}
	}
	parts := make([][]Moments, len(replies))
	for k, r := range replies {
		if err := checkMoments(r.Moments); err != nil {
			return nil, fmt.Errorf("plan: client %d: %w", k+1, err)
		}
		parts[k] = r.Moments
	}
	std, err := PooledStandardizer(first.Responses, parts)
	if err != nil {
		return nil, err
	}
	cfg.Data.Source = first.Source
	mc, err := completeModel(cfg, schema)
	if err != nil {
		return nil, err
	}
	cfg.Model = mc
	w, err := train.InitialWeights(mc, seedFor(cfg.Seed, seedInit))
	if err != nil {
		return nil, err
	}
	return newManifest(cfg, schema, std, len(w)), nil
}

func checkMoments(ms []Moments) error {
	for _, m := range ms {
		if len(m.Sum) != len(m.N) || len(m.Sum2) != len(m.N) {
			return fmt.Errorf("moments of %q have %d counts, %d sums and %d sums of squares", m.Name, len(m.N), len(m.Sum), len(m.Sum2))
		}
		for _, v := range slices.Concat(m.N, m.Sum, m.Sum2) {
			if v-v != 0 {
				return fmt.Errorf("moments of %q hold %v", m.Name, v)
			}
		}
	}
	return nil
}

func sameModalities(a, b []ModalityInfo) bool {
	return slices.EqualFunc(a, b, func(x, y ModalityInfo) bool {
		return x.Name == y.Name && x.Kind == y.Kind && slices.Equal(x.Shape, y.Shape)
	})
}

func describe(r StatsReply) string {
	s := r.Source + " data with"
	for _, m := range r.Modalities {
		s += fmt.Sprintf(" %s %v %v,", m.Name, m.Kind, m.Shape)
	}
	return fmt.Sprintf("%s responses %v", s, r.Responses)
}

// InitialWeights returns the federation's first global model.
func InitialWeights(m *Manifest) ([]float32, error) {
	return train.InitialWeights(m.Model, seedFor(m.Seed, seedInit))
}

// TensorShape names one tensor of a model's flat weight vector.
type TensorShape struct {
	Name  string
	Shape []int
}

// Tensors lists the tensors of the manifest's model in the order of its
// flat weight vector.
func (m *Manifest) Tensors() ([]TensorShape, error) {
	tr, err := train.New(m.Model, m.Train)
	if err != nil {
		return nil, err
	}
	var out []TensorShape
	for _, e := range tr.Layout() {
		out = append(out, TensorShape{Name: e.Name, Shape: slices.Clone(e.Param.Shape)})
	}
	return out, nil
}

// NewStrategy returns the server's policy for cfg and the manifest's
// model: FedAvg, with FedProx's μ or FedBN's local spans as configured,
// seeded as the simulation seeds it. Call it on a Config after Defaults.
func NewStrategy(cfg Config, m *Manifest) (fed.Strategy, error) {
	tr, err := train.New(m.Model, m.Train)
	if err != nil {
		return nil, err
	}
	return newStrategy(cfg, tr.Layout()), nil
}

// RoundMetricsOf summarises a round of a federation training the
// manifest's model.
func RoundMetricsOf(r fed.RoundReport, m *Manifest) RoundMetrics {
	return roundMetrics(r, m.Model.Responses, m.Standardizer.Y.Std)
}

// Participant is one client of a real federation, a fed.Client: it holds
// its own raw samples, answers the server's Stats task with their
// moments, sets itself up from the server's Plan, and then runs fit and
// evaluate tasks as a Site. Its methods are safe for concurrent use.
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
	StoreFor func(federation string) (StateStore, error)
	// Workers is the number of trainers (0: 1).
	Workers int

	mu    sync.Mutex
	fedID string
	cd    *clientData
	site  *Site
	man   *Manifest
	store StateStore
}

// Execute runs a task.
func (p *Participant) Execute(ctx context.Context, t fed.Task) (fed.Update, error) {
	switch t.Kind {
	case fed.Stats:
		var req StatsRequest
		if err := json.Unmarshal(t.Payload, &req); err != nil {
			return fed.Update{}, fmt.Errorf("client %s: the stats request: %w", p.Name, err)
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
	p.mu.Lock()
	site := p.site
	p.mu.Unlock()
	if site == nil {
		return fed.Update{}, fmt.Errorf("client %s: a %v task before the setup", p.Name, t.Kind)
	}
	return site.Execute(ctx, t)
}

// split returns the client's sets as req asks, raw.
func (p *Participant) split(req StatsRequest) (*clientData, error) {
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
	return splitClient(p.Name, req, p.Data, idx)
}

func (p *Participant) stats(req StatsRequest) (StatsReply, error) {
	cd, err := p.split(req)
	if err != nil {
		return StatsReply{}, err
	}
	modes, err := scaleModes(req.Scale)
	if err != nil {
		return StatsReply{}, err
	}
	ms, err := cd.moments(modes)
	if err != nil {
		return StatsReply{}, fmt.Errorf("client %s: %w", p.Name, err)
	}
	rep := StatsReply{
		Source: p.Source, Responses: p.Data.ResponseNames, Moments: ms,
		Train: cd.train.Len(), Val: cd.val.Len(), Test: cd.test.Len(),
	}
	for _, m := range p.Data.Modalities {
		rep.Modalities = append(rep.Modalities, ModalityInfo{Name: m.Name, Kind: m.Kind, Shape: m.Shape})
	}
	return rep, nil
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
	cd, err := p.split(plan.Stats)
	if err != nil {
		return err
	}
	modes, err := scaleModes(plan.Stats.Scale)
	if err != nil {
		return err
	}
	own, err := cd.moments(modes)
	if err != nil {
		return fmt.Errorf("client %s: %w", p.Name, err)
	}
	if err := cd.standardize(m.Standardizer, own, plan.Stats.Standardize); err != nil {
		return err
	}
	pool, err := NewTrainerPool(m.Model, m.Train, max(p.Workers, 1))
	if err != nil {
		return fmt.Errorf("client %s: %w", p.Name, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.store == nil || p.fedID != plan.Federation {
		p.store = &MemoryStore{}
		if p.StoreFor != nil {
			if p.store, err = p.StoreFor(plan.Federation); err != nil {
				return fmt.Errorf("client %s: %w", p.Name, err)
			}
		}
	}
	p.fedID, p.cd, p.man = plan.Federation, cd, m
	p.site = &Site{
		Name: p.Name, Train: cd.train, Val: cd.val, Test: cd.test, Store: p.store, Trainers: pool,
		Seed: seedFor(m.Seed, seedClient, uint64(plan.Stats.Index)),
	}
	return nil
}

// Manifest returns the model the client was set up for (nil before).
func (p *Participant) Manifest() *Manifest {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.man
}

// Features applies a global model to every set of the client — features,
// predictions, test error — as Simulate reports them for each client.
func (p *Participant) Features(global []float32) (ClientResult, error) {
	p.mu.Lock()
	site, cd, m := p.site, p.cd, p.man
	p.mu.Unlock()
	if site == nil {
		return ClientResult{}, fmt.Errorf("client %s: features before the setup", p.Name)
	}
	return clientFeatures(site, cd, global, m.Standardizer)
}
