package fed_test

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/sim"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
)

// target returns a client that moves the model to a fixed point, reporting n samples.
func target(point []float32, n int) fed.Client {
	return fed.ClientFunc(func(_ context.Context, t fed.Task) (fed.Update, error) {
		if t.Kind == fed.Evaluate {
			return fed.Update{Kind: fed.Evaluate, N: n, Metrics: map[string]float64{"sse": float64(n)}}, nil
		}
		return fed.Update{Kind: fed.Fit, Weights: append(fed.Weights(nil), point...), N: n, Metrics: map[string]float64{"loss": float64(point[0])}}, nil
	})
}

func TestFedAvgWeightsBySampleCount(t *testing.T) {
	fleet := sim.New(map[string]fed.Client{
		"a": target([]float32{1, 0}, 1),
		"b": target([]float32{4, 3}, 2),
	})
	var reports []fed.RoundReport
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: fleet, Evaluate: true, Progress: func(r fed.RoundReport) { reports = append(reports, r) }}
	w, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 2)
	if err != nil {
		t.Fatal(err)
	}
	if w[0] != 3 || w[1] != 2 { // (1·1 + 2·4)/3, (1·0 + 2·3)/3
		t.Fatalf("global %v, want [3 2]", w)
	}
	if len(reports) != 2 || reports[1].Train["loss"] != 3 || reports[1].Eval["sse"] != 3 || reports[1].EvalClients != 2 {
		t.Fatalf("reports %+v", reports)
	}
}

func TestSmoothingAndLocalRanges(t *testing.T) {
	s := &strategy.FedAvg{Smoothing: 0.25, Local: []strategy.Range{{From: 1, To: 2}}}
	next, err := s.Aggregate(1, fed.Weights{4, 7}, []fed.Update{{Client: "a", Weights: fed.Weights{8, 1}, N: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if next[0] != 7 || next[1] != 7 { // 0.25·4 + 0.75·8; the local span keeps the global value
		t.Fatalf("next %v, want [7 7]", next)
	}
}

// TestBadUpdatesAreRejectedAndTheRoundGoesOn sends a NaN, a wrong-length
// and a failed update beside two good ones.
func TestBadUpdatesAreRejectedAndTheRoundGoesOn(t *testing.T) {
	bad := func(u fed.Update, err error) fed.Client {
		return fed.ClientFunc(func(context.Context, fed.Task) (fed.Update, error) { return u, err })
	}
	fleet := sim.New(map[string]fed.Client{
		"good1": target([]float32{1, 1}, 1),
		"good2": target([]float32{3, 3}, 1),
		"nan":   bad(fed.Update{Kind: fed.Fit, Weights: fed.Weights{float32(math.NaN()), 0}, N: 1}, nil),
		"short": bad(fed.Update{Kind: fed.Fit, Weights: fed.Weights{1}, N: 1}, nil),
		"fails": bad(fed.Update{}, errors.New("disk full")),
		"far":   bad(fed.Update{Kind: fed.Fit, Weights: fed.Weights{1000, 0}, N: 1}, nil),
	})
	var rep fed.RoundReport
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: fleet, MaxUpdateNorm: 100, Progress: func(r fed.RoundReport) { rep = r }}
	w, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w[0] != 2 || w[1] != 2 {
		t.Fatalf("global %v, want [2 2] from the two good clients", w)
	}
	for c, want := range map[string]string{"nan": "NaN", "short": "1 values", "fails": "disk full", "far": "exceeds the bound"} {
		if !strings.Contains(rep.Rejected[c], want) {
			t.Errorf("client %s rejected with %q, want a reason mentioning %q", c, rep.Rejected[c], want)
		}
	}
}

// TestStragglerMissesTheDeadline runs on a fake clock: one client sleeps
// an hour against a one-minute round deadline.
func TestStragglerMissesTheDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := fed.ClientFunc(func(ctx context.Context, tk fed.Task) (fed.Update, error) {
			select {
			case <-time.After(time.Hour):
			case <-ctx.Done():
			}
			return fed.Update{Kind: fed.Fit, Weights: fed.Weights{100}, N: 1}, nil
		})
		fleet := sim.New(map[string]fed.Client{"fast": target([]float32{5}, 1), "slow": slow})
		var rep fed.RoundReport
		s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: fleet, RoundTimeout: time.Minute, Progress: func(r fed.RoundReport) { rep = r }}
		w, err := s.Run(context.Background(), fed.Weights{0}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if w[0] != 5 || rep.Rejected["slow"] == "" {
			t.Fatalf("global %v, report %+v: the straggler should be left out", w, rep)
		}
	})
}

func TestQuorum(t *testing.T) {
	fail := fed.ClientFunc(func(context.Context, fed.Task) (fed.Update, error) { return fed.Update{}, errors.New("down") })
	fleet := sim.New(map[string]fed.Client{"a": target([]float32{1}, 1), "b": fail})
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: fleet, Quorum: 2, Retries: 1}
	_, err := s.Run(context.Background(), fed.Weights{0}, 1, 1)
	if !errors.Is(err, fed.ErrNoQuorum) {
		t.Fatalf("error %v, want ErrNoQuorum", err)
	}
}

func TestFractionIsSeededAndSorted(t *testing.T) {
	avail := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	pick := func() []string {
		s := &strategy.FedAvg{Fraction: 0.3, Rand: newRand(42)}
		tasks, err := s.Configure(1, fed.Weights{0}, avail)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, tk := range tasks {
			names = append(names, tk.Client)
		}
		return names
	}
	a, b := pick(), pick()
	if len(a) != 3 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("picks %v and %v: want the same 3 clients for the same seed", a, b)
	}
	for i := 1; i < len(a); i++ {
		if a[i-1] >= a[i] {
			t.Fatalf("picks %v are not sorted", a)
		}
	}
}

// TestStrategyStateResumes saves FedAvg's state after one pick and
// restores it into a fresh strategy: the next picks are the same.
func TestStrategyStateResumes(t *testing.T) {
	avail := []string{"a", "b", "c", "d", "e", "f", "g", "h", "i", "j"}
	names := func(s *strategy.FedAvg) string {
		tasks, err := s.Configure(1, fed.Weights{0}, avail)
		if err != nil {
			t.Fatal(err)
		}
		var n []string
		for _, tk := range tasks {
			n = append(n, tk.Client)
		}
		return strings.Join(n, ",")
	}
	a := &strategy.FedAvg{Fraction: 0.3, Rand: newRand(7)}
	names(a)
	state, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := &strategy.FedAvg{Fraction: 0.3, Rand: newRand(99)}
	if err := b.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if x, y := names(a), names(b); x != y {
			t.Fatalf("after restoring, picks %s and %s differ", x, y)
		}
	}
	if err := (&strategy.FedAvg{}).UnmarshalBinary(state); err == nil {
		t.Fatal("a strategy without a random source accepted a saved one")
	}
}
