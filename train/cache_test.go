package train

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
)

// TestLatentCacheTrainsAsTheFullNetwork trains with frozen encoders twice
// — once on latents computed at the start of the round, once through the
// whole network every step — over two rounds with every loss term on, and
// expects the same weights up to float rounding.
func TestLatentCacheTrainsAsTheFullNetwork(t *testing.T) {
	ds, err := data.Simulate(1, 40, rand.New(rand.NewPCG(5, 1)))
	if err != nil {
		t.Fatal(err)
	}
	linear := model.Encoder{Type: model.EncMLP, Hidden: []int{}}
	mc := model.Config{Latent: 6, Features: 3, Modalities: []model.Modality{
		{Name: "image", Shape: []int{3, 32, 32}, Encoder: linear},
		{Name: "text", Shape: []int{10, 50}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{5}}},
		{Name: "vector", Shape: []int{32}, Encoder: linear},
	}, Fusion: model.Fusion{Hidden: []int{7}}, Head: model.Head{Hidden: []int{4}}}
	cfg := Config{Epochs: 2, BatchSize: 8, Freeze: []string{"encoders"}, Loss: Loss{MI: 0.1, KL: 0.1, Con: 0.1, MIEstimator: "gaussian"}}
	run := func(cache bool) []float32 {
		tr, err := New(mc, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if !tr.latentCache {
			t.Fatal("frozen linear encoders should use the latent cache")
		}
		tr.latentCache = cache
		w, err := InitialWeights(mc, 3)
		if err != nil {
			t.Fatal(err)
		}
		st := &ClientState{}
		for round := range 2 { // the second round has the contrastive term
			res, err := tr.Fit(Task{Data: ds, Global: w, State: st, Seed: uint64(round), MISeed: 1})
			if err != nil {
				t.Fatal(err)
			}
			w = res.Weights
		}
		return w
	}
	a, b := run(true), run(false)
	var worst float64
	for i := range a {
		worst = math.Max(worst, math.Abs(float64(a[i]-b[i])))
	}
	if worst > 1e-4 {
		t.Fatalf("weights differ by up to %v with and without the latent cache", worst)
	}
}

// BenchmarkFrozenEncoders times one round of local training (5 epochs of
// a corn-sized client: 43 samples of three 700-channel spectra, batch
// 16) with frozen linear encoders, with and without the latent cache.
func BenchmarkFrozenEncoders(b *testing.B) {
	n, p := 43, 700
	r := rand.New(rand.NewPCG(1, 2))
	var mods []data.Modality
	var ms []model.Modality
	for _, name := range []string{"m5", "mp5", "mp6"} {
		x := make([]float32, n*p)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		mods = append(mods, data.Modality{Name: name, Kind: data.Vector, Shape: []int{p}, Data: x})
		ms = append(ms, model.Modality{Name: name, Shape: []int{p}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}})
	}
	y := make([]float32, n)
	for i := range y {
		y[i] = float32(r.NormFloat64())
	}
	ds, err := data.New(n, mods, []string{"y"}, y)
	if err != nil {
		b.Fatal(err)
	}
	mc := model.Config{Latent: 32, Features: 8, Modalities: ms, Fusion: model.Fusion{Hidden: []int{32}}, Head: model.Head{Hidden: []int{16}}}
	cfg := Config{Epochs: 5, BatchSize: 16, Freeze: []string{"encoders"}, Loss: Loss{MI: 0.01, KL: 0.01, Con: 0.01}}
	for _, cache := range []bool{true, false} {
		name := "cache"
		if !cache {
			name = "full"
		}
		b.Run(name, func(b *testing.B) {
			tr, err := New(mc, cfg)
			if err != nil {
				b.Fatal(err)
			}
			tr.latentCache = cache
			w, _ := InitialWeights(mc, 1)
			st := &ClientState{}
			for i := 0; b.Loop(); i++ {
				if _, err := tr.Fit(Task{Data: ds, Global: w, State: st, Seed: uint64(i), MISeed: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
