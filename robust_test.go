package fdrmfl_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/attack"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// TestRobustSettingsNameTheirKey: a bad robustness setting is refused
// with its key.
func TestRobustSettingsNameTheirKey(t *testing.T) {
	for _, c := range []struct {
		f    fdrmfl.Federation
		want string
	}{
		{fdrmfl.Federation{Aggregator: "mode"}, "federation.aggregator"},
		{fdrmfl.Federation{Aggregator: "median", Clients: 4, Byzantine: 2}, "federation.byzantine"},
		{fdrmfl.Federation{Trim: 0.5}, "federation.trim"},
		{fdrmfl.Federation{Clip: -1}, "federation.clip"},
		{fdrmfl.Federation{NormBound: 0.5}, "federation.norm_bound"},
		{fdrmfl.Federation{Direction: 1}, "federation.direction"},
		{fdrmfl.Federation{DirectionMin: 2}, "federation.direction_min"},
	} {
		err := fdrmfl.Config{Federation: c.f}.Defaults().Validate()
		if err == nil || !strings.HasPrefix(err.Error(), c.want) {
			t.Errorf("%+v: %v, want an error about %s", c.f, err, c.want)
		}
	}
	d := fdrmfl.Config{Federation: fdrmfl.Federation{Clients: 10}}.Defaults().Federation
	if d.Aggregator != "mean" || d.Byzantine != 3 || d.Bound() != fdrmfl.DefaultNormBound || d.DirectionBound() != fdrmfl.DefaultDirection || d.DirectionMin != fdrmfl.DefaultDirectionMin || d.StatsLimit != site.DefaultScreenLimit {
		t.Fatalf("defaults %+v", d)
	}
}

// fiveClients is a quick federation of five clients.
func fiveClients() fdrmfl.Config {
	return fdrmfl.Config{
		Seed:       3,
		Data:       fdrmfl.Data{Function: 1, Samples: 300},
		Federation: fdrmfl.Federation{Clients: 5, Rounds: 3},
		Model: model.Config{Latent: 8, Features: 4, Modalities: []model.Modality{
			{Name: "image", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
			{Name: "text", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
			{Name: "vector", Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
		}},
		Train: train.Config{Epochs: 1, BatchSize: 32},
	}
}

// TestSimulationDefencesOnByDefault has one client of five scale its
// update by 1e6, and another scale its statistics: with the defaults the
// first is rejected every round and the second left out, and the model
// stays finite; without the defences the model is ruined.
func TestSimulationDefencesOnByDefault(t *testing.T) {
	for _, c := range []struct {
		kind attack.Kind
		want func(*fdrmfl.Result) bool
	}{
		{attack.Scale, func(r *fdrmfl.Result) bool {
			for _, rd := range r.Rounds {
				if !strings.Contains(rd.Rejected["client-5"], "exceeds") {
					return false
				}
			}
			return true
		}},
		{attack.Stats, func(r *fdrmfl.Result) bool { return r.Excluded["client-5"] != "" && len(r.Clients) == 4 }},
	} {
		a := &attack.Attack{Kind: c.kind, Clients: []string{"client-5"}}
		res, err := fdrmfl.Simulate(context.Background(), fiveClients(), fdrmfl.Options{Adversary: a})
		if err != nil {
			t.Fatal(err)
		}
		if !c.want(res) || res.Test == nil || !(res.Test.R2[0] > -1) {
			t.Errorf("%s with the defaults: rounds %+v, excluded %v, test %+v", c.kind, res.Rounds, res.Excluded, res.Test)
		}
		off := fiveClients()
		off.Federation.NormBound, off.Federation.StatsLimit = -1, -1
		res, err = fdrmfl.Simulate(context.Background(), off, fdrmfl.Options{Adversary: a})
		if c.kind == attack.Scale && err == nil && res.Test.R2[0] > -1 {
			t.Errorf("%s without the defences: R² %v; the attack should have ruined the model", c.kind, res.Test.R2)
		}
	}
}

// TestSimulationRejectsASignFlipByDefault has one client of ten send its
// step reversed every round. With the defaults the direction check
// rejects it every round, no honest update is rejected (clean or under
// attack), and the model is the one trained without that client's
// updates, to the bit; with the check off (federation.direction: -1, the
// default before) it is averaged in.
func TestSimulationRejectsASignFlipByDefault(t *testing.T) {
	cfg := fiveClients()
	cfg.Data.Samples, cfg.Federation.Clients = 1500, 10 // about 120 training samples each: four batches a round
	run := func(cfg fdrmfl.Config, kind attack.Kind) *fdrmfl.Result {
		t.Helper()
		var adv fdrmfl.Adversary
		if kind != "" {
			adv = &attack.Attack{Kind: kind, Clients: []string{"client-01"}}
		}
		res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{Adversary: adv})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	for _, rd := range run(cfg, "").Rounds {
		if len(rd.Rejected) > 0 {
			t.Fatalf("clean round %d rejected %v", rd.Round, rd.Rejected)
		}
	}
	flipped, absent := run(cfg, attack.SignFlip), run(cfg, attack.Absent)
	for _, rd := range flipped.Rounds {
		if len(rd.Rejected) != 1 || !strings.Contains(rd.Rejected["client-01"], "points elsewhere") {
			t.Errorf("round %d rejected %v: want client-01's flipped update only, for its direction", rd.Round, rd.Rejected)
		}
	}
	if !slices.Equal(flipped.Weights, absent.Weights) {
		t.Error("the model with the flipped updates rejected is not the model without client-01's updates")
	}
	cfg.Federation.Direction = -1
	off := run(cfg, attack.SignFlip)
	for _, rd := range off.Rounds {
		if len(rd.Rejected) > 0 {
			t.Fatalf("with the direction check off, round %d rejected %v", rd.Round, rd.Rejected)
		}
	}
	if slices.Equal(off.Weights, absent.Weights) {
		t.Error("with the direction check off the flipped updates changed nothing")
	}
}

type brokenStore struct{ site.MemoryStore }

func (*brokenStore) Save(string, *train.ClientState) error {
	return errors.New("no space left on device")
}

// TestSimulationStopsWhenAClientCannotSave: a client whose state store
// fails stops the simulation with the error, instead of being left out
// of every round.
func TestSimulationStopsWhenAClientCannotSave(t *testing.T) {
	_, err := fdrmfl.Simulate(context.Background(), fiveClients(), fdrmfl.Options{Store: &brokenStore{}})
	if err == nil || !strings.Contains(err.Error(), "no space left") {
		t.Fatalf("simulation with a full disk: %v", err)
	}
}
