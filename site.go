package fdrmfl

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// StateStore keeps each client's training state between rounds. A
// simulation with many clients can keep it on disk so that memory does
// not grow with the number of clients.
type StateStore interface {
	// Load returns the client's state, or a new empty state if none is stored.
	Load(client string) (*train.ClientState, error)
	// Save stores the client's state.
	Save(client string, s *train.ClientState) error
}

// MemoryStore is a StateStore in memory; the zero value is ready to use.
type MemoryStore struct {
	mu sync.Mutex
	m  map[string]*train.ClientState
}

// Load returns the stored state of client (the same pointer each time).
func (s *MemoryStore) Load(client string) (*train.ClientState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*train.ClientState{}
	}
	st, ok := s.m[client]
	if !ok {
		st = &train.ClientState{}
		s.m[client] = st
	}
	return st, nil
}

// Save stores the state of client.
func (s *MemoryStore) Save(client string, st *train.ClientState) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]*train.ClientState{}
	}
	s.m[client] = st
	return nil
}

// TrainerPool lends Trainers to clients, making at most Size of them, so
// that a thousand clients share a handful of networks.
type TrainerPool struct {
	mcfg model.Config
	tcfg train.Config
	free chan *train.Trainer
	made chan struct{}
}

// NewTrainerPool returns a pool of at most size trainers.
func NewTrainerPool(mcfg model.Config, tcfg train.Config, size int) (*TrainerPool, error) {
	p := &TrainerPool{mcfg: mcfg, tcfg: tcfg, free: make(chan *train.Trainer, size), made: make(chan struct{}, size)}
	t, err := p.get(context.Background()) // fail early on a bad configuration
	if err != nil {
		return nil, err
	}
	p.put(t)
	return p, nil
}

func (p *TrainerPool) get(ctx context.Context) (*train.Trainer, error) {
	select {
	case t := <-p.free:
		return t, nil
	default:
	}
	select {
	case t := <-p.free:
		return t, nil
	case p.made <- struct{}{}:
		return train.New(p.mcfg, p.tcfg)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (p *TrainerPool) put(t *train.Trainer) { p.free <- t }

// Site is one client of a federation: its standardised data, its state
// store and the trainers it borrows. It is a fed.Client: Fit tasks train
// on Train, Evaluate tasks measure the global model on Val.
type Site struct {
	Name             string
	Train, Val, Test *data.Dataset
	Store            StateStore
	Trainers         *TrainerPool
	// Seed is the client's own random stream; each round derives its
	// shuffling and dropout from it.
	Seed uint64

	mu    sync.Mutex
	fedbn bool // the last fit task asked to keep normalisation layers local
}

// Execute runs a task.
func (s *Site) Execute(ctx context.Context, t fed.Task) (fed.Update, error) {
	tr, err := s.Trainers.get(ctx)
	if err != nil {
		return fed.Update{}, err
	}
	defer s.Trainers.put(tr)
	st, err := s.Store.Load(s.Name)
	if err != nil {
		return fed.Update{}, fmt.Errorf("client %s: loading its state: %w", s.Name, err)
	}
	switch t.Kind {
	case fed.Fit:
		s.mu.Lock()
		s.fedbn = t.KeepNormLocal
		s.mu.Unlock()
		res, err := tr.Fit(train.Task{
			Data: s.Train, Global: t.Global, State: st,
			Seed: seedFor(s.Seed, uint64(t.Round)), MISeed: s.Seed,
			Prox: t.Prox, KeepNormLocal: t.KeepNormLocal,
		})
		if err != nil {
			return fed.Update{}, fmt.Errorf("client %s: %w", s.Name, err)
		}
		if err := s.Store.Save(s.Name, st); err != nil {
			return fed.Update{}, fmt.Errorf("client %s: saving its state: %w", s.Name, err)
		}
		m := res.Terms
		return fed.Update{Kind: fed.Fit, Weights: res.Weights, N: res.N, Metrics: map[string]float64{
			"loss": m.Total, "mse": m.MSE, "mi": m.MI, "kl": m.KL, "con": m.Con,
		}}, nil
	case fed.Evaluate:
		if s.Val == nil || s.Val.Len() == 0 {
			return fed.Update{Kind: fed.Evaluate}, nil
		}
		stats, err := tr.Evaluate(s.localWeights(tr, t.Global, st), s.Val)
		if err != nil {
			return fed.Update{}, fmt.Errorf("client %s: %w", s.Name, err)
		}
		return fed.Update{Kind: fed.Evaluate, N: stats.N, Metrics: statsMetrics(stats)}, nil
	}
	return fed.Update{}, fmt.Errorf("client %s: unknown task kind %v", s.Name, t.Kind)
}

// localWeights returns the model this client uses for global: the global
// weights, with its own normalisation layers under FedBN.
func (s *Site) localWeights(tr *train.Trainer, global []float32, st *train.ClientState) []float32 {
	s.mu.Lock()
	fedbn := s.fedbn
	s.mu.Unlock()
	if !fedbn || st == nil || st.Prev == nil {
		return global
	}
	w := append([]float32(nil), global...)
	for _, e := range tr.Layout() {
		if e.Param.Norm {
			copy(w[e.Offset:e.Offset+e.Param.Len()], st.Prev[e.Offset:e.Offset+e.Param.Len()])
		}
	}
	return w
}

// statsMetrics flattens evaluation statistics into metrics that add up
// across clients: "n", and "sse/j", "sum_y/j", "sum_y2/j" per response j.
func statsMetrics(s train.Stats) map[string]float64 {
	m := map[string]float64{"n": float64(s.N)}
	for j := range s.SSE {
		k := strconv.Itoa(j)
		m["sse/"+k], m["sum_y/"+k], m["sum_y2/"+k] = s.SSE[j], s.SumY[j], s.SumY2[j]
	}
	return m
}

// metricsStats is the inverse of statsMetrics for q responses.
func metricsStats(m map[string]float64, q int) train.Stats {
	s := train.Stats{N: int(m["n"]), SSE: make([]float64, q), SumY: make([]float64, q), SumY2: make([]float64, q)}
	for j := range q {
		k := strconv.Itoa(j)
		s.SSE[j], s.SumY[j], s.SumY2[j] = m["sse/"+k], m["sum_y/"+k], m["sum_y2/"+k]
	}
	return s
}
