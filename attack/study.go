package attack

import (
	"context"
	"fmt"
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
	// Aggregator, NormBound and StatsLimit are federation.aggregator,
	// norm_bound and stats_limit (0: the defaults; negative: off).
	Aggregator string
	NormBound  float64
	StatsLimit float64
}

// Defences are the settings the study runs: the undefended mean (no
// norm bound, no screening: "undefended"), the
// defaults ("default": the mean with the adaptive norm bound and screened
// statistics), and every robust rule with the same bound and screening.
var Defences = []Defence{
	{Name: "undefended", Aggregator: "mean", NormBound: -1, StatsLimit: -1},
	{Name: "default", Aggregator: "mean"},
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
	// samples (the first response), and Clean the same defence's clean
	// run's on the same clients.
	R2, Clean float64
	// Rejected counts the updates the rounds did not merge; Excluded the
	// clients left out in the statistics phase.
	Rejected, Excluded int
	// MaxRatio is the largest honest update's norm over the round's lower
	// median, over the rounds, and MinRatio the round's median over the
	// smallest (clean runs only: the margins the norm bound needs).
	MaxRatio, MinRatio float64
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
	// Progress, if set, is called after every run.
	Progress func(done, total int, r Run)
}

// Run runs the study, one federation at a time, and returns every run
// (clean runs first for each defence and seed).
func (s Study) Run(ctx context.Context) ([]Run, error) {
	total := len(s.Seeds) * len(s.Defences) * (1 + len(s.Attacks)*len(s.Hostile))
	var out []Run
	for _, seed := range s.Seeds {
		for _, d := range s.Defences {
			cfg := s.Config
			cfg.Seed = seed
			f := &cfg.Federation
			f.Aggregator, f.NormBound, f.StatsLimit = d.Aggregator, d.NormBound, d.StatsLimit
			cfg = cfg.Defaults()
			names := make([]string, cfg.Federation.Clients)
			for k := range names {
				names[k] = fmt.Sprintf("client-%0*d", len(fmt.Sprint(len(names))), k+1)
			}
			probe := &probe{}
			res, err := fdrmfl.Simulate(ctx, cfg, fdrmfl.Options{Adversary: probe})
			if err != nil {
				return out, fmt.Errorf("%s, seed %d, clean: %w", d.Name, seed, err)
			}
			cleanOn := map[int]float64{}
			clean := Run{Defence: d.Name, Seed: seed}
			clean.MaxRatio, clean.MinRatio = probe.extremes()
			clean.R2, clean.Rejected = honestR2(res, nil), rejected(res)
			clean.Clean = clean.R2
			out = append(out, clean)
			if s.Progress != nil {
				s.Progress(len(out), total, clean)
			}
			for _, n := range s.Hostile {
				cleanOn[n] = honestR2(res, names[:n])
			}
			for _, kind := range s.Attacks {
				for _, n := range s.Hostile {
					a := &Attack{Kind: kind, Clients: names[:n], Seed: seed}
					res, err := fdrmfl.Simulate(ctx, cfg, fdrmfl.Options{Adversary: a})
					if err != nil {
						return out, fmt.Errorf("%s, seed %d, %s by %d: %w", d.Name, seed, kind, n, err)
					}
					r := Run{Defence: d.Name, Attack: kind, F: n, Seed: seed, R2: honestR2(res, a.Clients), Clean: cleanOn[n], Rejected: rejected(res), Excluded: len(res.Excluded)}
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
}

func (p *probe) Statistics(_ string, m []site.Moments, n int) ([]site.Moments, int) { return m, n }
func (p *probe) Client(s *site.Site) fed.Client                                     { return s }
func (p *probe) Fleet(f fed.Fleet) fed.Fleet                                        { return &probeFleet{f, p} }

func (p *probe) extremes() (high, low float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.high, p.low
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
	var d []float64
	for _, u := range ups {
		if u.Err == nil && len(u.Weights) == len(tasks[0].Global) {
			d = append(d, fed.Distance(tasks[0].Global, u.Weights, nil))
		}
	}
	if len(d) >= 3 {
		med := fed.LowerMedian(d)
		f.p.mu.Lock()
		f.p.high = max(f.p.high, slices.Max(d)/med)
		f.p.low = max(f.p.low, med/slices.Min(d))
		f.p.mu.Unlock()
	}
	return ups, nil
}
