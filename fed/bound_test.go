package fed_test

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/sim"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
)

// nonStreaming hides a strategy's Accumulate, so that the server holds
// the round's updates.
type nonStreaming struct{ fed.Strategy }

// TestNormBoundRejectsOutliers has one client of five scale its update by
// 1000: with the adaptive bound it is rejected as an outlier and the
// model is the others' mean; without it, it dominates. The bound is the
// same whether the round streams (window smaller than the round or not)
// or holds every update.
func TestNormBoundRejectsOutliers(t *testing.T) {
	clients := map[string]fed.Client{
		"a": target([]float32{1, 1}, 1), "b": target([]float32{2, 2}, 1), "c": target([]float32{1.5, 1.5}, 1),
		"d": target([]float32{2.5, 0.5}, 1), "scaled": target([]float32{1000, 1000}, 1),
	}
	cases := []struct {
		name   string
		strat  fed.Strategy
		window int
	}{
		{"streaming, every update in the window", &strategy.FedAvg{}, 0},
		{"streaming, window of 2", &strategy.FedAvg{}, 2},
		{"holding every update", nonStreaming{&strategy.FedAvg{}}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rep fed.RoundReport
			s := &fed.Server{Strategy: c.strat, Fleet: sim.New(clients), NormBound: 3, Window: c.window, Progress: func(r fed.RoundReport) { rep = r }}
			w, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			if w[0] != 1.75 || w[1] != 1.25 {
				t.Fatalf("global %v, want the four honest clients' mean [1.75 1.25]", w)
			}
			if rep.Causes["scaled"] != fed.CauseOutlier || !strings.Contains(rep.Rejected["scaled"], "× the round's median norm") || len(rep.Accepted) != 4 {
				t.Fatalf("report %+v: want the scaled update rejected as an outlier", rep)
			}
		})
	}
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: sim.New(clients)}
	w, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w[0] < 100 {
		t.Fatalf("without the bound the global is %v: the attack should have moved it", w)
	}
}

// TestNormBoundNeedsThreeUpdates: with two updates neither can be told
// to be the outlier, and both are merged.
func TestNormBoundNeedsThreeUpdates(t *testing.T) {
	clients := map[string]fed.Client{"a": target([]float32{1, 1}, 1), "b": target([]float32{100, 100}, 1)}
	var rep fed.RoundReport
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: sim.New(clients), NormBound: 3, Progress: func(r fed.RoundReport) { rep = r }}
	if _, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 1); err != nil {
		t.Fatal(err)
	}
	if len(rep.Accepted) != 2 {
		t.Fatalf("report %+v: want both merged", rep)
	}
}

// TestSampleCountsAreCapped has a client report 2³⁰ samples when it
// declared 3: it counts with 3, and the others are not drowned.
func TestSampleCountsAreCapped(t *testing.T) {
	clients := map[string]fed.Client{"a": target([]float32{0, 0}, 3), "b": target([]float32{3, 3}, 3), "liar": target([]float32{6, 6}, 1<<30)}
	for _, cap := range []bool{false, true} {
		s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: sim.New(clients)}
		if cap {
			s.Samples = func(string) int { return 3 }
		}
		w, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprint(w); cap && got != "[3 3]" || !cap && got == "[3 3]" {
			t.Fatalf("capped %v: global %v", cap, w)
		}
	}
}

// TestDistanceSkipsLocalSpans: FedBN's spans do not count.
func TestDistanceSkipsLocalSpans(t *testing.T) {
	g := fed.Weights{0, 0, 0, 0}
	w := fed.Weights{3, 1e9, 4, 1e9}
	if d := fed.Distance(g, w, []fed.Span{{From: 3, To: 4}, {From: 1, To: 2}}); d != 5 {
		t.Fatalf("distance %v, want 5", d)
	}
	if d := fed.Distance(g, w, nil); d < 1e9 {
		t.Fatalf("distance %v without spans", d)
	}
	if m := fed.LowerMedian([]float64{5, 1, math.Inf(1), 2}); m != 2 {
		t.Fatalf("lower median %v, want 2", m)
	}
}

