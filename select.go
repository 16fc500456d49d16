package fdrmfl

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/site"
)

// Select is model selection by federated validation: a few candidate
// settings are trained on part of every client's training rows and judged
// on the rest, pooled over the clients, after every round; the candidate
// and the number of rounds (0 included: the warm start itself) with the
// least validation error win. Test rows are never looked at.
type Select struct {
	// Mode is how models are validated:
	//   - "kfold": each client cuts its training rows into Folds folds;
	//     for every fold f, the candidates train on every client's other
	//     rows and are judged on fold f of every client; the errors add up
	//     over folds, and the winner is trained again on all rows for its
	//     number of rounds (Folds+1 trainings per candidate);
	//   - "holdout": one such fold is held out, and the winner is trained
	//     again on all rows for its number of rounds (one training per
	//     candidate, and the last one);
	//   - "validation": the validation set (data.val_fraction) is held
	//     out, and the winner is the model trained on the rest at its best
	//     round (as federation.keep_best; a real federation does this);
	//   - "off": train for federation.rounds and keep the last model (or
	//     the best under federation.keep_best);
	//   - "auto" (default): validation if there is a validation set, else
	//     kfold when the smallest client holds fewer than 100 training
	//     rows, else holdout.
	// Round 0, the initial model, is a candidate only after a warm start
	// (init.from): a randomly initialised network is nobody's model.
	Mode string `yaml:"mode" json:"mode"`
	// Folds of kfold and holdout (default 3; holdout holds out one).
	Folds int `yaml:"folds" json:"folds"`
	// NoRefit makes holdout keep the winning run's model at its best
	// round — trained without the held-out fold, as validation does —
	// instead of training the winner again on all rows: half the cost,
	// for data large enough to spare a fold.
	NoRefit bool `yaml:"no_refit,omitempty" json:"no_refit,omitempty"`
	// Candidate values; every combination of the lists given is a
	// candidate (an empty list keeps the configuration's value).
	Features []int     `yaml:"features,omitempty" json:"features,omitempty"` // d
	MI       []float64 `yaml:"mi,omitempty" json:"mi,omitempty"`             // λ_mi
	KL       []float64 `yaml:"kl,omitempty" json:"kl,omitempty"`             // λ_kl
	Con      []float64 `yaml:"con,omitempty" json:"con,omitempty"`           // λ_con
	L1       []float64 `yaml:"l1,omitempty" json:"l1,omitempty"`             // train.l1
	LR       []float64 `yaml:"lr,omitempty" json:"lr,omitempty"`             // train.lr
	// Freeze lists train.freeze candidates: "none", or parts joined by
	// "+" ("encoders", "encoders+fusion").
	Freeze []string `yaml:"freeze,omitempty" json:"freeze,omitempty"`
}

// SelectModes lists the values Select.Mode may take.
var SelectModes = []string{"auto", "kfold", "holdout", "validation", "off"}

// smallTraining is the training-set size below which "auto" selection
// cross-validates rather than holding out rows.
const smallTraining = 100

func (s Select) defaults() Select {
	if s.Mode == "" {
		s.Mode = "auto"
	}
	if s.Folds == 0 {
		s.Folds = 3
	}
	return s
}

func (s Select) validate(valFraction float64) error {
	if !slices.Contains(SelectModes, s.Mode) {
		return fmt.Errorf("select.mode: %q is not one of %q", s.Mode, SelectModes)
	}
	if s.Folds < 2 {
		return fmt.Errorf("select.folds: %d must be at least 2", s.Folds)
	}
	if s.NoRefit && s.Mode != "holdout" && s.Mode != "auto" {
		return fmt.Errorf("select.no_refit: applies to holdout only (mode %q)", s.Mode)
	}
	if s.Mode == "validation" && valFraction <= 0 {
		return fmt.Errorf("select.mode: validation needs a validation set (data.val_fraction > 0)")
	}
	for _, d := range s.Features {
		if d < 1 {
			return fmt.Errorf("select.features: %d must be at least 1", d)
		}
	}
	for _, l := range []struct {
		key string
		v   []float64
	}{{"mi", s.MI}, {"kl", s.KL}, {"con", s.Con}, {"l1", s.L1}} {
		for _, v := range l.v {
			if v < 0 {
				return fmt.Errorf("select.%s: %v must not be negative", l.key, v)
			}
		}
	}
	for _, v := range s.LR {
		if v <= 0 {
			return fmt.Errorf("select.lr: %v must be positive", v)
		}
	}
	for _, f := range s.Freeze {
		if _, err := freezeParts(f); err != nil {
			return fmt.Errorf("select.freeze: %w", err)
		}
	}
	return nil
}

