package strategy_test

import (
	"encoding"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
)

// updates returns a round's fit updates of three clients around global,
// with unequal sample counts.
func updates(r *rand.Rand, global fed.Weights) []fed.Update {
	var ups []fed.Update
	for k, name := range []string{"a", "b", "c"} {
		w := global.Clone()
		for i := range w {
			w[i] += float32(r.NormFloat64() * 0.1)
		}
		ups = append(ups, fed.Update{Client: name, Kind: fed.Fit, Weights: w, N: 10 + 5*k})
	}
	return ups
}

func mean(ups []fed.Update) []float64 {
	out := make([]float64, len(ups[0].Weights))
	var n float64
	for _, u := range ups {
		n += float64(u.N)
		for i, v := range u.Weights {
			out[i] += float64(u.N) * float64(v)
		}
	}
	for i := range out {
		out[i] /= n
	}
	return out
}

// TestServerOptimisers runs every server optimiser for three rounds
// against the update rules of Reddi et al. (2021) written out here, with
// the last value of the vector a buffer that only FedAvg's mean moves.
func TestServerOptimisers(t *testing.T) {
	const lr, b1, b2, tau = 0.3, 0.9, 0.99, 1e-3
	for _, method := range []string{strategy.OptAvgM, strategy.OptAdagrad, strategy.OptAdam, strategy.OptYogi} {
		t.Run(method, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			s := &strategy.ServerOpt{Method: method, LR: lr, Beta1: b1, Beta2: b2, Tau: tau, Weights: 4}
			global := fed.Weights{0.5, -0.2, 0.1, 0.0, 3}
			m := make([]float64, 4)
			v := []float64{tau * tau, tau * tau, tau * tau, tau * tau}
			want := make([]float64, 5)
			for i, x := range global {
				want[i] = float64(x)
			}
			for round := 1; round <= 3; round++ {
				ups := updates(r, global)
				avg := mean(ups)
				for i := range 4 {
					d := avg[i] - want[i]
					switch method {
					case strategy.OptAvgM:
						m[i] = b1*m[i] + d
						want[i] += lr * m[i]
						continue
					case strategy.OptAdagrad:
						v[i] += d * d
					case strategy.OptAdam:
						v[i] = b2*v[i] + (1-b2)*d*d
					case strategy.OptYogi:
						sgn := 0.0
						if v[i]-d*d > 0 {
							sgn = 1
						} else if v[i]-d*d < 0 {
							sgn = -1
						}
						v[i] -= (1 - b2) * d * d * sgn
					}
					m[i] = b1*m[i] + (1-b1)*d
					want[i] += lr * m[i] / (math.Sqrt(v[i]) + tau)
				}
				want[4] = avg[4]
				next, err := s.Aggregate(round, global, ups)
				if err != nil {
					t.Fatal(err)
				}
				for i := range want {
					if math.Abs(float64(next[i])-want[i]) > 1e-5 {
						t.Fatalf("round %d value %d: %v, want %v", round, i, next[i], want[i])
					}
				}
				global = next
			}
		})
	}
	t.Run("fedavgm without momentum is fedavg", func(t *testing.T) {
		r := rand.New(rand.NewPCG(3, 4))
		global := fed.Weights{1, 2, 3}
		ups := updates(r, global)
		a, err := (&strategy.ServerOpt{Method: strategy.OptAvgM, LR: 1}).Aggregate(1, global, ups)
		if err != nil {
			t.Fatal(err)
		}
		b, err := (&strategy.FedAvg{}).Aggregate(1, global, ups)
		if err != nil {
			t.Fatal(err)
		}
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-6 {
				t.Fatalf("value %d: %v, FedAvg %v", i, a[i], b[i])
			}
		}
	})
	t.Run("bad settings", func(t *testing.T) {
		s := &strategy.ServerOpt{Method: strategy.OptAdam, LR: 0.1, Beta1: 1.5}
		if _, err := s.Aggregate(1, fed.Weights{1}, []fed.Update{{Client: "a", Weights: fed.Weights{2}, N: 1}}); err == nil {
			t.Fatal("β₁ = 1.5 accepted")
		}
	})
}

type stateful interface {
	fed.StreamingStrategy
	encoding.BinaryMarshaler
	encoding.BinaryUnmarshaler
}

