package attack

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sync"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// Defence is a setting of the server's defences the study compares.
type Defence struct {
	Name string
	// Aggregator, NormBound, Direction and StatsLimit are
	// federation.aggregator, norm_bound, direction and stats_limit (0: the
	// defaults; negative: off).
	Aggregator string
	NormBound  float64
	Direction  float64
	// DirectionMin is federation.direction_min (0: the default).
	DirectionMin int
	StatsLimit   float64
	// Hostile, if set, replaces the study's numbers of hostile clients
	// for this defence.
	Hostile []int
}

// Defences are the settings the study runs: the undefended mean (no
// norm bound, no direction check, no screening: "undefended"), the
// defaults ("default": the mean with the adaptive norm bound, the
// direction check ρ = 0.5 in rounds of at least 8 updates and screened
// statistics), the defaults without the direction check
// ("no-direction"), the defaults with the direction check in every
// round of at least 3 ("default+direction"), the defaults with a
// stricter direction check, ρ = 0.8 ("direction-0.8": it catches some
// label flips, and would reject honest non-IID updates), and every robust
// rule with the default bound, check and screening.
var Defences = []Defence{
	{Name: "undefended", Aggregator: "mean", NormBound: -1, Direction: -1, StatsLimit: -1},
	{Name: "default", Aggregator: "mean"},
	{Name: "no-direction", Aggregator: "mean", Direction: -1},
	{Name: "default+direction", Aggregator: "mean", Direction: 0.5, DirectionMin: 3},
	{Name: "direction-0.8", Aggregator: "mean", Direction: 0.8},
	{Name: "median", Aggregator: "median"},
	{Name: "trimmed-mean", Aggregator: "trimmed-mean"},
	{Name: "krum", Aggregator: "krum"},
	{Name: "multi-krum", Aggregator: "multi-krum"},
	{Name: "geomed", Aggregator: "geomed"},
	{Name: "cc", Aggregator: "cc"},
}

// Run is one federation of the study.
type Run struct {
	Defence string
	Attack  Kind // "" for the clean run
	F       int  // hostile clients
	Seed    uint64
	// R2 is the final model's test R² over the honest clients' test
	// samples (the first response; NaN when the federation collapsed:
	// no round reached its quorum), Clean the same defence's clean run's
	// on the same clients, and Absent the same defence's with the F
	// clients failing every round instead of attacking (the federation
	// without their data: the best a defence can do).
	R2, Clean, Absent float64
	// Collapsed is set when the federation failed (no round reached its
	// quorum) or its model predicts values that are not finite; R2 is
	// then 0.
	Collapsed bool
	// Rejected counts the updates the rounds did not merge; Excluded the
	// clients left out in the statistics phase.
	Rejected, Excluded int
	// MaxRatio is the largest honest update's norm over the round's lower
	// median, over the rounds, and MinRatio the round's median over the
	// smallest (clean runs only: the margins the norm bound needs).
	MaxRatio, MinRatio float64
	// MinCosine is the smallest honest update's cosine with the round's
	// coordinate-wise median update over the round's median cosine (clean
	// runs only: the margin the direction check needs).
	MinCosine float64
}

// Study is what the attack study runs: cfg (clients, rounds, data) with
// every defence, clean and under every attack with each number of
// hostile clients (the first of the clients, by name).
type Study struct {
	Config   fdrmfl.Config
	Defences []Defence
	Attacks  []Kind
	Hostile  []int
	Seeds    []uint64
	// FS is the folder of CSV data (the configuration's data root).
	FS fs.FS
	// Progress, if set, is called after every run.
	Progress func(done, total int, r Run)
}

