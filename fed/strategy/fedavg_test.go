package strategy

import (
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
)

func fit(client string, n int, w ...float32) fed.Update {
	return fed.Update{Client: client, Kind: fed.Fit, N: n, Weights: w}
}

// TestFedAvgAggregate checks the merged model against hand-computed
// values: sample weighting, server smoothing and FedBN's local spans.
func TestFedAvgAggregate(t *testing.T) {
	global := fed.Weights{10, 10, 10, 10}
	ups := []fed.Update{fit("a", 1, 0, 4, 8, 1), fit("b", 3, 4, 0, 0, 1)}
	for _, tc := range []struct {
		name string
		s    FedAvg
		want fed.Weights
	}{
		{"fedavg", FedAvg{}, fed.Weights{3, 1, 2, 1}},
		{"smoothing 0.5", FedAvg{Smoothing: 0.5}, fed.Weights{6.5, 5.5, 6, 5.5}},
		{"fedbn keeps span 1..3", FedAvg{Local: []Range{{1, 3}}}, fed.Weights{3, 10, 10, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := slices.Clone(global)
			got, err := tc.s.Aggregate(1, global, ups)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
			if !slices.Equal(global, before) || ups[0].Weights[0] != 0 {
				t.Fatal("Aggregate modified its inputs")
			}
			acc := tc.s.Accumulate(1, global)
			for _, u := range ups {
				if err := acc.Add(u); err != nil {
					t.Fatal(err)
				}
			}
			if streamed, err := acc.Result(); err != nil || !slices.Equal(streamed, got) {
				t.Fatalf("Accumulate gave %v (%v), Aggregate %v", streamed, err, got)
			}
		})
	}
}

// TestFedAvgRefuses checks the errors: nothing to merge, no samples,
// a vector of the wrong length, no client available.
func TestFedAvgRefuses(t *testing.T) {
	s := &FedAvg{}
	global := fed.Weights{1, 2}
	for name, ups := range map[string][]fed.Update{
		"no update":    nil,
		"no samples":   {fit("a", 0, 1, 2)},
		"wrong length": {fit("a", 1, 1, 2, 3)},
	} {
		if _, err := s.Aggregate(1, global, ups); err == nil {
			t.Errorf("%s: aggregated", name)
		}
	}
	if _, err := s.Configure(1, global, nil); err == nil {
		t.Error("configured a round with no client")
	}
	if _, err := (&FedAvg{Fraction: 0.5}).Configure(1, global, []string{"a", "b"}); err == nil {
		t.Error("a client fraction without a random source was accepted")
	}
}

// TestFedAvgConfigure checks who is asked: everyone by default, a seeded
// fraction otherwise (at least MinFit), and the tasks' settings.
func TestFedAvgConfigure(t *testing.T) {
	clients := []string{"c01", "c02", "c03", "c04", "c05", "c06", "c07", "c08", "c09", "c10"}
	global := fed.Weights{1}
	for _, tc := range []struct {
		name string
		s    FedAvg
		want int
	}{
		{"all", FedAvg{}, 10},
		{"fraction 0.3", FedAvg{Fraction: 0.3, Rand: rand.NewPCG(1, 2)}, 3},
		{"fraction 0.04 rounds up to one", FedAvg{Fraction: 0.04, Rand: rand.NewPCG(1, 2)}, 1},
		{"min fit", FedAvg{Fraction: 0.1, MinFit: 4, Rand: rand.NewPCG(1, 2)}, 4},
		{"fedprox and fedbn", FedAvg{Prox: 0.01, Local: []Range{{0, 1}}}, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tasks, err := tc.s.Configure(3, global, clients)
			if err != nil {
				t.Fatal(err)
			}
			if len(tasks) != tc.want {
				t.Fatalf("%d tasks, want %d", len(tasks), tc.want)
			}
			var names []string
			for _, task := range tasks {
				if task.Round != 3 || task.Kind != fed.Fit || task.Prox != tc.s.Prox || task.KeepNormLocal != (len(tc.s.Local) > 0) {
					t.Fatalf("task %+v", task)
				}
				names = append(names, task.Client)
			}
			if !slices.IsSorted(names) || len(slices.Compact(slices.Clone(names))) != len(names) {
				t.Fatalf("clients %v are not sorted and distinct", names)
			}
		})
	}
}

// TestFedAvgResumesItsDraws saves the strategy's state after a round and
// restores it into a new strategy: the next rounds pick the same clients
// as an uninterrupted run.
func TestFedAvgResumesItsDraws(t *testing.T) {
	clients := []string{"a", "b", "c", "d", "e", "f"}
	pick := func(s *FedAvg, round int) []string {
		tasks, err := s.Configure(round, fed.Weights{0}, clients)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, task := range tasks {
			out = append(out, task.Client)
		}
		return out
	}
	run := &FedAvg{Fraction: 0.5, Rand: rand.NewPCG(7, 8)}
	pick(run, 1)
	state, err := run.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	resumed := &FedAvg{Fraction: 0.5, Rand: rand.NewPCG(0, 0)}
	if err := resumed.UnmarshalBinary(state); err != nil {
		t.Fatal(err)
	}
	for r := 2; r <= 4; r++ {
		if a, b := pick(run, r), pick(resumed, r); !slices.Equal(a, b) {
			t.Fatalf("round %d: %v uninterrupted, %v resumed", r, a, b)
		}
	}
	if err := (&FedAvg{}).UnmarshalBinary(state); err == nil {
		t.Fatal("a state with a random source restored into a strategy without one")
	}
	if err := resumed.UnmarshalBinary(nil); err == nil {
		t.Fatal("a state without a random source restored into a strategy with one")
	}
}
