package fdrmfl_test

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
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

// TestDataFileKeysNameTheKey: the keys that say how files are read are
// checked before any file is opened, and a bad one is named.
func TestDataFileKeysNameTheKey(t *testing.T) {
	base := func() fdrmfl.Config {
		return fdrmfl.Config{Data: fdrmfl.Data{Source: "csv", ResponseFile: "y.csv",
			Modalities: []data.ModalitySpec{{Name: "a", File: "a.csv"}}}}
	}
	cases := []struct {
		mutate func(*fdrmfl.Data)
		want   string
	}{
		{func(d *fdrmfl.Data) { d.Delimiter = "|" }, `data.delimiter: "|" is not ",", ";", "tab" or "whitespace"`},
		{func(d *fdrmfl.Data) { d.Decimal = "·" }, `data.decimal: "·" is not "." or ","`},
		{func(d *fdrmfl.Data) { d.ResponseFormat.Decimal = ";" }, `data.response_format.decimal`},
		{func(d *fdrmfl.Data) { d.Replicates = "median" }, `data.replicates: "median" is not "mean"`},
		{func(d *fdrmfl.Data) { d.MissingRows = "skip" }, `data.missing_rows: "skip" is not "absent"`},
		{func(d *fdrmfl.Data) { d.Split = &data.SplitSource{} }, `data.split.column`},
		{func(d *fdrmfl.Data) { d.Split = &data.SplitSource{Column: "set", Format: data.Format{Delimiter: "x"}} }, `data.split.delimiter`},
		{func(d *fdrmfl.Data) { d.Modalities[0].Delimiter = "::" }, `data.modalities[0].delimiter`},
		{func(d *fdrmfl.Data) { d.Modalities[0].JCAMP = []string{"nir"} }, `data.modalities[0]: give file (a CSV file) or jcamp (JCAMP-DX files), not both`},
		{func(d *fdrmfl.Data) {
			d.Modalities[0].File, d.Modalities[0].JCAMP, d.Modalities[0].JCAMPID = "", []string{"nir"}, "name"
		},
			`data.modalities[0].jcamp_id: "name" is not "title" or "file"`},
		{func(d *fdrmfl.Data) { d.Modalities[0].JCAMPID = "file" }, `data.modalities[0].jcamp_id: applies to jcamp files only`},
		{func(d *fdrmfl.Data) {
			d.Modalities[0].File, d.Modalities[0].JCAMP, d.Modalities[0].IDColumn = "", []string{"nir"}, "id"
		}, `data.modalities[0]: delimiter, decimal and id_column do not apply to jcamp files`},
	}
	for _, c := range cases {
		cfg := base()
		c.mutate(&cfg.Data)
		err := cfg.Defaults().Validate()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
	if err := base().Defaults().Validate(); err != nil {
		t.Fatalf("the base configuration: %v", err)
	}
}

// TestPartitionLeavesOutUnlabelled: samples without any response are in
// no client's part, whatever the partition; the others are all placed.
func TestPartitionLeavesOutUnlabelled(t *testing.T) {
	ds, err := data.Simulate(1, 40, rand.New(rand.NewPCG(1, 1)))
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{3, 17, 39} {
		ds.Y[i] = float32(math.NaN())
	}
	for _, p := range []string{"iid", "response", "dirichlet"} {
		cfg := fdrmfl.Config{Federation: fdrmfl.Federation{Clients: 3, Partition: p}}.Defaults()
		parts, err := cfg.Partition(ds)
		if err != nil {
			t.Fatal(err)
		}
		seen := map[int]bool{}
		for _, part := range parts {
			for _, i := range part {
				if seen[i] || i == 3 || i == 17 || i == 39 {
					t.Fatalf("%s: sample %d placed wrongly (twice, or without a response)", p, i)
				}
				seen[i] = true
			}
		}
		if len(seen) != 37 {
			t.Errorf("%s: %d samples placed, want 37", p, len(seen))
		}
	}
}
