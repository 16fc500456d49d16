package site

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/train"
)

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

// StateError is the error of a task whose client could not load or save
// its training state: the client can no longer take part correctly, so a
// runtime should stop it rather than carry on without its state.
type StateError struct {
	Client string
	Op     string // "loading" or "saving"
	Err    error
}

func (e *StateError) Error() string {
	return fmt.Sprintf("client %s: %s its state: %v", e.Client, e.Op, e.Err)
}

// Unwrap returns the store's error.
func (e *StateError) Unwrap() error { return e.Err }

// Execute runs a fit or evaluate task.
func (s *Site) Execute(ctx context.Context, t fed.Task) (fed.Update, error) {
	tr, err := s.Trainers.get(ctx)
	if err != nil {
		return fed.Update{}, err
	}
	defer s.Trainers.put(tr)
	st, err := s.Store.Load(s.Name)
	if err != nil {
		return fed.Update{}, &StateError{Client: s.Name, Op: "loading", Err: err}
	}
	switch t.Kind {
	case fed.Fit:
		s.mu.Lock()
		s.fedbn = t.KeepNormLocal
		s.mu.Unlock()
		task := train.Task{
			Data: s.Train, Global: t.Global, State: st,
			Seed: seed.For(s.Seed, uint64(t.Round)), MISeed: s.Seed,
			Prox: t.Prox, KeepNormLocal: t.KeepNormLocal,
		}
		var extra strategy.FitExtra
		if len(t.Payload) > 0 {
			if err := extra.UnmarshalBinary(t.Payload); err != nil {
				return fed.Update{}, fmt.Errorf("client %s: the fit task's payload: %w", s.Name, err)
			}
			switch extra.Method {
			case strategy.MethodScaffold:
				task.Control = extra.Control
			case strategy.MethodFedDyn:
				task.Dyn = extra.Alpha
			default:
				return fed.Update{}, fmt.Errorf("client %s: the fit task asks for %q, which this client does not know", s.Name, extra.Method)
			}
		}
		res, err := tr.Fit(task)
		if err != nil {
			return fed.Update{}, fmt.Errorf("client %s: %w", s.Name, err)
		}
		var payload []byte
		if res.ControlDelta != nil {
			if payload, err = (strategy.FitExtra{Method: strategy.MethodScaffold, Control: res.ControlDelta}).MarshalBinary(); err != nil {
				return fed.Update{}, err
			}
		}
		if err := s.Store.Save(s.Name, st); err != nil {
			return fed.Update{}, &StateError{Client: s.Name, Op: "saving", Err: err}
		}
		m := res.Terms
		return fed.Update{Kind: fed.Fit, Weights: res.Weights, N: res.N, Payload: payload, Metrics: map[string]float64{
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
		return fed.Update{Kind: fed.Evaluate, N: stats.N, Metrics: EvalMetrics(stats)}, nil
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

// EvalMetrics flattens evaluation statistics into metrics that add up
// across clients: "n", and "n/j" (the samples that have response j),
// "sse/j", "sum_y/j", "sum_y2/j" per response j.
func EvalMetrics(s train.Stats) map[string]float64 {
	m := map[string]float64{"n": float64(s.N)}
	for j := range s.SSE {
		k := strconv.Itoa(j)
		m["n/"+k] = float64(s.Observed(j))
		m["sse/"+k], m["sum_y/"+k], m["sum_y2/"+k] = s.SSE[j], s.SumY[j], s.SumY2[j]
	}
	return m
}

// EvalStats is the inverse of EvalMetrics for q responses: summed over
// clients (fed.SumMetrics), the metrics give the pooled statistics.
func EvalStats(m map[string]float64, q int) train.Stats {
	s := train.Stats{N: int(m["n"]), SSE: make([]float64, q), SumY: make([]float64, q), SumY2: make([]float64, q)}
	for j := range q {
		k := strconv.Itoa(j)
		s.SSE[j], s.SumY[j], s.SumY2[j] = m["sse/"+k], m["sum_y/"+k], m["sum_y2/"+k]
		if c, ok := m["n/"+k]; ok && c != float64(s.N) {
			if s.Count == nil {
				s.Count = make([]float64, q)
				for i := range s.Count {
					s.Count[i] = float64(s.N)
				}
			}
			s.Count[j] = c
		}
	}
	return s
}
