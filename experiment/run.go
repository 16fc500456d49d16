package experiment

import (
	"context"
	"fmt"
	"io/fs"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fdrmfl/fdrmfl"
)

// Options control a run.
type Options struct {
	FS fs.FS // the data root for the real datasets
	// Workers is the number of (task, split, seed) units run at once
	// (0: GOMAXPROCS). Each unit runs on one goroutine, so results do not
	// depend on it.
	Workers int
	// Seeds, if positive, overrides every experiment's number of seeds.
	Seeds int
	// Methods, if not empty, restricts the methods run.
	Methods []string
	// Variants are FDRMFL configurations run beside the methods (see
	// TuningGrid). With Variants and no Methods, only the variants run.
	Variants []Variant
	// FirstSeed is the first repetition's seed (0: 1); a tuning study
	// starts at TuneFirstSeed.
	FirstSeed int
	// Progress is called after every unit with the number done and in all.
	Progress func(done, total int, u Unit, elapsed time.Duration)
}

// Unit is one repetition: an experiment's task under a split and a seed.
type Unit struct {
	Experiment, Task, Split string
	Seed                    int
}

func (u Unit) String() string {
	return fmt.Sprintf("%s/%s/%s/seed %d", u.Experiment, u.Task, u.Split, u.Seed)
}

// Row is one measurement: a method with a downstream regressor on one
// client's test samples (Client "pooled": all clients' test samples).
type Row struct {
	Unit
	Method, Regressor, Client string
	N                         int
	MSE, R2                   float64
}

// Curve is an FDRMFL run's training loss per round.
type Curve struct {
	Unit
	Method string
	Round  int
	Loss   float64 // mean training loss of the round's last local epoch
}

// Prediction is one test sample's observed and predicted response.
type Prediction struct {
	Unit
	Method, Regressor, Client string
	Y, Pred                   float64
}

// Timing is the time a method took in a unit (varies with the machine).
type Timing struct {
	Unit
	Method  string
	Seconds float64
}

// Results are everything a run measured, in a deterministic order.
type Results struct {
	Rows        []Row
	Curves      []Curve
	Predictions []Prediction
	Timings     []Timing
	Elapsed     time.Duration
}

// Run runs the experiments.
func Run(ctx context.Context, specs []Spec, opt Options) (*Results, error) {
	type job struct {
		spec Spec
		task Task
		unit Unit
	}
	var jobs []job
	for _, s := range specs {
		tasks, err := s.Tasks(opt.FS)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.Name, err)
		}
		seeds := s.Seeds
		if opt.Seeds > 0 {
			seeds = opt.Seeds
		}
		for _, t := range tasks {
			for _, split := range s.Splits {
				first := max(opt.FirstSeed, 1)
				for seed := first; seed < first+seeds; seed++ {
					jobs = append(jobs, job{s, t, Unit{Experiment: s.Name, Task: t.Name, Split: split, Seed: seed}})
				}
			}
		}
	}
	methods := Methods
	if len(opt.Variants) > 0 {
		methods = nil
	}
	if len(opt.Methods) > 0 {
		methods = opt.Methods
		for _, m := range methods {
			if !slices.Contains(Methods, m) {
				return nil, fmt.Errorf("unknown method %q (known: %s)", m, strings.Join(Methods, ", "))
			}
		}
	}
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	start := time.Now()
	out := make([]*unitResult, len(jobs))
	errs := make([]error, len(jobs))
	next := make(chan int)
	var mu sync.Mutex
	done := 0
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				j := jobs[i]
				out[i], errs[i] = runUnit(ctx, j.spec, j.task, j.unit, methods, opt.Variants)
				mu.Lock()
				done++
				if opt.Progress != nil {
					opt.Progress(done, len(jobs), j.unit, time.Since(start))
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range jobs {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Results{Elapsed: time.Since(start)}
	for i, r := range out {
		if errs[i] != nil {
			return nil, fmt.Errorf("%s: %w", jobs[i].unit, errs[i])
		}
		res.Rows = append(res.Rows, r.rows...)
		res.Curves = append(res.Curves, r.curves...)
		res.Predictions = append(res.Predictions, r.preds...)
		res.Timings = append(res.Timings, r.timings...)
	}
	return res, nil
}

// unitResult collects one unit's measurements.
type unitResult struct {
	rows    []Row
	curves  []Curve
	preds   []Prediction
	timings []Timing
}

// splitConfig is the data and federation part of a unit's configuration.
func splitConfig(s Spec, u Unit) fdrmfl.Config {
	cfg := s.FDRMFL
	cfg.Seed = uint64(u.Seed)
	cfg.Data = fdrmfl.Data{Source: s.FDRMFL.Data.Source, TestFraction: s.TestFraction, ValFraction: -1}
	cfg.Federation.Clients = s.Clients
	cfg.Federation.Partition = u.Split
	cfg.Federation.Workers = 1
	return cfg
}