// Run runs the study, one federation at a time, and returns every run
// (clean runs first for each defence and seed).
func (s Study) Run(ctx context.Context) ([]Run, error) {
	total := 0
	for _, d := range s.Defences {
		total += len(s.Seeds) * (1 + len(s.Attacks)*len(s.hostile(d)))
	}
	var out []Run
	for _, seed := range s.Seeds {
		for _, d := range s.Defences {
			cfg := s.Config
			cfg.Seed = seed
			f := &cfg.Federation
			f.Aggregator, f.NormBound, f.Direction, f.DirectionMin, f.StatsLimit = d.Aggregator, d.NormBound, d.Direction, d.DirectionMin, d.StatsLimit
			cfg = cfg.Defaults()
			names := make([]string, cfg.Federation.Clients)
			for k := range names {
				names[k] = fmt.Sprintf("client-%0*d", len(fmt.Sprint(len(names))), k+1)
			}
			probe := &probe{}
			res, err := fdrmfl.Simulate(ctx, cfg, fdrmfl.Options{Adversary: probe, FS: s.FS})
			if err != nil {
				return out, fmt.Errorf("%s, seed %d, clean: %w", d.Name, seed, err)
			}
			cleanOn, absentOn := map[int]float64{}, map[int]float64{}
			clean := Run{Defence: d.Name, Seed: seed}
			clean.MaxRatio, clean.MinRatio, clean.MinCosine = probe.extremes()
			clean.R2, clean.Rejected = honestR2(res, nil), rejected(res)
			clean.Clean = clean.R2
			out = append(out, clean)
			if s.Progress != nil {
				s.Progress(len(out), total, clean)
			}
			for _, n := range s.hostile(d) {
				cleanOn[n] = honestR2(res, names[:n])
				if len(s.Attacks) == 0 {
					continue
				}
				res, err := fdrmfl.Simulate(ctx, cfg, fdrmfl.Options{Adversary: &Attack{Kind: Absent, Clients: names[:n]}, FS: s.FS})
				if err != nil {
					return out, fmt.Errorf("%s, seed %d, %d absent: %w", d.Name, seed, n, err)
				}
				absentOn[n] = honestR2(res, names[:n])
			}
			for _, kind := range s.Attacks {
				for _, n := range s.hostile(d) {
					a := &Attack{Kind: kind, Clients: names[:n], Seed: seed}
					res, err := fdrmfl.Simulate(ctx, cfg, fdrmfl.Options{Adversary: a, FS: s.FS})
					r := Run{Defence: d.Name, Attack: kind, F: n, Seed: seed, Clean: cleanOn[n], Absent: absentOn[n]}
					switch {
					case errors.Is(err, fed.ErrNoQuorum): // the federation collapsed: every honest update went bad
						r.Collapsed = true
					case err != nil:
						return out, fmt.Errorf("%s, seed %d, %s by %d: %w", d.Name, seed, kind, n, err)
					default:
						r.R2, r.Rejected, r.Excluded = honestR2(res, a.Clients), rejected(res), len(res.Excluded)
						if math.IsNaN(r.R2) || math.IsInf(r.R2, 0) {
							r.R2, r.Collapsed = 0, true
						}
					}
					out = append(out, r)
					if s.Progress != nil {
						s.Progress(len(out), total, r)
					}
				}
			}
		}
	}
	return out, nil
}

func (s Study) hostile(d Defence) []int {
	if d.Hostile != nil {
		return d.Hostile
	}
	return s.Hostile
}

// honestR2 returns the R² of the first response over the test samples of
// the clients not in hostile (NaN if the model's predictions are not finite).
func honestR2(res *fdrmfl.Result, hostile []string) float64 {
	var st train.Stats
	for _, c := range res.Clients {
		if slices.Contains(hostile, c.Name) {
			continue
		}
		for _, sp := range c.Splits {
			if sp.Name == "test" && len(sp.Index) > 0 {
				st.Add(train.PredictionStats(sp.Pred, sp.Y, len(sp.Y)/len(sp.Index)))
			}
		}
	}
	if st.N == 0 {
		return math.NaN()
	}
	return st.R2(0)
}

func rejected(res *fdrmfl.Result) int {
	n := 0
	for _, r := range res.Rounds {
		n += len(r.Rejected)
	}
	return n
}

// probe is an honest adversary: it watches each round's fit updates and
// records the largest norm over the round's lower median.
type probe struct {
	mu        sync.Mutex
	high, low float64
	cos       float64 // the smallest cosine ratio
	seen      bool
}

func (p *probe) Statistics(_ string, m []site.Moments, n int) ([]site.Moments, int) { return m, n }
func (p *probe) Client(s *site.Site) fed.Client                                     { return s }
func (p *probe) Fleet(f fed.Fleet) fed.Fleet                                        { return &probeFleet{f, p} }

func (p *probe) extremes() (high, low, cos float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.high, p.low, p.cos
}

type probeFleet struct {
	fed.Fleet
	p *probe
}

func (f *probeFleet) Run(ctx context.Context, tasks []fed.Task) ([]fed.Update, error) {
	ups, err := f.Fleet.Run(ctx, tasks)
	if err != nil || len(tasks) == 0 || tasks[0].Kind != fed.Fit {
		return ups, err
	}
	g := tasks[0].Global
	var d []float64
	var ok []fed.Update
	for _, u := range ups {
		if u.Err == nil && len(u.Weights) == len(g) {
			d = append(d, fed.Distance(g, u.Weights, nil))
			ok = append(ok, u)
		}
	}
	if len(d) < 3 {
		return ups, nil
	}
	ref := make([]float64, len(g))
	vals := make([]float64, len(ok))
	for i := range g {
		for k, u := range ok {
			vals[k] = float64(u.Weights[i]) - float64(g[i])
		}
		slices.Sort(vals)
		ref[i] = (vals[(len(vals)-1)/2] + vals[len(vals)/2]) / 2
	}
	var rn float64
	for _, r := range ref {
		rn += r * r
	}
	cos := make([]float64, len(ok))
	for k, u := range ok {
		var dot float64
		for i, r := range ref {
			dot += (float64(u.Weights[i]) - float64(g[i])) * r
		}
		cos[k] = dot / (d[k] * math.Sqrt(rn))
	}
	med, medCos := fed.LowerMedian(d), fed.LowerMedian(cos)
	f.p.mu.Lock()
	f.p.high = max(f.p.high, slices.Max(d)/med)
	f.p.low = max(f.p.low, med/slices.Min(d))
	if r := slices.Min(cos) / medCos; !f.p.seen || r < f.p.cos {
		f.p.cos, f.p.seen = r, true
	}
	f.p.mu.Unlock()
	return ups, nil
}