// freezeParts parses a Select.Freeze entry.
func freezeParts(s string) ([]string, error) {
	if s == "none" {
		return nil, nil
	}
	parts := strings.Split(s, "+")
	for _, p := range parts {
		if !slices.Contains([]string{"encoders", "fusion", "head"}, p) {
			return nil, fmt.Errorf("%q: %q is not encoders, fusion or head (or \"none\")", s, p)
		}
	}
	return parts, nil
}

// DeployedSelection says how a real federation (package deploy), which
// trains one model round by round, applies the study's selection: it
// keeps the round with the least validation error (keepBest) when
// select.mode is "validation", or "auto" with a validation set, or when
// federation.keep_best is set. Cross-validation, holdout, candidate grids
// and warm starts need several trainings or statistics exchanges that
// only fdrmfl simulate runs; a study asking for them is refused with the
// key at fault. Call it on a Config after Defaults.
func (c Config) DeployedSelection() (keepBest bool, err error) {
	if c.IsLinear() { // fitted, not trained: no rounds to select among
		return false, nil
	}
	s := c.Select
	switch {
	case s.Mode == "kfold" || s.Mode == "holdout":
		return false, fmt.Errorf("select.mode: %q runs in fdrmfl simulate only; a real federation validates on its clients' validation sets (\"validation\", \"auto\" or \"off\")", s.Mode)
	case len(s.Features)+len(s.MI)+len(s.KL)+len(s.Con)+len(s.L1)+len(s.LR)+len(s.Freeze) > 0:
		return false, fmt.Errorf("select: a grid of candidates runs in fdrmfl simulate only; a real federation trains the configured model")
	case c.Init.From != "random":
		return false, fmt.Errorf("init.from: %q runs in fdrmfl simulate only for now; a real federation starts from the network's random initialisation", c.Init.From)
	}
	switch s.Mode {
	case "validation":
		return true, nil
	case "auto":
		return c.Data.ValFraction > 0 || c.Federation.KeepBest, nil
	}
	return c.Federation.KeepBest && c.Data.ValFraction > 0, nil
}

// ValidationMSE returns the validation MSE of the standardised responses,
// summed over responses, that a round's evaluation reports (ok false
// when no client evaluated).
func ValidationMSE(r fed.RoundReport, responses int) (float64, bool) {
	if r.EvalClients == 0 || r.Eval["n"] <= 0 {
		return 0, false
	}
	st := site.EvalStats(r.Eval, responses)
	var e float64
	for j := range st.SSE {
		e += st.MSE(j)
	}
	return e, true
}

// candidates returns the configurations to compare: every combination of
// the lists, each named by what it changes.
func (s Select) candidates(cfg Config) []candidate {
	out := []candidate{{cfg: cfg}}
	expand := func(n int, apply func(c *Config, i int) string) {
		if n == 0 {
			return
		}
		var next []candidate
		for _, c := range out {
			for i := range n {
				cc := c.cfg.clone()
				label := apply(&cc, i)
				next = append(next, candidate{cfg: cc, name: strings.TrimPrefix(c.name+", "+label, ", ")})
			}
		}
		out = next
	}
	expand(len(s.Features), func(c *Config, i int) string {
		c.Model.Features = s.Features[i]
		return fmt.Sprintf("d %d", s.Features[i])
	})
	for _, l := range []struct {
		key string
		v   []float64
		set func(*Config, float64)
	}{
		{"mi", s.MI, func(c *Config, v float64) { c.Train.Loss.MI = v }},
		{"kl", s.KL, func(c *Config, v float64) { c.Train.Loss.KL = v }},
		{"con", s.Con, func(c *Config, v float64) { c.Train.Loss.Con = v }},
		{"l1", s.L1, func(c *Config, v float64) { c.Train.L1 = v }},
		{"lr", s.LR, func(c *Config, v float64) { c.Train.LR = v }},
	} {
		expand(len(l.v), func(c *Config, i int) string {
			l.set(c, l.v[i])
			return fmt.Sprintf("%s %g", l.key, l.v[i])
		})
	}
	expand(len(s.Freeze), func(c *Config, i int) string {
		c.Train.Freeze, _ = freezeParts(s.Freeze[i])
		return "freeze " + s.Freeze[i]
	})
	for i := range out {
		if out[i].name == "" {
			out[i].name = "as configured"
		}
		out[i].cfg.Loss = nil // Train.Loss holds the candidate's weights
	}
	return out
}

type candidate struct {
	name string
	cfg  Config
}

// clone copies the slices a candidate may change.
func (c Config) clone() Config {
	c.Model.Modalities = slices.Clone(c.Model.Modalities)
	c.Train.Freeze = slices.Clone(c.Train.Freeze)
	return c
}

