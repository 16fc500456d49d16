package fdrmfl

import (
	"context"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// tabular returns n rows of two vector modalities (p inputs each) and a
// response that is signal·x₀ + noise.
func tabular(t *testing.T, n, p int, signal float64, seed uint64) *data.Dataset {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	a, b, y := make([]float32, n*p), make([]float32, n*p), make([]float32, n)
	for i := range n {
		for j := range p {
			a[i*p+j], b[i*p+j] = float32(r.NormFloat64()), float32(r.NormFloat64())
		}
		y[i] = float32(signal*float64(a[i*p]) + r.NormFloat64())
	}
	ds, err := data.New(n, []data.Modality{
		{Name: "a", Kind: data.Vector, Shape: []int{p}, Data: a},
		{Name: "b", Kind: data.Vector, Shape: []int{p}, Data: b},
	}, []string{"y"}, y)
	if err != nil {
		t.Fatal(err)
	}
	return ds
}

func tabularConfig() Config {
	linear := model.Encoder{Type: model.EncMLP, Hidden: []int{}}
	return Config{
		Seed: 3,
		Data: Data{Source: "csv", TestFraction: 0.25, ValFraction: -1},
		Model: model.Config{Latent: 4, Features: 3, Modalities: []model.Modality{
			{Name: "a", Encoder: linear}, {Name: "b", Encoder: linear},
		}},
		Federation: Federation{Clients: 3, Rounds: 4},
		Train:      train.Config{Epochs: 3, BatchSize: 8, LR: 3e-3},
		Init:       Init{From: "pls"},
	}
}

// TestSelectionKeepsTheMeanOnNoise: when the response is noise, the warm
// start's cross-validation prefers the training mean to any PLS model,
// and model selection keeps that start rather than a trained network.
func TestSelectionKeepsTheMeanOnNoise(t *testing.T) {
	cfg := tabularConfig()
	cfg.Select = Select{Mode: "kfold"}
	ds := tabular(t, 120, 15, 0, 1)
	p, err := Prepare(cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	res, err := p.Train(context.Background(), cfg, Federated, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Init == nil || res.Init.Model != "mean" {
		t.Fatalf("warm start %+v, want the mean model", res.Init)
	}
	sel := res.Selection
	if sel == nil || sel.Mode != "kfold" || len(sel.Candidates) != 1 || len(sel.Candidates[0].Curve) != 5 {
		t.Fatalf("selection %+v, want kfold over one candidate with rounds 0–4", sel)
	}
	if sel.Rounds != 0 {
		t.Fatalf("selection kept %d rounds on noise (curve %v), want 0", sel.Rounds, sel.Candidates[0].Curve)
	}
	if r2 := res.Test.R2[0]; r2 < -0.15 {
		t.Fatalf("test R² %v: the mean's should be near 0", r2)
	}
}

// TestKFoldHeldOutCoversEveryRow checks that k-fold selection predicts
// every training row of every client exactly once, out of fold, and that
// a signal is learnt (some rounds kept, held-out error below the
// response's variance).
func TestKFoldHeldOutCoversEveryRow(t *testing.T) {
	cfg := tabularConfig()
	cfg.Select = Select{Mode: "kfold", Folds: 3}
	ds := tabular(t, 150, 6, 2, 2)
	p, err := Prepare(cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	full := cfg.Defaults()
	mc, err := completeModel(full, p.Data)
	if err != nil {
		t.Fatal(err)
	}
	full.Model = mc
	res, err := p.Train(context.Background(), cfg, Federated, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Init.Model != "pls" {
		t.Fatalf("warm start %+v on a linear signal, want PLS", res.Init)
	}
	// Run the selection again by hand to look at its held-out rows.
	ss := p.sitesFor(full, &site.MemoryStore{})
	ch, err := p.choose(context.Background(), full, ss, 1, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range p.clients {
		h := ch.heldOut[c.Name]
		if h == nil || !slices.Equal(h.y, c.Train.Y) {
			t.Fatalf("client %d: held-out responses are not its training responses in order", k)
		}
		for i, v := range h.pred {
			if v == 0 {
				t.Fatalf("client %d row %d has no out-of-fold prediction", k, i)
			}
		}
	}
	if best := ch.report.Candidates[0].MSE; best > 0.5 {
		t.Fatalf("held-out MSE %v of the standardised response: the signal was not learnt", best)
	}
}

// TestCandidates checks the grid: every combination, named by what it
// changes.
func TestCandidates(t *testing.T) {
	cfg := tabularConfig().Defaults()
	s := Select{Features: []int{2, 4}, MI: []float64{0, 0.1}, Freeze: []string{"none", "encoders"}}
	cs := s.candidates(cfg)
	if len(cs) != 8 {
		t.Fatalf("%d candidates, want 8", len(cs))
	}
	last := cs[7]
	if last.name != "d 4, mi 0.1, freeze encoders" || last.cfg.Model.Features != 4 || last.cfg.Train.Loss.MI != 0.1 || !slices.Equal(last.cfg.Train.Freeze, []string{"encoders"}) {
		t.Fatalf("last candidate %q: %+v", last.name, last.cfg.Train)
	}
	if cs[0].cfg.Train.Freeze != nil || cfg.Model.Features != 3 {
		t.Fatal("candidates changed the configuration they came from")
	}
	if got := (Select{}).candidates(cfg); len(got) != 1 || got[0].name != "as configured" {
		t.Fatalf("no lists: %+v", got)
	}
}
