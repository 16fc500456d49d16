package fdrmfl_test

import (
	"context"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// small is a quick federation on simulated data.
func small() fdrmfl.Config {
	return fdrmfl.Config{
		Seed:       7,
		Data:       fdrmfl.Data{Function: 1, Samples: 240},
		Federation: fdrmfl.Federation{Clients: 3, Rounds: 2},
		Model: model.Config{Latent: 16, Features: 4, Modalities: []model.Modality{
			{Name: "image", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{16}}},
			{Name: "text", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{16}, BatchNorm: true}},
			{Name: "vector", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{16}}},
		}},
		Train: train.Config{Epochs: 1, BatchSize: 16},
	}
}

// TestSameSeedSameBitsWhateverTheParallelism runs the same federation on
// one worker and on three and compares the results bit for bit.
func TestSameSeedSameBitsWhateverTheParallelism(t *testing.T) {
	for _, strat := range []string{"fedavg", "fedbn"} {
		t.Run(strat, func(t *testing.T) {
			var runs []*fdrmfl.Result
			for _, w := range []int{1, 3} {
				cfg := small()
				cfg.Federation.Workers, cfg.Federation.Strategy = w, strat
				res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
				if err != nil {
					t.Fatal(err)
				}
				runs = append(runs, res)
			}
			a, b := runs[0], runs[1]
			if !bitsEqual(a.Weights, b.Weights) {
				t.Fatal("final weights differ between 1 and 3 workers")
			}
			for i := range a.Clients {
				for s := range a.Clients[i].Splits {
					if !bitsEqual(a.Clients[i].Splits[s].Z, b.Clients[i].Splits[s].Z) {
						t.Fatalf("features of %s differ", a.Clients[i].Name)
					}
				}
			}
			if len(a.Rounds) != 2 || a.Rounds[1].Val == nil {
				t.Fatalf("rounds %+v: want 2 with validation metrics", a.Rounds)
			}
		})
	}
}

func bitsEqual(a, b []float32) bool {
	return slices.EqualFunc(a, b, func(x, y float32) bool { return math.Float32bits(x) == math.Float32bits(y) })
}

// TestExtractReproducesTheRun applies the saved model to the raw test
// samples of a client and expects the features the run reported.
func TestExtractReproducesTheRun(t *testing.T) {
	cfg := small()
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := fdrmfl.LoadData(res.Config, nil)
	if err != nil {
		t.Fatal(err)
	}
	test := res.Clients[1].Splits[2]
	x, err := fdrmfl.Extract(res.Manifest, res.Weights, all.Subset(test.Index))
	if err != nil {
		t.Fatal(err)
	}
	for i := range test.Z {
		if math.Abs(float64(x.Z[i]-test.Z[i])) > 1e-5 {
			t.Fatalf("feature %d: extract gives %v, the run gave %v", i, x.Z[i], test.Z[i])
		}
	}
	if x.Stats == nil || math.Abs(x.Stats.MSE(0)-res.Clients[1].Test.MSE[0]) > 1e-5 {
		t.Fatalf("extract's test error %+v differs from the run's %+v", x.Stats, res.Clients[1].Test)
	}
}

func TestClientLackingAModality(t *testing.T) {
	cfg := small()
	cfg.Federation.Lacks = map[int][]string{2: {"text", "vector"}}
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range res.Clients {
		for _, v := range c.Test.MSE {
			if math.IsNaN(v) {
				t.Fatalf("client %s: NaN error", c.Name)
			}
		}
	}
}

func TestConfigErrorsNameTheKey(t *testing.T) {
	cases := []struct {
		mutate func(*fdrmfl.Config)
		want   string
	}{
		{func(c *fdrmfl.Config) { c.Data.Function = 4 }, "data.function"},
		{func(c *fdrmfl.Config) { c.Data.Source = "sql" }, "data.source"},
		{func(c *fdrmfl.Config) { c.Federation.Partition = "random" }, "federation.partition"},
		{func(c *fdrmfl.Config) { c.Federation.Strategy = "fedsgd" }, "federation.strategy"},
		{func(c *fdrmfl.Config) { c.Federation.Strategy, c.Federation.ServerMomentum = "fedadam", 1 }, "federation.server_momentum"},
		{func(c *fdrmfl.Config) { c.Federation.Strategy, c.Federation.DynAlpha = "feddyn", -1 }, "federation.dyn_alpha"},
		{func(c *fdrmfl.Config) { c.Federation.Personalize = "always" }, "federation.personalize"},
		{func(c *fdrmfl.Config) { c.Init.From = "lda" }, "init.from"},
		{func(c *fdrmfl.Config) { c.Select.Mode = "bootstrap" }, "select.mode"},
		{func(c *fdrmfl.Config) { c.Select.Freeze = []string{"encoder"} }, "select.freeze"},
		{func(c *fdrmfl.Config) { c.Train.Freeze = []string{"decoder"} }, "freeze"},
		{func(c *fdrmfl.Config) { c.Train.GroupLasso = -1 }, "group_lasso"},
		{func(c *fdrmfl.Config) { c.Federation.Lacks = map[int][]string{9: {"text"}} }, "federation.lacks"},
		{func(c *fdrmfl.Config) { c.Train.Optimizer = "lbfgs" }, "optimizer"},
		{func(c *fdrmfl.Config) { c.Data.TestFraction = 1.5 }, "data.test_fraction"},
		{func(c *fdrmfl.Config) { c.Data.Scale = map[string]string{"image": "minmax"} }, "data.scale.image"},
	}
	for _, c := range cases {
		cfg := small()
		c.mutate(&cfg)
		_, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one naming %q", err, c.want)
		}
	}
}
