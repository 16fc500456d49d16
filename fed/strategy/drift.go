package strategy

import (
	"fmt"

	"github.com/fdrmfl/fdrmfl/fed"
)

// Drift-control methods, as FitExtra.Method names them.
const (
	MethodScaffold = "scaffold"
	MethodFedDyn   = "feddyn"
)

// Scaffold is SCAFFOLD (Karimireddy et al., ICML 2020): control
// variates correct each client's local gradients for its drift from the
// federation's. The server keeps c and sends it with every fit task
// (FitExtra in Task.Payload); client i keeps its own c_i, trains with the
// corrected gradient g + c − c_i, sets c_i⁺ to the mean of its raw
// minibatch gradients over the round (which is the paper's option II,
// c_i − c + (w − y_i)/(K·η), under plain SGD, and stays meaningful under
// Adam), and sends back Δc_i = c_i⁺ − c_i (FitExtra in Update.Payload).
// The server then takes
//
//	w⁺ = w + η_g·(avg − w),   c⁺ = c + Σ_{i∈S} (n_i/N)·Δc_i,
//
// where avg is FedAvg's sample-weighted mean, n_i client i's samples and
// N the samples of every client seen so far (all clients under full
// participation, so that c stays the weighted mean of the c_i). Only the
// first Weights values (the trained weights) have control variates.
type Scaffold struct {
	FedAvg
	// LR is the server step η_g (1: FedAvg's mean).
	LR float64
	// Weights is the number of trained values at the front of the vector
	// (0: all of it).
	Weights int

	c []float32
	n map[string]int
}

// Configure asks FedAvg's clients to train, each with the server's
// control variate.
func (s *Scaffold) Configure(round int, global fed.Weights, available []string) ([]fed.Task, error) {
	tasks, err := s.FedAvg.Configure(round, global, available)
	if err != nil {
		return nil, err
	}
	nw := trainedOf(s.Weights, len(global))
	if s.c == nil {
		s.c = make([]float32, nw)
	}
	if len(s.c) != nw {
		return nil, fmt.Errorf("scaffold: the control variate has %d values, the model %d trained ones", len(s.c), nw)
	}
	b, err := FitExtra{Method: MethodScaffold, Control: s.c}.MarshalBinary()
	if err != nil {
		return nil, err
	}
	for i := range tasks {
		tasks[i].Payload = b
	}
	return tasks, nil
}

// Aggregate returns the server step and updates c.
func (s *Scaffold) Aggregate(round int, global fed.Weights, ups []fed.Update) (fed.Weights, error) {
	acc := s.Accumulate(round, global)
	for _, u := range ups {
		if err := acc.Add(u); err != nil {
			return nil, err
		}
	}
	return acc.Result()
}

// Accumulate merges updates and their control changes one at a time.
func (s *Scaffold) Accumulate(round int, global fed.Weights) fed.Accumulator {
	return &scaffoldAcc{s: s, inner: s.FedAvg.Accumulate(round, global), global: global}
}

type scaffoldAcc struct {
	s      *Scaffold
	inner  fed.Accumulator
	global fed.Weights
	dc     []float64 // Σ n_i·Δc_i
	seen   map[string]int
}

func (a *scaffoldAcc) Add(u fed.Update) error {
	nw := trainedOf(a.s.Weights, len(a.global))
	var ex FitExtra
	if err := ex.UnmarshalBinary(u.Payload); err != nil {
		return fmt.Errorf("scaffold: client %s: %w (does it run SCAFFOLD?)", u.Client, err)
	}
	if ex.Method != MethodScaffold || len(ex.Control) != nw {
		return fmt.Errorf("scaffold: client %s sent %s state of %d values, want scaffold of %d", u.Client, ex.Method, len(ex.Control), nw)
	}
	if err := a.inner.Add(u); err != nil {
		return err
	}
	if a.dc == nil {
		a.dc = make([]float64, nw)
		a.seen = map[string]int{}
	}
	w := float64(u.N)
	for i, v := range ex.Control {
		a.dc[i] += w * float64(v)
	}
	a.seen[u.Client] = u.N
	return nil
}

func (a *scaffoldAcc) Result() (fed.Weights, error) {
	avg, err := a.inner.Result()
	if err != nil {
		return nil, err
	}
	s := a.s
	if s.n == nil {
		s.n = map[string]int{}
	}
	for c, n := range a.seen {
		s.n[c] = n
	}
	var total float64
	for _, n := range s.n {
		total += float64(n)
	}
	nw := len(a.dc)
	if s.c == nil {
		s.c = make([]float32, nw)
	}
	for i := range nw {
		s.c[i] += float32(a.dc[i] / total)
	}
	next := avg.Clone()
	lr := s.LR
	if lr == 0 {
		lr = 1
	}
	for i := range nw {
		next[i] = float32(float64(a.global[i]) + lr*(float64(avg[i])-float64(a.global[i])))
	}
	return next, nil
}

// MarshalBinary returns the strategy's state: FedAvg's random source, c
// and the clients' sample counts.
func (s *Scaffold) MarshalBinary() ([]byte, error) {
	base, err := s.FedAvg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var w stateWriter
	w.str(MethodScaffold)
	w.bytes(base)
	w.vec(f64s(s.c))
	w.counts(s.n)
	return w.b, nil
}

