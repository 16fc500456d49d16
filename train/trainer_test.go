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
