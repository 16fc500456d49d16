package strategy_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/sim"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
)

func ups(ws ...fed.Weights) []fed.Update {
	out := make([]fed.Update, len(ws))
	for i, w := range ws {
		out[i] = fed.Update{Client: string(rune('a' + i)), Kind: fed.Fit, Weights: w, N: 1 + i}
	}
	return out
}

// TestRulesExact checks each rule's arithmetic on small cases worked out
// by hand (global 0, so the updates are the models).
func TestRulesExact(t *testing.T) {
	zero := fed.Weights{0, 0}
	cases := []struct {
		name string
		rule strategy.Rule
		in   []fed.Update
		want []float64
	}{
		{"median odd", strategy.Median{}, ups(fed.Weights{1, 5}, fed.Weights{2, -1}, fed.Weights{100, 3}), []float64{2, 3}},
		{"median even", strategy.Median{}, ups(fed.Weights{1, 0}, fed.Weights{2, 0}, fed.Weights{4, 0}, fed.Weights{100, 0}), []float64{3, 0}},
		{"trimmed mean t=1", strategy.TrimmedMean{Trim: 1}, ups(fed.Weights{1, 9}, fed.Weights{2, 8}, fed.Weights{3, 7}, fed.Weights{-100, 6}, fed.Weights{100, 5}), []float64{2, 7}},
		{"trimmed mean t=0 is the mean", strategy.TrimmedMean{}, ups(fed.Weights{1, 1}, fed.Weights{2, 2}, fed.Weights{6, 3}), []float64{3, 2}},
		{"trimmed mean t too large is the median", strategy.TrimmedMean{Trim: 5}, ups(fed.Weights{1, 1}, fed.Weights{2, 2}, fed.Weights{60, 3}), []float64{2, 2}},
		// Distances² from (0,0),(1,0),(0,1) to each other are 1, 1, 2; to
		// (10,10) about 181-200. f = 1, n = 4: one neighbour each.
		{"krum", strategy.Krum{F: 1, Select: 1}, ups(fed.Weights{0, 0}, fed.Weights{1, 0}, fed.Weights{0, 1}, fed.Weights{10, 10}), []float64{0, 0}},
		{"multi-krum", strategy.Krum{F: 1}, ups(fed.Weights{0, 0}, fed.Weights{1, 0}, fed.Weights{0, 1}, fed.Weights{10, 10}), []float64{1.0 / 3, 1.0 / 3}},
		// Four corners of a square: the geometric median is its centre.
		{"geometric median", strategy.GeoMedian{MaxIter: 100, Tol: 1e-12}, ups(fed.Weights{0, 0}, fed.Weights{2, 0}, fed.Weights{0, 2}, fed.Weights{2, 2}), []float64{1, 1}},
		// τ = 10 clips nothing but the far update, to length 10 along x.
		{"centered clipping", &strategy.CenteredClip{Tau: 10, Iters: 1}, ups(fed.Weights{1, 0}, fed.Weights{-1, 0}, fed.Weights{1000, 0}), []float64{10.0 / 3, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.rule.Merge(zero, c.in, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i := range c.want {
				if math.Abs(got[i]-c.want[i]) > 1e-6 {
					t.Fatalf("got %v, want %v", got, c.want)
				}
			}
		})
	}
}

// honestAndHostile returns seven honest updates scattered around
// centre and three hostile ones, the given distance away.
func honestAndHostile(centre float32, far float32) []fed.Update {
	rng := rand.New(rand.NewPCG(1, 2))
	var ws []fed.Weights
	for range 7 {
		w := make(fed.Weights, 20)
		for i := range w {
			w[i] = centre + float32(rng.NormFloat64()*0.1)
		}
		ws = append(ws, w)
	}
	for range 3 {
		w := make(fed.Weights, 20)
		for i := range w {
			w[i] = far
		}
		ws = append(ws, w)
	}
	return ups(ws...)
}

// TestRulesResistThreeOfTen puts three hostile updates 1e6 away beside
// seven honest ones around 1: every robust rule stays near 1, the mean
// does not.
func TestRulesResistThreeOfTen(t *testing.T) {
	in := honestAndHostile(1, 1e6)
	global := make(fed.Weights, 20)
	for _, c := range []struct {
		name string
		rule strategy.Rule
	}{
		{"median", strategy.Median{}},
		{"trimmed mean", strategy.TrimmedMean{Trim: 3}},
		{"krum", strategy.Krum{F: 3, Select: 1}},
		{"multi-krum", strategy.Krum{F: 3}},
		{"geometric median", strategy.GeoMedian{}},
		{"centered clipping", &strategy.CenteredClip{}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, err := c.rule.Merge(global, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range got {
				// Centered clipping lets each hostile update move the result by
				// τ/n, τ twice the median distance: at most 3·2·0.45/10.
				if math.Abs(v-1) > 0.35 {
					t.Fatalf("value %d is %v, want about 1", i, v)
				}
			}
		})
	}
	mean, _ := strategy.TrimmedMean{}.Merge(global, in, nil)
	if mean[0] < 1e5 {
		t.Fatalf("the plain mean %v resisted: the test's attack is too weak", mean[0])
	}
}

// TestRobustIsDeterministic merges the same updates given in another
// order, and again: the result is the same to the bit, since the
// strategy sorts them by client and sums in float64 in that order.
func TestRobustIsDeterministic(t *testing.T) {
	in := honestAndHostile(1, 50)
	global := make(fed.Weights, 20)
	rev := slices.Clone(in)
	slices.Reverse(rev)
	for _, rule := range []strategy.Rule{strategy.Median{}, strategy.TrimmedMean{Trim: 2}, strategy.Krum{F: 2}, strategy.GeoMedian{}, &strategy.CenteredClip{}} {
		a, err := (&strategy.Robust{Rule: rule}).Aggregate(1, global, in)
		if err != nil {
			t.Fatal(err)
		}
		if cc, ok := rule.(*strategy.CenteredClip); ok {
			*cc = strategy.CenteredClip{} // the same starting state
		}
		b, err := (&strategy.Robust{Rule: rule}).Aggregate(1, global, rev)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
				t.Fatalf("%T: value %d is %v in one order, %v in the other", rule, i, a[i], b[i])
			}
		}
	}
}