// strategies returns fresh instances of every stateful strategy.
func strategies() map[string]func() stateful {
	return map[string]func() stateful{
		"fedadam": func() stateful {
			return &strategy.ServerOpt{Method: strategy.OptAdam, LR: 0.1, Beta1: 0.9, Beta2: 0.99, Tau: 1e-3, FedAvg: strategy.FedAvg{Rand: rand.NewPCG(1, 1)}}
		},
		"fedavgm": func() stateful {
			return &strategy.ServerOpt{Method: strategy.OptAvgM, LR: 0.5, Beta1: 0.9}
		},
		"scaffold": func() stateful { return &strategy.Scaffold{LR: 1, FedAvg: strategy.FedAvg{Rand: rand.NewPCG(1, 1)}} },
		"feddyn":   func() stateful { return &strategy.FedDyn{Alpha: 0.1} },
	}
}

// clientAnswers plays clients that answer SCAFFOLD tasks with a control
// change and train nothing else.
func clientAnswers(t *testing.T, r *rand.Rand, tasks []fed.Task, global fed.Weights) []fed.Update {
	t.Helper()
	ups := updates(r, global)
	for i := range ups {
		var ex strategy.FitExtra
		if len(tasks[i].Payload) > 0 {
			if err := ex.UnmarshalBinary(tasks[i].Payload); err != nil {
				t.Fatal(err)
			}
		}
		if ex.Method == strategy.MethodScaffold {
			d := make([]float32, len(global))
			for j := range d {
				d[j] = float32(r.NormFloat64())
			}
			ups[i].Payload, _ = strategy.FitExtra{Method: strategy.MethodScaffold, Control: d}.MarshalBinary()
		}
	}
	return ups
}

// TestStatefulStrategies checks, for every strategy with state, that
// streaming equals Aggregate and that a strategy restored from a
// checkpoint taken after round 2 continues exactly as the original.
func TestStatefulStrategies(t *testing.T) {
	for name, make := range strategies() {
		t.Run(name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(5, 6))
			a, b := make(), make()
			global := fed.Weights{0.1, 0.2, -0.3, 0.4}
			names := []string{"a", "b", "c"}
			var saved []byte
			var trail [][]fed.Update
			var globals []fed.Weights
			for round := 1; round <= 4; round++ {
				tasks, err := a.Configure(round, global, names)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := b.Configure(round, global, names); err != nil {
					t.Fatal(err)
				}
				ups := clientAnswers(t, r, tasks, global)
				next, err := a.Aggregate(round, global, ups)
				if err != nil {
					t.Fatal(err)
				}
				acc := b.Accumulate(round, global)
				for _, u := range ups {
					if err := acc.Add(u); err != nil {
						t.Fatal(err)
					}
				}
				streamed, err := acc.Result()
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(next, streamed) {
					t.Fatalf("round %d: streaming gave %v, Aggregate %v", round, streamed, next)
				}
				trail, globals = append(trail, ups), append(globals, global)
				if round == 2 {
					if saved, err = a.MarshalBinary(); err != nil {
						t.Fatal(err)
					}
				}
				global = next
			}
			c := make()
			if err := c.UnmarshalBinary(saved); err != nil {
				t.Fatal(err)
			}
			g := globals[2]
			for round := 3; round <= 4; round++ {
				if _, err := c.Configure(round, g, names); err != nil {
					t.Fatal(err)
				}
				next, err := c.Aggregate(round, g, trail[round-1])
				if err != nil {
					t.Fatal(err)
				}
				g = next
			}
			if !slices.Equal(g, global) {
				t.Fatalf("restored after round 2: %v, original %v", g, global)
			}
			for _, bad := range [][]byte{saved[:len(saved)-1], append(slices.Clone(saved), 0)} {
				if err := make().UnmarshalBinary(bad); err == nil {
					t.Fatalf("a state of %d bytes (saved %d) was accepted", len(bad), len(saved))
				}
			}
		})
	}
}

