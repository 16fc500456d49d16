package deploy

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// TestFederationOnOwnData runs a real federation (TLS on 127.0.0.1) on
// the README's example of a user's own data — files joined by sample ID,
// a decimal-comma CSV, JCAMP-DX spectra, replicates, missing responses and
// an official split — and checks that every client keeps the split, keys
// its features by sample ID, and that the model is the simulation's, bit
// for bit.
func TestFederationOnOwnData(t *testing.T) {
	fsys := os.DirFS(filepath.Join("..", "examples", "own-data"))
	cfg := fdrmfl.Config{
		Seed: 3,
		Data: fdrmfl.Data{
			Source: "csv",
			Modalities: []data.ModalitySpec{
				{Name: "a", File: "instrument-a.csv", Kind: data.Signal},
				{Name: "b", JCAMP: []string{"instrument-b"}, Kind: data.Signal},
			},
			ResponseFile: "reference.csv", Responses: []string{"protein", "moisture"},
			Replicates: "mean", Split: &data.SplitSource{Column: "set"},
		},
		Federation: fdrmfl.Federation{Clients: 3, Rounds: 2},
		Model:      model.Config{Latent: 8, Features: 3},
		Train:      train.Config{Epochs: 2},
	}
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := fdrmfl.LoadData(cfg.Defaults(), fsys)
	if err != nil {
		t.Fatal(err)
	}
	role := map[string]data.Role{}
	for i, id := range ds.IDs {
		role[id] = ds.Roles[i]
	}

	d := newDeployment(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lis := listen(t, "127.0.0.1:0")
	results := make(chan clientOutcome, len(d.Clients))
	for _, set := range d.Clients {
		set.Server = lis.Addr().String()
		c, err := NewClient(ClientConfig{
			Study: d.Study, Settings: set, Dir: d.Dir, StateDir: filepath.Join(d.Dir, set.Name, "state"), FS: fsys,
		})
		if err != nil {
			t.Fatal(err)
		}
		go func() {
			res, err := c.Run(ctx)
			results <- clientOutcome{set.Name, res, err}
		}()
	}
	res, err := d.newServer(t, nil).Run(ctx, lis)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	if !sameBits(res.Weights, sim.Weights) {
		t.Fatalf("the federation's model differs from the simulation's\n%s", d.log)
	}
	d.eachClient(t, results, sim, func(name string, got, want fdrmfl.ClientResult) {
		if len(got.Splits[0].IDs) == 0 || len(got.Splits[0].IDs) != len(got.Splits[0].Index) {
			t.Fatalf("%s: training samples without IDs", name)
		}
		for s, sp := range got.Splits {
			if !slices.Equal(sp.IDs, want.Splits[s].IDs) || !sameBits(sp.Z, want.Splits[s].Z) {
				t.Fatalf("%s: the %s set differs from the simulation's", name, sp.Name)
			}
			for _, id := range sp.IDs {
				if (sp.Name == "test") != (role[id] == data.RoleTest) {
					t.Errorf("%s: sample %s, labelled %v, is in the %s set", name, id, role[id], sp.Name)
				}
			}
		}
	})
}