// TestUnchangedModelIsRejected has a client send the global model back
// (with a huge count): below a tenth of the round's median norm, it is
// rejected and does not hold the others back.
func TestUnchangedModelIsRejected(t *testing.T) {
	frozen := fed.ClientFunc(func(_ context.Context, t fed.Task) (fed.Update, error) {
		return fed.Update{Kind: fed.Fit, Weights: t.Global.Clone(), N: 1 << 30}, nil
	})
	clients := map[string]fed.Client{"a": target([]float32{1, 1}, 1), "b": target([]float32{2, 2}, 1), "c": target([]float32{3, 3}, 1), "frozen": frozen}
	var rep fed.RoundReport
	s := &fed.Server{Strategy: &strategy.FedAvg{}, Fleet: sim.New(clients), NormBound: 4, Progress: func(r fed.RoundReport) { rep = r }}
	w, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 1)
	if err != nil {
		t.Fatal(err)
	}
	if w[0] != 2 || !strings.Contains(rep.Rejected["frozen"], "all but unchanged") {
		t.Fatalf("global %v, report %+v: want the three others' mean and the frozen client rejected", w, rep)
	}
}

// TestDirectionCheckRejectsAFlippedSign has one client of five send its
// step reversed, as long as the others': the norm bound lets it through,
// the direction check rejects it in a round of at least DirectionMin
// updates (the global model is then the four others' mean), streaming or
// not, and leaves it in a smaller round or with the check off.
func TestDirectionCheckRejectsAFlippedSign(t *testing.T) {
	clients := map[string]fed.Client{
		"a": target([]float32{1, 1.2, 0.8, 1}, 1), "b": target([]float32{0.9, 1, 1.1, 1}, 1),
		"c": target([]float32{1.1, 0.9, 1, 1.2}, 1), "d": target([]float32{1, 0.9, 1.1, 0.8}, 1),
		"flipped": target([]float32{-1, -1, -1, -1}, 1),
	}
	cases := []struct {
		name      string
		strat     fed.Strategy
		window    int
		direction float64
		min       int
		rejected  bool
	}{
		{"streaming, every update in the window", &strategy.FedAvg{}, 0, 0.5, 0, true},
		{"streaming, window of 2", &strategy.FedAvg{}, 2, 0.5, 0, true},
		{"holding every update", nonStreaming{&strategy.FedAvg{}}, 0, 0.5, 0, true},
		{"a round of DirectionMin updates", &strategy.FedAvg{}, 0, 0.5, 5, true},
		{"a round below DirectionMin", &strategy.FedAvg{}, 0, 0.5, 6, false},
		{"holding, a round below DirectionMin", nonStreaming{&strategy.FedAvg{}}, 0, 0.5, 6, false},
		{"the check off", &strategy.FedAvg{}, 0, 0, 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var rep fed.RoundReport
			s := &fed.Server{Strategy: c.strat, Fleet: sim.New(clients), NormBound: 4, Direction: c.direction, DirectionMin: c.min,
				Window: c.window, Progress: func(r fed.RoundReport) { rep = r }}
			w, err := s.Run(context.Background(), fed.Weights{0, 0, 0, 0}, 1, 1)
			if err != nil {
				t.Fatal(err)
			}
			honest := fmt.Sprint(fed.Weights{1, 1, 1, 1})
			if c.rejected {
				if fmt.Sprint(w) != honest || rep.Causes["flipped"] != fed.CauseOutlier || !strings.Contains(rep.Rejected["flipped"], "points elsewhere") || len(rep.Accepted) != 4 {
					t.Fatalf("global %v, report %+v: want the flipped update rejected and the others' mean %s", w, rep, honest)
				}
				return
			}
			if len(rep.Rejected) != 0 || len(rep.Accepted) != 5 {
				t.Fatalf("report %+v: want every update merged", rep)
			}
		})
	}
}