// Selection reports a model selection.
type Selection struct {
	Mode  string `json:"mode"`
	Folds int    `json:"folds,omitempty"`
	// Candidates, in the order tried, with the validation MSE (of the
	// standardised responses, pooled over clients and folds) of their best
	// round.
	Candidates []CandidateScore `json:"candidates"`
	Chosen     int              `json:"chosen"` // index into Candidates
	Rounds     int              `json:"rounds"` // the chosen number of rounds
}

// CandidateScore is one candidate's validation record.
type CandidateScore struct {
	Name   string    `json:"name"`
	Best   int       `json:"best_round"`
	MSE    float64   `json:"mse"`
	Curve  []float64 `json:"curve"` // validation MSE after rounds 0, 1, …
	Rounds int       `json:"rounds"`
}

// member is one site of a model selection: its training rows and the
// rows it validates on.
type member struct {
	name       string
	train, val *data.Dataset
	seed       uint64
	rows       []int // the validation rows' places in the site's training set (kfold, holdout)
}

// heldOut are a site's validation rows with the chosen model's
// predictions, standardised: what a personal head is fitted on.
type heldOut struct {
	y, pred []float32
	q       int
}

// chosen is the outcome of a selection over some sites.
type chosen struct {
	cfg     Config // the winner, federation.rounds set to its rounds
	weights []float32
	// states holds the winning run's client states when weights is set
	// (validation); kfold and holdout train again.
	states  site.StateStore
	heldOut map[string]*heldOut
	report  Selection
	// rounds and init are the winning run's (validation).
	rounds []RoundMetrics
	init   *LinearChoice
}

// mode resolves Select.Mode for sites with the given training sizes.
func (s Select) mode(valFraction float64, trainSizes []int) string {
	switch {
	case s.Mode != "auto":
		return s.Mode
	case valFraction > 0:
		return "validation"
	case slices.Min(trainSizes) < smallTraining:
		return "kfold"
	}
	return "holdout"
}

