package fed_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/privacy"
)

func dpStrategy(clients int, budget float64) *strategy.DPFedAvg {
	return &strategy.DPFedAvg{
		Clip: 0.5, Noise: 1, Clients: clients, Delta: 1e-5, Budget: budget,
		NoiseRand: rand.New(rand.NewPCG(1, 2)), Accountant: privacy.NewAccountant(),
	}
}

// TestDPFedAvgSecureEqualsPlain runs DP-FedAvg with server-side noise in
// the clear and under secure aggregation, from the same noise stream: the
// clients' clipping and the server's noise give the same model up to the
// fixed-point rounding.
func TestDPFedAvgSecureEqualsPlain(t *testing.T) {
	spec := newSpec(6, 50, 4)
	for i := range spec.steps {
		for j := range spec.steps[i] {
			spec.steps[i][j] *= 3 // norms ~2: clipping bites
		}
	}
	plain := &fed.Server{Strategy: dpStrategy(6, 0), Fleet: spec.fleet(nil, false)}
	sec := &fed.Server{Strategy: dpStrategy(6, 0), Fleet: spec.fleet(nil, true), Secure: &fed.SecureAggregation{Degree: 5}}
	want, err := plain.Run(context.Background(), make(fed.Weights, 50), 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sec.Run(context.Background(), make(fed.Weights, 50), 1, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range want {
		if math.Abs(float64(got[i]-want[i])) > 1e-6 {
			t.Fatalf("value %d: secure %v, plain %v", i, got[i], want[i])
		}
	}
	e1, _ := plain.Strategy.(*strategy.DPFedAvg).Spent()
	e2, _ := sec.Strategy.(*strategy.DPFedAvg).Spent()
	a := privacy.NewAccountant()
	a.Compose(1, 1, 3)
	e3, _ := a.Epsilon(1e-5)
	if e1 != e2 || e1 != e3 {
		t.Fatalf("ε spent %v (plain) and %v (secure), want %v", e1, e2, e3)
	}
}

// TestDPFedAvgClipsAndStopsAtBudget checks that one client's update moves
// the model by at most C/m beyond the noise, and that rounds stop once the
// budget would be passed.
func TestDPFedAvgClipsAndStopsAtBudget(t *testing.T) {
	spec := newSpec(4, 10, 5)
	for j := range spec.steps[0] {
		spec.steps[0][j] = 100
	}
	s := dpStrategy(4, 2)
	s.Noise = 1e-9 // no noise to speak of: the clipping alone
	s.Budget = 0
	srv := &fed.Server{Strategy: s, Fleet: spec.fleet(nil, false)}
	g, err := srv.Run(context.Background(), make(fed.Weights, 10), 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if n := privacy.Norm(g); n > 4*0.5/4+1e-6 {
		t.Fatalf("the model moved by %v, more than m·C/m", n)
	}
	s = dpStrategy(4, 10) // σ = 1, q = 1: a few rounds fit in ε = 10
	srv = &fed.Server{Strategy: s, Fleet: spec.fleet(nil, false)}
	_, err = srv.Run(context.Background(), make(fed.Weights, 10), 1, 50)
	if !errors.Is(err, privacy.ErrBudget) {
		t.Fatalf("50 rounds at σ = 1 within ε = 10: %v", err)
	}
	if eps, _ := s.Spent(); eps > 10 || eps < 5 {
		t.Fatalf("spent ε = %v with a budget of 10", eps)
	}
}
