package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/model"
)

// linearStudy is study's federation fitting a linear model of the
// simulation's vector and text modalities (p = 532 inputs: the large-p
// algebra of package baseline).
func linearStudy(kind string) fdrmfl.Config {
	cfg := study(1)
	cfg.Model = model.Config{Kind: kind, Modalities: []model.Modality{{Name: "text"}, {Name: "vector"}}}
	cfg.Train = fdrmfl.Config{}.Train
	cfg.Federation.Rounds = 0
	cfg.Linear = fdrmfl.Linear{Folds: 4, MaxComponents: 8}
	if kind != fdrmfl.KindPLS {
		cfg.Linear.MaxComponents = 0
	}
	return cfg
}

// TestLinearFederationMatchesSimulate fits PLS and ridge with a server
// and three clients talking TLS over 127.0.0.1, the statistics split into
// many parts, and checks that they reach fdrmfl.Simulate's model bit for
// bit, with the same features and predictions on every client's samples.
func TestLinearFederationMatchesSimulate(t *testing.T) {
	for _, kind := range []string{fdrmfl.KindPLS, fdrmfl.KindRidge} {
		t.Run(kind, func(t *testing.T) {
			cfg := linearStudy(kind)
			sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := newDeployment(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			lis := listen(t, "127.0.0.1:0")
			results := d.startClients(t, ctx, lis.Addr().String())
			s := d.newServer(t, nil)
			s.partBytes = 300 << 10 // about 5 parts per client
			res, err := s.Run(ctx, lis)
			if err != nil {
				t.Fatalf("%v\n%s", err, d.log)
			}
			if !sameBits(res.Weights, sim.Weights) {
				t.Fatalf("the federation's model differs from the simulation's\n%s", d.log)
			}
			got, _ := json.Marshal(res.Manifest)
			want, _ := json.Marshal(sim.Manifest)
			if string(got) != string(want) {
				t.Fatalf("manifest\n%s\nthe simulation's\n%s", got, want)
			}
			if f := res.Manifest.Linear; f.Clients != 3 || f.Folds != 4 || len(f.CV) == 0 {
				t.Fatalf("fit %+v: want 3 clients, 4 folds and a cross-validation", f)
			}
			if !strings.Contains(d.log.String(), "linear statistics") {
				t.Fatalf("no linear statistics in the log:\n%s", d.log)
			}
			for range d.Clients {
				o := <-results
				if o.err != nil {
					t.Fatalf("%s: %v", o.name, o.err)
				}
				var want fdrmfl.ClientResult
				for _, c := range sim.Clients {
					if c.Name == o.name {
						want = c
					}
				}
				got := o.res.Clients[0]
				for s := range want.Splits {
					if !sameBits(got.Splits[s].Z, want.Splits[s].Z) || !sameBits(got.Splits[s].Pred, want.Splits[s].Pred) {
						t.Fatalf("%s: %s features or predictions differ from the simulation's", o.name, want.Splits[s].Name)
					}
				}
				if got.Test.N != want.Test.N || got.Test.R2[0] != want.Test.R2[0] {
					t.Fatalf("%s: test %+v, the simulation's %+v", o.name, got.Test, want.Test)
				}
			}
		})
	}
}

// TestLinearServerResumesAfterTheFit stops the server once it has fitted
// and checkpointed the model (its OnDone fails): started again, it hands
// out the checkpointed model without asking for statistics again, and the
// clients, which reconnect, get the simulation's model.
func TestLinearServerResumesAfterTheFit(t *testing.T) {
	cfg := linearStudy(fdrmfl.KindPLS)
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lis := listen(t, "127.0.0.1:0")
	addr := lis.Addr().String()
	results := d.startClients(t, ctx, addr)
	s := d.newServer(t, nil)
	s.c.OnDone = func(*fdrmfl.Result) error { return errors.New("stop here") }
	if _, err := s.Run(ctx, lis); err == nil || !strings.Contains(err.Error(), "stop here") {
		t.Fatalf("first run: %v, want the OnDone error", err)
	}
	lis.Close()
	before := strings.Count(d.log.String(), "asking for the linear statistics")
	res, err := d.newServer(t, nil).Run(ctx, listen(t, addr))
	if err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	if after := strings.Count(d.log.String(), "asking for the linear statistics"); before != 1 || after != 1 {
		t.Fatalf("statistics asked for %d times before the restart and %d in all, want once", before, after)
	}
	if !sameBits(res.Weights, sim.Weights) {
		t.Fatal("the resumed server's model differs from the simulation's")
	}
	for range d.Clients {
		if o := <-results; o.err != nil || !sameBits(o.res.Weights, sim.Weights) {
			t.Fatalf("%s: %v", o.name, o.err)
		}
	}
}