// UnmarshalBinary restores a state written by MarshalBinary.
func (s *Scaffold) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		s.c, s.n = nil, nil
		return s.FedAvg.UnmarshalBinary(nil)
	}
	r := stateReader{b: b}
	method, base, c, n := r.str(), r.bytes(), r.vec(), r.counts()
	if err := r.done(); err != nil {
		return fmt.Errorf("scaffold: restoring the state: %w", err)
	}
	if method != MethodScaffold {
		return fmt.Errorf("scaffold: the saved state is of %q", method)
	}
	if err := s.FedAvg.UnmarshalBinary(base); err != nil {
		return err
	}
	s.c, s.n = f32s(c), n
	return nil
}

// FedDyn is federated learning with dynamic regularisation (Acar et al.,
// ICLR 2021). Client i minimises its loss plus −⟨g_i, w⟩ + α/2·‖w − w_t‖²,
// where g_i, its own state, starts at 0 and after the round becomes
// g_i − α·(y_i − w_t), so that at a fixed point the clients' optima agree
// with the federation's. The server keeps h, the mean of the g_i:
//
//	h⁺ = h − α·Σ_{i∈S} (n_i/N)·(y_i − w_t),   w_{t+1} = avg − h⁺/α,
//
// avg being FedAvg's sample-weighted mean and N the samples of every
// client seen so far. The fit tasks carry α (FitExtra in Task.Payload).
// Only the first Weights values (the trained weights) are regularised;
// the rest are FedAvg's mean.
type FedDyn struct {
	FedAvg
	Alpha   float64
	Weights int

	h []float64
	n map[string]int
}

// Configure asks FedAvg's clients to train with the dynamic regulariser.
func (s *FedDyn) Configure(round int, global fed.Weights, available []string) ([]fed.Task, error) {
	if s.Alpha <= 0 {
		return nil, fmt.Errorf("feddyn: α = %v must be positive", s.Alpha)
	}
	tasks, err := s.FedAvg.Configure(round, global, available)
	if err != nil {
		return nil, err
	}
	b, err := FitExtra{Method: MethodFedDyn, Alpha: s.Alpha}.MarshalBinary()
	if err != nil {
		return nil, err
	}
	for i := range tasks {
		tasks[i].Payload = b
	}
	return tasks, nil
}

// Aggregate returns the corrected mean and updates h.
func (s *FedDyn) Aggregate(round int, global fed.Weights, ups []fed.Update) (fed.Weights, error) {
	acc := s.Accumulate(round, global)
	for _, u := range ups {
		if err := acc.Add(u); err != nil {
			return nil, err
		}
	}
	return acc.Result()
}

// Accumulate merges the updates one at a time.
func (s *FedDyn) Accumulate(round int, global fed.Weights) fed.Accumulator {
	return &fedDynAcc{s: s, inner: s.FedAvg.Accumulate(round, global), global: global}
}

type fedDynAcc struct {
	s      *FedDyn
	inner  fed.Accumulator
	global fed.Weights
	dw     []float64 // Σ n_i·(y_i − w_t)
	seen   map[string]int
}

func (a *fedDynAcc) Add(u fed.Update) error {
	if err := a.inner.Add(u); err != nil {
		return err
	}
	nw := trainedOf(a.s.Weights, len(a.global))
	if a.dw == nil {
		a.dw = make([]float64, nw)
		a.seen = map[string]int{}
	}
	w := float64(u.N)
	for i := range nw {
		a.dw[i] += w * (float64(u.Weights[i]) - float64(a.global[i]))
	}
	a.seen[u.Client] = u.N
	return nil
}

func (a *fedDynAcc) Result() (fed.Weights, error) {
	avg, err := a.inner.Result()
	if err != nil {
		return nil, err
	}
	s := a.s
	if s.n == nil {
		s.n = map[string]int{}
	}
	for c, n := range a.seen {
		s.n[c] = n
	}
	var total float64
	for _, n := range s.n {
		total += float64(n)
	}
	nw := len(a.dw)
	if s.h == nil {
		s.h = make([]float64, nw)
	}
	if len(s.h) != nw {
		return nil, fmt.Errorf("feddyn: the state has %d values, the model %d trained ones", len(s.h), nw)
	}
	next := avg.Clone()
	for i := range nw {
		s.h[i] -= s.Alpha * a.dw[i] / total
		next[i] = float32(float64(avg[i]) - s.h[i]/s.Alpha)
	}
	return next, nil
}

// MarshalBinary returns the strategy's state: FedAvg's random source, h
// and the clients' sample counts.
func (s *FedDyn) MarshalBinary() ([]byte, error) {
	base, err := s.FedAvg.MarshalBinary()
	if err != nil {
		return nil, err
	}
	var w stateWriter
	w.str(MethodFedDyn)
	w.bytes(base)
	w.vec(s.h)
	w.counts(s.n)
	return w.b, nil
}

// UnmarshalBinary restores a state written by MarshalBinary.
func (s *FedDyn) UnmarshalBinary(b []byte) error {
	if len(b) == 0 {
		s.h, s.n = nil, nil
		return s.FedAvg.UnmarshalBinary(nil)
	}
	r := stateReader{b: b}
	method, base, h, n := r.str(), r.bytes(), r.vec(), r.counts()
	if err := r.done(); err != nil {
		return fmt.Errorf("feddyn: restoring the state: %w", err)
	}
	if method != MethodFedDyn {
		return fmt.Errorf("feddyn: the saved state is of %q", method)
	}
	if err := s.FedAvg.UnmarshalBinary(base); err != nil {
		return err
	}
	s.h, s.n = h, n
	return nil
}

func trainedOf(weights, n int) int {
	if weights <= 0 || weights > n {
		return n
	}
	return weights
}

func f64s(v []float32) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func f32s(v []float64) []float32 {
	if v == nil {
		return nil
	}
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}