// TestScaffold checks the server side of SCAFFOLD against its rule
// c⁺ = c + Σ (n_i/N)·Δc_i, and that an update without its control change
// is refused.
func TestScaffold(t *testing.T) {
	s := &strategy.Scaffold{LR: 1, Weights: 2}
	global := fed.Weights{1, 1, 7} // the last value is a buffer
	tasks, err := s.Configure(1, global, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	var ex strategy.FitExtra
	if err := ex.UnmarshalBinary(tasks[0].Payload); err != nil || ex.Method != "scaffold" || !slices.Equal(ex.Control, []float32{0, 0}) {
		t.Fatalf("first task carries %+v (%v), want c = 0", ex, err)
	}
	up := func(c string, n int, w fed.Weights, dc []float32) fed.Update {
		b, _ := strategy.FitExtra{Method: "scaffold", Control: dc}.MarshalBinary()
		return fed.Update{Client: c, Kind: fed.Fit, N: n, Weights: w, Payload: b}
	}
	next, err := s.Aggregate(1, global, []fed.Update{
		up("a", 1, fed.Weights{2, 0, 1}, []float32{1, -1}),
		up("b", 3, fed.Weights{4, 0, 5}, []float32{3, 1}),
	})
	if err != nil {
		t.Fatal(err)
	}
	if want := (fed.Weights{3.5, 0, 4}); !slices.Equal(next, want) {
		t.Fatalf("w⁺ = %v, want %v", next, want)
	}
	tasks, _ = s.Configure(2, next, []string{"a", "b"})
	ex.UnmarshalBinary(tasks[0].Payload)
	if want := []float32{2.5, 0.5}; !slices.Equal(ex.Control, want) { // (1·1 + 3·3)/4, (1·−1 + 3·1)/4
		t.Fatalf("c⁺ = %v, want %v", ex.Control, want)
	}
	if _, err := s.Aggregate(2, next, []fed.Update{{Client: "a", Kind: fed.Fit, N: 1, Weights: fed.Weights{1, 1, 1}}}); err == nil {
		t.Fatal("an update without its control change was accepted")
	}
}

// TestFedDyn checks FedDyn's server rule: h⁺ = h − α·Σ(n_i/N)(y_i − w),
// w⁺ = avg − h⁺/α.
func TestFedDyn(t *testing.T) {
	s := &strategy.FedDyn{Alpha: 0.5, Weights: 1}
	global := fed.Weights{1, 9}
	tasks, err := s.Configure(1, global, []string{"a", "b"})
	if err != nil {
		t.Fatal(err)
	}
	var ex strategy.FitExtra
	if err := ex.UnmarshalBinary(tasks[1].Payload); err != nil || ex.Method != "feddyn" || ex.Alpha != 0.5 {
		t.Fatalf("task carries %+v (%v)", ex, err)
	}
	ups := []fed.Update{{Client: "a", N: 1, Weights: fed.Weights{3, 1}}, {Client: "b", N: 1, Weights: fed.Weights{5, 3}}}
	next, err := s.Aggregate(1, global, ups)
	if err != nil {
		t.Fatal(err)
	}
	// avg = 4; h = −0.5·(2 + 4)/2 = −1.5; w = 4 + 1.5/0.5 = 7; buffer: mean 2.
	if want := (fed.Weights{7, 2}); !slices.Equal(next, want) {
		t.Fatalf("w⁺ = %v, want %v", next, want)
	}
}

// TestFitExtraRoundTrip checks the payload codec and its refusals.
func TestFitExtraRoundTrip(t *testing.T) {
	in := strategy.FitExtra{Method: "scaffold", Alpha: 0.25, Control: []float32{1, -2.5, 3e-8}}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out strategy.FitExtra
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if out.Method != in.Method || out.Alpha != in.Alpha || !slices.Equal(out.Control, in.Control) {
		t.Fatalf("round trip gave %+v, want %+v", out, in)
	}
	nan, _ := strategy.FitExtra{Method: "x", Control: []float32{float32(math.NaN())}}.MarshalBinary()
	for name, bad := range map[string][]byte{
		"empty": nil, "other magic": []byte("FDX2abc"), "truncated": b[:len(b)-2], "padded": append(slices.Clone(b), 1), "nan": nan,
	} {
		if err := out.UnmarshalBinary(bad); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// FuzzFitExtra feeds the decoder arbitrary bytes: it must not panic, and
// whatever it accepts must encode back to the same bytes.
func FuzzFitExtra(f *testing.F) {
	b, _ := strategy.FitExtra{Method: "feddyn", Alpha: 0.1}.MarshalBinary()
	f.Add(b)
	b, _ = strategy.FitExtra{Method: "scaffold", Control: []float32{1, 2}}.MarshalBinary()
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		var e strategy.FitExtra
		if e.UnmarshalBinary(in) != nil {
			return
		}
		out, err := e.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(out, in) {
			t.Fatalf("re-encoding changed %x to %x", in, out)
		}
	})
}
