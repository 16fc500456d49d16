package train_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

func simData(t *testing.T, n int, seed uint64) *data.Dataset {
	t.Helper()
	ds, err := data.Simulate(1, n, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func netConfig() model.Config {
	return model.Config{Latent: 8, Features: 4, Modalities: []model.Modality{
		{Name: "image", Shape: []int{3, 32, 32}, Encoder: model.Encoder{Type: model.EncConv2d, Channels: []int{4}, Strides: []int{4}, BatchNorm: true}},
		{Name: "text", Shape: []int{10, 50}, Encoder: model.Encoder{Type: model.EncBiLSTM, LSTMHidden: 4, LSTMLayers: 1, Dropout: 0.2}},
		{Name: "vector", Shape: []int{32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{8}, Dropout: 0.3}},
	}, Head: model.Head{Hidden: []int{8}, Dropout: 0.2}}
}

// TestSameSeedSameParameters trains twice from the same seed — with
// dropout, batch normalisation and every loss term — and expects
// bit-identical parameters; a different seed must give different ones.
func TestSameSeedSameParameters(t *testing.T) {
	ds := simData(t, 48, 1)
	cfg := train.Config{Epochs: 2, BatchSize: 16, Loss: train.DefaultLoss()}
	run := func(seed uint64) []float32 {
		tr, err := train.New(netConfig(), cfg)
		if err != nil {
			t.Fatal(err)
		}
		w, err := train.InitialWeights(netConfig(), 5)
		if err != nil {
			t.Fatal(err)
		}
		st := &train.ClientState{}
		for round := range 2 { // the second round has a previous model: every term is on
			res, err := tr.Fit(train.Task{Data: ds, Global: w, State: st, Seed: seed + uint64(round), MISeed: 9})
			if err != nil {
				t.Fatal(err)
			}
			w = res.Weights
			if round == 1 && res.Terms.Con == 0 {
				t.Fatal("the contrastive term was off in the second round")
			}
		}
		return w
	}
	a, b, c := run(1), run(1), run(2)
	if !slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) }) {
		t.Fatal("two runs with the same seed differ")
	}
	if slices.Equal(a, c) {
		t.Fatal("runs with different seeds are identical")
	}
}

