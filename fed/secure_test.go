package fed_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/sim"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
)

// mover returns a client that adds a fixed step to the global model,
// reporting n samples and a loss.
func mover(step []float32, n int) fed.Client {
	return fed.ClientFunc(func(_ context.Context, t fed.Task) (fed.Update, error) {
		w := t.Global.Clone()
		for i := range w {
			w[i] += step[i]
		}
		return fed.Update{Kind: fed.Fit, Weights: w, N: n, Metrics: map[string]float64{"loss": float64(n)}}, nil
	})
}

// dropAt makes a client fail every secure aggregation step of the given
// message kind (2: share keys, 4: masked input, 6: unmasking; 0: the fit).
func dropAt(c fed.Client, kind byte) fed.Client {
	return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
		if (kind == 0 && t.Kind == fed.Fit) || (t.Kind == fed.SecAgg && t.Payload[0] == kind) {
			return fed.Update{}, errors.New("dropped out")
		}
		return c.Execute(ctx, t)
	})
}

type fleetSpec struct {
	steps [][]float32
	ns    []int
}

func newSpec(clients, values int, seed uint64) fleetSpec {
	r := rand.New(rand.NewPCG(seed, 3))
	var f fleetSpec
	for range clients {
		s := make([]float32, values)
		for i := range s {
			s[i] = float32(r.NormFloat64() * 0.1)
		}
		f.steps = append(f.steps, s)
		f.ns = append(f.ns, 5+r.IntN(50))
	}
	return f
}

func (f fleetSpec) fleet(wrap map[int]func(fed.Client) fed.Client, secure bool) *sim.Fleet {
	cs := map[string]fed.Client{}
	for i := range f.steps {
		var c fed.Client = mover(f.steps[i], f.ns[i])
		if secure {
			c = &fed.SecureClient{Client: c}
		}
		if w := wrap[i]; w != nil {
			c = w(c)
		}
		cs[fmt.Sprintf("c%02d", i)] = c
	}
	return sim.New(cs)
}

func (f fleetSpec) total() float64 {
	t := 0
	for _, n := range f.ns {
		t += n
	}
	return float64(t)
}

// TestSecureRoundEqualsFedAvg runs rounds of FedAvg in the clear and
// under secure aggregation, with clients dropping out at each phase, and
// checks that the models agree within the stated quantisation bound:
// each of the m clients in the sum rounds ω·Δ to within step/2, so the
// mean moves by at most m·step/(2·Σω) per round.
func TestSecureRoundEqualsFedAvg(t *testing.T) {
	const clients, values, rounds = 10, 300, 3
	spec := newSpec(clients, values, 1)
	for _, c := range []struct {
		name string
		drop map[int]byte // client → phase it drops at
		sum  []int        // clients whose updates are in the sum
	}{
		{"no dropout", nil, nil},
		{"a client fails its fit", map[int]byte{3: 0}, nil},
		{"a client drops before sharing", map[int]byte{4: 2}, nil},
		{"a client drops before its input", map[int]byte{5: 4}, nil},
		{"a client drops while unmasking", map[int]byte{6: 6}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			wrap := map[int]func(fed.Client) fed.Client{}
			for i, k := range c.drop {
				wrap[i] = func(cl fed.Client) fed.Client { return dropAt(cl, k) }
			}
			// Plain FedAvg over the clients that end up in the sum: all but
			// those that dropped before sending their input.
			plainWrap := map[int]func(fed.Client) fed.Client{}
			for i, k := range c.drop {
				if k != 6 {
					plainWrap[i] = func(cl fed.Client) fed.Client { return dropAt(cl, 0) }
				}
			}
			strat := func() *strategy.FedAvg {
				return &strategy.FedAvg{SampleScale: spec.total(), SumMetrics: []string{"loss"}}
			}
			var plainReps, secReps []fed.RoundReport
			plain := &fed.Server{Strategy: strat(), Fleet: spec.fleet(plainWrap, false), Progress: func(r fed.RoundReport) { plainReps = append(plainReps, r) }}
			sec := &fed.Server{Strategy: strat(), Fleet: spec.fleet(wrap, true), Secure: &fed.SecureAggregation{Degree: 4}, Progress: func(r fed.RoundReport) { secReps = append(secReps, r) }}
			g0 := make(fed.Weights, values)
			want, err := plain.Run(context.Background(), g0, 1, rounds)
			if err != nil {
				t.Fatal(err)
			}
			got, err := sec.Run(context.Background(), g0, 1, rounds)
			if err != nil {
				t.Fatal(err)
			}
			// ω·Δ is clipped to ±1 (no value comes near) and rounded with 29
			// fractional bits: step 2⁻²⁹. Σω ≥ 0.5 here.
			m := float64(clients)
			bound := rounds * m * math.Ldexp(1, -29) / (2 * 0.5)
			var worst float64
			for i := range want {
				worst = max(worst, math.Abs(float64(got[i]-want[i])))
			}
			// float32 rounding of the weights adds up to an ulp per round.
			if worst > bound+rounds*1e-7 {
				t.Fatalf("secure and plain models differ by %g (bound %g)", worst, bound)
			}
			if len(secReps[0].Accepted) != len(plainReps[0].Accepted) {
				t.Fatalf("secure round accepted %v, plain %v", secReps[0].Accepted, plainReps[0].Accepted)
			}
			if d := math.Abs(secReps[0].Train["loss"] - plainReps[0].Train["loss"]); d > 1e-3 {
				t.Fatalf("secure loss %v, plain %v", secReps[0].Train["loss"], plainReps[0].Train["loss"])
			}
			for i, k := range c.drop {
				name := fmt.Sprintf("c%02d", i)
				if _, ok := secReps[0].Rejected[name]; ok == (k == 6) {
					t.Fatalf("client %s dropping at %d: rejected %v", name, k, secReps[0].Rejected)
				}
			}
		})
	}
}

func TestSecureAggregationRefusesStrategiesThatNeedEachUpdate(t *testing.T) {
	spec := newSpec(3, 4, 2)
	var st fed.Strategy = struct{ fed.Strategy }{&strategy.FedAvg{}}
	s := &fed.Server{Strategy: st, Fleet: spec.fleet(nil, true), Secure: &fed.SecureAggregation{}}
	_, err := s.Run(context.Background(), make(fed.Weights, 4), 1, 1)
	if err == nil || !strings.Contains(err.Error(), "only their sum") {
		t.Fatalf("got %v", err)
	}
}

func TestSecureRoundTooManyDropouts(t *testing.T) {
	spec := newSpec(4, 4, 3)
	wrap := map[int]func(fed.Client) fed.Client{}
	for _, i := range []int{0, 1} {
		wrap[i] = func(cl fed.Client) fed.Client { return dropAt(cl, 4) }
	}
	s := &fed.Server{Strategy: &strategy.FedAvg{SampleScale: spec.total()}, Fleet: spec.fleet(wrap, true), Secure: &fed.SecureAggregation{}, Retries: 1}
	_, err := s.Run(context.Background(), make(fed.Weights, 4), 1, 1)
	if !errors.Is(err, fed.ErrNoQuorum) {
		t.Fatalf("2 of 4 clients dropping with threshold 3: %v", err)
	}
}