// TestRobustSmoothingAndLocalSpans checks that Robust smooths like
// FedAvg and keeps FedBN's spans, which the rule does not see: a huge
// local value does not make its client an outlier.
func TestRobustSmoothingAndLocalSpans(t *testing.T) {
	s := &strategy.Robust{Base: strategy.FedAvg{Smoothing: 0.5, Local: []strategy.Range{{From: 2, To: 3}}}, Rule: strategy.Krum{F: 1, Select: 1}}
	global := fed.Weights{0, 0, 7}
	in := ups(fed.Weights{2, 2, 1e9}, fed.Weights{2.1, 2, 0}, fed.Weights{1.9, 2, 5}, fed.Weights{50, 50, 0})
	got, err := s.Aggregate(1, global, in)
	if err != nil {
		t.Fatal(err)
	}
	if got[0] != 1 || got[1] != 1 || got[2] != 7 {
		t.Fatalf("got %v, want [1 1 7]: half of Krum's choice (2, 2), the local span kept", got)
	}
	if tasks, _ := s.Configure(1, global, []string{"a", "b"}); len(tasks) != 2 || !tasks[0].KeepNormLocal {
		t.Fatalf("configure: %+v", tasks)
	}
}

// TestCenteredClipStateSurvivesACheckpoint saves the strategy after a
// round, restores it into a new one, and checks that the next round
// gives the same model as without the stop.
func TestCenteredClipStateSurvivesACheckpoint(t *testing.T) {
	global := make(fed.Weights, 20)
	in := honestAndHostile(1, 30)
	a := &strategy.Robust{Rule: &strategy.CenteredClip{}}
	if _, err := a.Aggregate(1, global, in); err != nil {
		t.Fatal(err)
	}
	saved, err := a.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	b := &strategy.Robust{Rule: &strategy.CenteredClip{}}
	if err := b.UnmarshalBinary(saved); err != nil {
		t.Fatal(err)
	}
	in2 := honestAndHostile(2, -30)
	wa, _ := a.Aggregate(2, global, in2)
	wb, _ := b.Aggregate(2, global, in2)
	if !slices.Equal(wa, wb) {
		t.Fatalf("resumed %v, uninterrupted %v", wb, wa)
	}
	fresh, _ := (&strategy.Robust{Rule: &strategy.CenteredClip{}}).Aggregate(2, global, in2)
	if slices.Equal(fresh, wa) {
		t.Fatal("the state made no difference: the test checks nothing")
	}
	if err := (&strategy.Robust{Rule: strategy.Median{}}).UnmarshalBinary(saved); err == nil {
		t.Fatal("a median strategy accepted centered clipping's state")
	}
}

// TestServerWithRobustRule runs rounds over the in-process fleet with a
// robust rule (the server holds the updates: Robust does not stream)
// and a client that sends an enormous update: the model follows the
// honest clients.
func TestServerWithRobustRule(t *testing.T) {
	point := func(v float32, n int) fed.Client {
		return fed.ClientFunc(func(_ context.Context, t fed.Task) (fed.Update, error) {
			return fed.Update{Kind: fed.Fit, Weights: fed.Weights{v, v}, N: n}, nil
		})
	}
	clients := map[string]fed.Client{"a": point(1, 5), "b": point(1.5, 5), "c": point(2, 5), "evil": point(1e9, 1<<30)}
	for _, rule := range []strategy.Rule{strategy.Median{}, strategy.TrimmedMean{Trim: 1}, strategy.Krum{F: 1}, strategy.GeoMedian{}, &strategy.CenteredClip{}} {
		var rep fed.RoundReport
		s := &fed.Server{Strategy: &strategy.Robust{Rule: rule}, Fleet: sim.New(clients), Progress: func(r fed.RoundReport) { rep = r }}
		w, err := s.Run(context.Background(), fed.Weights{0, 0}, 1, 1)
		if err != nil {
			t.Fatal(err)
		}
		if w[0] < 0.5 || w[0] > 2.5 {
			t.Errorf("%T: global %v, want within the honest updates' range", rule, w)
		}
		if len(rep.Accepted) != 4 {
			t.Errorf("%T: accepted %v: without a norm bound every update reaches the rule", rule, rep.Accepted)
		}
	}
}