// choose runs the model selection of cfg.Select over the sites (in the
// order given; seeds as the sites'), and returns the winner.
func (p *Prepared) choose(ctx context.Context, cfg Config, sites []*site.Site, workers int, opt Options) (*chosen, error) {
	sel := cfg.Select
	var sizes []int
	for _, s := range sites {
		sizes = append(sizes, s.Train.Len())
	}
	mode := sel.mode(cfg.Data.ValFraction, sizes)
	if mode == "off" {
		return nil, nil
	}
	keep := mode == "validation" || (mode == "holdout" && sel.NoRefit) // the winning run's model itself
	cands := sel.candidates(cfg)
	folds := sel.Folds
	// splits[f] are the members of fold f's runs.
	var splits [][]member
	switch mode {
	case "validation":
		var ms []member
		for _, s := range sites {
			ms = append(ms, member{name: s.Name, train: s.Train, val: s.Val, seed: s.Seed})
		}
		splits = [][]member{ms}
	case "kfold", "holdout":
		n := folds
		if mode == "holdout" {
			n = 1
		}
		splits = make([][]member, n)
		for _, s := range sites {
			k := min(folds, s.Train.Len())
			if k < 2 {
				return nil, fmt.Errorf("select: %s has %d training rows, too few to hold any out", s.Name, s.Train.Len())
			}
			assign := baseline.KFold(s.Train.Len(), k, seed.For(s.Seed, seed.Folds, 1))
			for f := range n {
				var tr, va []int
				for i, a := range assign {
					if a == f {
						va = append(va, i)
					} else {
						tr = append(tr, i)
					}
				}
				splits[f] = append(splits[f], member{name: s.Name, train: s.Train.Subset(tr), val: s.Train.Subset(va), seed: s.Seed, rows: va})
			}
		}
	}
	type record struct {
		sse    []float64                // per round, summed over folds and responses
		n      []int                    // validation rows per round
		preds  [][]map[string][]float32 // [fold][round] site → predictions (kfold)
		best   []float32                // holdout/validation: the best model so far
		bestR  int
		bestE  float64
		bestP  map[string][]float32
		states site.StateStore
		run    *Result // the run's rounds (validation)
	}
	recs := make([]*record, len(cands))
	for ci, cand := range cands {
		c := cand.cfg
		mc, err := completeModel(c, p.Data)
		if err != nil {
			return nil, err
		}
		c.Model = mc
		pool, err := site.NewTrainerPool(mc, c.Train, workers)
		if err != nil {
			return nil, fmt.Errorf("select: %s: %w", cand.name, err)
		}
		rec := &record{bestE: math.Inf(1)}
		recs[ci] = rec
		for f, ms := range splits {
			store := &site.MemoryStore{}
			run := make([]*site.Site, len(ms))
			for k, m := range ms {
				run[k] = &site.Site{Name: m.name, Train: m.train, Val: m.val, Store: store, Trainers: pool, Seed: m.seed}
			}
			var foldPreds []map[string][]float32
			onRound := func(r int, global []float32) error {
				var sse float64
				var n int
				preds := map[string][]float32{}
				for _, s := range run {
					if s.Val == nil || s.Val.Len() == 0 {
						continue
					}
					_, pred, err := s.Predict(global, s.Val)
					if err != nil {
						return err
					}
					for i, y := range s.Val.Y {
						if y != y { // a missing response
							continue
						}
						d := float64(pred[i]) - float64(y)
						sse += d * d
						n++
					}
					preds[s.Name] = pred
				}
				for len(rec.sse) <= r {
					rec.sse, rec.n = append(rec.sse, 0), append(rec.n, 0)
				}
				rec.sse[r] += sse
				rec.n[r] += n
				if !keep {
					foldPreds = append(foldPreds, preds)
					return nil
				}
				if r == 0 && c.Init.From == "random" {
					return nil
				}
				if e := sse / float64(max(n, 1)); e < rec.bestE {
					rec.bestE, rec.bestR, rec.bestP = e, r, preds
					rec.best = append(rec.best[:0], global...)
				}
				return nil
			}
			tag := fmt.Sprintf("select %s fold %d/%d", mode, f+1, folds)
			var runRes *Result
			if keep {
				runRes = &Result{}
				rec.run = runRes
			}
			runOpt := Options{Log: opt.Log, Wrap: opt.Wrap}
			if mode == "validation" && len(cands) == 1 { // the only training there is
				runOpt.Progress, runOpt.ClientsDone = opt.Progress, opt.ClientsDone
			}
			if _, err := p.federate(ctx, c, run, pool, workers, tag, runRes, runOpt, onRound); err != nil {
				return nil, fmt.Errorf("select: %s, %s: %w", cand.name, tag, err)
			}
			rec.preds = append(rec.preds, foldPreds)
			rec.states = store
		}
	}
	// The winner: the least pooled validation MSE over (candidate, round);
	// ties go to the earlier candidate and round.
	report := Selection{Mode: mode, Chosen: -1}
	if mode != "validation" {
		report.Folds = folds
	}
	best, bestC, bestR := math.Inf(1), 0, 0
	for ci, rec := range recs {
		cs := CandidateScore{Name: cands[ci].name, MSE: math.Inf(1), Rounds: len(rec.sse) - 1}
		for r, sse := range rec.sse {
			e := sse / float64(max(rec.n[r], 1))
			cs.Curve = append(cs.Curve, e)
			if r == 0 && cands[ci].cfg.Init.From == "random" {
				continue
			}
			if e < cs.MSE {
				cs.MSE, cs.Best = e, r
			}
		}
		if cs.MSE < best {
			best, bestC, bestR = cs.MSE, ci, cs.Best
		}
		report.Candidates = append(report.Candidates, cs)
	}
	report.Chosen, report.Rounds = bestC, bestR
	out := &chosen{cfg: cands[bestC].cfg, report: report, heldOut: map[string]*heldOut{}}
	out.cfg.Federation.Rounds = bestR
	out.cfg.Select.Mode = "off" // the winner trains as it is
	out.cfg.Model, _ = completeModel(out.cfg, p.Data)
	rec := recs[bestC]
	q := p.Data.NumResponses()
	switch mode {
	case "kfold":
		// Out-of-fold predictions of every training row at the chosen
		// round, in each site's training order.
		for _, s := range sites {
			out.heldOut[s.Name] = &heldOut{y: make([]float32, len(s.Train.Y)), pred: make([]float32, len(s.Train.Y)), q: q}
		}
		for f, ms := range splits {
			for _, m := range ms {
				h := out.heldOut[m.name]
				pred := rec.preds[f][bestR][m.name]
				for i, row := range m.rows {
					copy(h.y[row*q:(row+1)*q], m.val.Y[i*q:(i+1)*q])
					copy(h.pred[row*q:(row+1)*q], pred[i*q:(i+1)*q])
				}
			}
		}
	case "holdout":
		if keep {
			out.weights, out.states = rec.best, rec.states
			out.rounds, out.init = rec.run.Rounds, rec.run.Init
			for _, m := range splits[0] {
				if pred, ok := rec.bestP[m.name]; ok {
					out.heldOut[m.name] = &heldOut{y: m.val.Y, pred: pred, q: q}
				}
			}
			break
		}
		for _, m := range splits[0] {
			out.heldOut[m.name] = &heldOut{y: m.val.Y, pred: rec.preds[0][bestR][m.name], q: q}
		}
	default:
		out.weights, out.states = rec.best, rec.states
		out.rounds, out.init = rec.run.Rounds, rec.run.Init
		for _, m := range splits[0] {
			if pred, ok := rec.bestP[m.name]; ok {
				out.heldOut[m.name] = &heldOut{y: m.val.Y, pred: pred, q: q}
			}
		}
	}
	return out, nil
}