// TestTrainingLearns checks that local training lowers the error on a
// task the network can fit.
func TestTrainingLearns(t *testing.T) {
	ds := simData(t, 200, 2)
	mc := model.Config{Latent: 32, Features: 8, Modalities: []model.Modality{
		{Name: "image", Shape: []int{3, 32, 32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{32}}},
		{Name: "text", Shape: []int{10, 50}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{32}}},
		{Name: "vector", Shape: []int{32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{32}}},
	}}
	tr, err := train.New(mc, train.Config{Epochs: 10, Loss: train.DefaultLoss()})
	if err != nil {
		t.Fatal(err)
	}
	w, _ := train.InitialWeights(mc, 1)
	before, err := tr.Evaluate(w, ds)
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Fit(train.Task{Data: ds, Global: w, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	after, _ := tr.Evaluate(res.Weights, ds)
	if after.MSE(0) > 0.5*before.MSE(0) {
		t.Fatalf("training MSE went from %.4f to %.4f", before.MSE(0), after.MSE(0))
	}
}

// TestOptimiserStatePersists checks that a client's Adam moments carry
// over between rounds, as the author's clients kept their optimiser.
func TestOptimiserStatePersists(t *testing.T) {
	ds := simData(t, 40, 3)
	tr, _ := train.New(netConfig(), train.Config{Epochs: 1, BatchSize: 20})
	w, _ := train.InitialWeights(netConfig(), 1)
	st := &train.ClientState{}
	if _, err := tr.Fit(train.Task{Data: ds, Global: w, State: st}); err != nil {
		t.Fatal(err)
	}
	if st.Optim.Numbers["step"] != 2 || st.Prev == nil {
		t.Fatalf("after one round: step %v, previous model kept %v", st.Optim.Numbers["step"], st.Prev != nil)
	}
	tr.Fit(train.Task{Data: ds, Global: w, State: st})
	if st.Optim.Numbers["step"] != 4 {
		t.Fatalf("after two rounds: step %v, want 4", st.Optim.Numbers["step"])
	}
}

func TestFedProxPullsTowardsTheGlobalModel(t *testing.T) {
	ds := simData(t, 64, 4)
	dist := func(prox float64) float64 {
		tr, _ := train.New(netConfig(), train.Config{Epochs: 3, BatchSize: 16, LR: 0.01})
		w, _ := train.InitialWeights(netConfig(), 1)
		res, err := tr.Fit(train.Task{Data: ds, Global: w, Seed: 1, Prox: prox})
		if err != nil {
			t.Fatal(err)
		}
		var s float64
		for i := range w {
			d := float64(res.Weights[i] - w[i])
			s += d * d
		}
		return math.Sqrt(s)
	}
	if free, prox := dist(0), dist(10); prox >= free {
		t.Fatalf("distance from the global model: %.4f without the proximal term, %.4f with μ = 10", free, prox)
	}
}

func TestBadTasks(t *testing.T) {
	tr, _ := train.New(netConfig(), train.Config{})
	w, _ := train.InitialWeights(netConfig(), 1)
	ds := simData(t, 10, 5)
	if _, err := tr.Fit(train.Task{Data: ds, Global: w[:10]}); err == nil {
		t.Error("a global model of the wrong length was accepted")
	}
	bad := ds.Clone()
	bad.Modalities[2].Shape = []int{16}
	bad.Modalities[2].Data = bad.Modalities[2].Data[:10*16]
	if _, err := tr.Fit(train.Task{Data: bad, Global: w}); err == nil {
		t.Error("a modality of the wrong shape was accepted")
	}
	if _, err := train.New(netConfig(), train.Config{Optimizer: "rmsprop"}); err == nil {
		t.Error("an unknown optimiser was accepted")
	}
}

// TestL1ZeroesEncoderInputWeights trains with and without the L1 penalty:
// with it, a good share of every encoder's input weights is exactly zero
// and no other weight is touched by it; without it, none is zero.
func TestL1ZeroesEncoderInputWeights(t *testing.T) {
	ds := simData(t, 64, 5)
	mcfg := model.Config{Latent: 8, Features: 4, Modalities: []model.Modality{
		{Name: "image", Shape: []int{3, 32, 32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
		{Name: "text", Shape: []int{10, 50}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{6}}},
		{Name: "vector", Shape: []int{32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
	}}
	zeros := func(l1 float64) map[string]float64 {
		tr, err := train.New(mcfg, train.Config{Epochs: 3, BatchSize: 16, LR: 0.01, L1: l1})
		if err != nil {
			t.Fatal(err)
		}
		w, _ := train.InitialWeights(mcfg, 1)
		res, err := tr.Fit(train.Task{Data: ds, Global: w, Seed: 1})
		if err != nil {
			t.Fatal(err)
		}
		share := map[string]float64{}
		for _, e := range tr.Layout() {
			n := 0
			v := res.Weights[e.Offset : e.Offset+e.Param.Len()]
			for _, x := range v {
				if x == 0 {
					n++
				}
			}
			share[e.Name] = float64(n) / float64(len(v))
		}
		return share
	}
	with, without := zeros(0.5), zeros(0)
	for name, s := range with {
		input := name == "encoders.image.1.weight" || name == "encoders.text.1.weight" || name == "encoders.vector.1.weight"
		switch {
		case input && s < 0.25:
			t.Errorf("%s: %.0f%% zeros with L1, want a good share", name, 100*s)
		case !input && s > 0 && without[name] == 0 && !strings.HasSuffix(name, "bias"):
			t.Errorf("%s: %.0f%% zeros with L1, which must only touch input weights", name, 100*s)
		}
		if without[name] > 0 && strings.HasSuffix(name, "weight") {
			t.Errorf("%s: %.0f%% zeros without L1", name, 100*without[name])
		}
	}
	if _, err := train.New(mcfg, train.Config{L1: -1}); err == nil || !strings.Contains(err.Error(), "l1") {
		t.Errorf("negative l1: %v, want an error naming l1", err)
	}
}

// TestMissingResponses trains on two responses of which one is missing
// for half the samples and the other for a tenth: each response is
// learned from the samples that have it, nothing turns NaN, and the
// statistics count each response's own samples.
func TestMissingResponses(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	make2 := func(n int, missing bool) *data.Dataset {
		x := make([]float32, n*6)
		y := make([]float32, n*2)
		for i := range n {
			var a, b float32
			for k := range 6 {
				v := float32(r.NormFloat64())
				x[i*6+k] = v
				a += v * float32(k+1) / 6
				b += v * float32(6-k) / 6
			}
			y[2*i], y[2*i+1] = a, b
			if missing && i%2 == 0 {
				y[2*i+1] = float32(math.NaN())
			}
			if missing && i%10 == 3 {
				y[2*i] = float32(math.NaN())
			}
		}
		ds, err := data.New(n, []data.Modality{{Name: "x", Kind: data.Vector, Shape: []int{6}, Data: x}}, []string{"a", "b"}, y)
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	trainSet, testSet := make2(160, true), make2(100, false)
	mc := model.Config{Latent: 16, Features: 4, Responses: 2, Modalities: []model.Modality{{Name: "x", Shape: []int{6}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}}}, Head: model.Head{Hidden: []int{}}}
	for _, est := range []string{"gaussian", "correlation"} {
		t.Run(est, func(t *testing.T) {
			l := train.DefaultLoss()
			l.MIEstimator, l.MI = est, 0.1
			tr, err := train.New(mc, train.Config{Epochs: 40, BatchSize: 16, LR: 0.01, Loss: l})
			if err != nil {
				t.Fatal(err)
			}
			w, err := train.InitialWeights(mc, 3)
			if err != nil {
				t.Fatal(err)
			}
			res, err := tr.Fit(train.Task{Data: trainSet, Global: w, Seed: 1, MISeed: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, v := range res.Weights {
				if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
					t.Fatal("a weight is not finite")
				}
			}
			if m := res.Terms; math.IsNaN(m.Total) || math.IsNaN(m.MSE) || math.IsNaN(m.MI) {
				t.Fatalf("terms %+v", m)
			}
			st, err := tr.Evaluate(res.Weights, testSet)
			if err != nil {
				t.Fatal(err)
			}
			for j := range 2 {
				if r2 := st.R2(j); r2 < 0.9 {
					t.Errorf("response %d: test R² %.3f, want ≥ 0.9", j, r2)
				}
			}
			own, err := tr.Evaluate(res.Weights, trainSet)
			if err != nil {
				t.Fatal(err)
			}
			if own.N != 160 || own.Observed(0) != 144 || own.Observed(1) != 80 || math.IsNaN(own.MSE(1)) {
				t.Errorf("training-set statistics: n %d, observed %d and %d, MSE %v", own.N, own.Observed(0), own.Observed(1), own.MSE(1))
			}
		})
	}
}

func TestStatsCountMissing(t *testing.T) {
	nan := float32(math.NaN())
	a := train.PredictionStats([]float32{1, 1, 2, 2, 3, 3}, []float32{1, nan, 2, 4, nan, nan}, 2)
	b := train.PredictionStats([]float32{0, 0}, []float32{1, 1}, 2)
	if a.Observed(0) != 2 || a.Observed(1) != 1 || a.MSE(1) != 4 || a.MSE(0) != 0 {
		t.Fatalf("stats %+v", a)
	}
	a.Add(b)
	if a.N != 4 || a.Observed(0) != 3 || a.Observed(1) != 2 || a.MSE(1) != 2.5 {
		t.Fatalf("sum %+v", a)
	}
	none := train.PredictionStats([]float32{1}, []float32{nan}, 1)
	if !math.IsNaN(none.MSE(0)) || !math.IsNaN(none.R2(0)) {
		t.Errorf("no observation: MSE %v R² %v, want NaN", none.MSE(0), none.R2(0))
	}
}
