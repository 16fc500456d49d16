package experiment

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/internal/workpool"
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
	// Done, if set, returns the results of a unit measured before (a
	// resumed run); Run uses them instead of running the unit again.
	Done func(Unit) (UnitResults, bool)
	// OnUnit, if set, is called with each unit's results as soon as the
	// unit finishes, one call at a time (in the order units finish); an
	// error stops the run. A caller that saves them can resume with Done.
	OnUnit func(UnitResults) error
	// Progress, if set, is called, one call at a time, when a unit starts,
	// after each of its methods, and when it finishes.
	Progress func(Progress)
}

// Progress says how far a run is.
type Progress struct {
	Units, UnitsDone int // in the run; finished (resumed ones included)
	// Unit is the unit the event is about; Method the method that just
	// finished in it ("" when the unit starts or ends), one of Methods.
	Unit        Unit
	Method      string
	MethodsDone int
	Methods     int
	UnitDone    bool // the event is the unit's end
	// Fraction is the share of the run's work done: finished units, and
	// the finished share of the methods of units in progress.
	Fraction float64
	Elapsed  time.Duration // since Run started
}

// UnitResults are one unit's measurements.
type UnitResults struct {
	Unit        Unit
	Rows        []Row
	Curves      []Curve
	Predictions []Prediction
	Timings     []Timing
	Assignments []Assignment
}

// Assignment records which rows of the dataset one client held in one
// set of a unit: the split every method of the unit saw.
type Assignment struct {
	Unit
	Client string
	Set    string   // "train" or "test"
	Rows   []int    // 0-based rows of the task's dataset
	IDs    []string `json:",omitempty"` // the samples' IDs, when the data have them
}

// Pooled is the Client of a Row that pools every client's test samples:
// the deployment error, the study's primary metric. Its R² is about the
// mean of all those test responses.
const Pooled = "pooled"

// Unit is one repetition: an experiment's task under a split and a seed.
type Unit struct {
	Experiment, Task, Split string
	Seed                    int
}

func (u Unit) String() string {
	return fmt.Sprintf("%s/%s/%s/seed %d", u.Experiment, u.Task, u.Split, u.Seed)
}

// Row is one measurement: a method with a downstream regressor on one
// client's test samples, or (Client Pooled) the deployment measurement:
// every client's test samples, each predicted by the model that client
// deploys, together.
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
	Assignments []Assignment
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
	if err := opt.Check(); err != nil {
		return nil, err
	}
	methods := Methods
	if len(opt.Variants) > 0 {
		methods = nil
	}
	if len(opt.Methods) > 0 {
		methods = opt.Methods
	}
	start := time.Now()
	out := make([]*UnitResults, len(jobs))
	var todo []int
	for i, j := range jobs {
		if opt.Done != nil {
			if r, ok := opt.Done(j.unit); ok {
				out[i] = &r
				continue
			}
		}
		todo = append(todo, i)
	}
	// One lock orders the callbacks; progress counts the finished share of
	// every unit in flight.
	var mu sync.Mutex
	done := len(jobs) - len(todo)
	partial := map[int]float64{}
	var failed error
	report := func(i int, ev Progress) {
		if opt.Progress == nil {
			return
		}
		if ev.Methods > 0 && !ev.UnitDone {
			partial[i] = float64(ev.MethodsDone) / float64(ev.Methods)
		}
		ev.Units, ev.UnitsDone, ev.Elapsed = len(jobs), done, time.Since(start)
		f := float64(done)
		for _, p := range partial {
			f += p
		}
		ev.Fraction = f / float64(max(len(jobs), 1))
		opt.Progress(ev)
	}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	workpool.Run(ctx, len(todo), opt.Workers, func(t int) {
		i := todo[t]
		j := jobs[i]
		n := unitMethods(methods, opt.Variants, j.spec)
		mu.Lock()
		report(i, Progress{Unit: j.unit, Methods: n})
		mu.Unlock()
		k := 0
		step := func(m string) {
			mu.Lock()
			k++
			report(i, Progress{Unit: j.unit, Method: m, MethodsDone: k, Methods: n})
			mu.Unlock()
		}
		r, err := runUnit(ctx, j.spec, j.task, j.unit, methods, opt.Variants, step)
		mu.Lock()
		delete(partial, i)
		if err == nil && opt.OnUnit != nil {
			err = opt.OnUnit(*r)
		}
		if err != nil {
			if failed == nil && ctx.Err() == nil {
				failed = fmt.Errorf("%s: %w", j.unit, err)
				cancel(failed)
			}
		} else {
			out[i] = r
			done++
			report(i, Progress{Unit: j.unit, MethodsDone: n, Methods: n, UnitDone: true})
		}
		mu.Unlock()
	})
	if failed != nil {
		return nil, failed
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	res := &Results{Elapsed: time.Since(start)}
	for _, r := range out {
		res.Rows = append(res.Rows, r.Rows...)
		res.Curves = append(res.Curves, r.Curves...)
		res.Predictions = append(res.Predictions, r.Predictions...)
		res.Timings = append(res.Timings, r.Timings...)
		res.Assignments = append(res.Assignments, r.Assignments...)
	}
	return res, nil
}

// unitMethods returns the number of methods and variants a unit of spec
// runs.
func unitMethods(methods []string, variants []Variant, s Spec) int {
	n := len(methods)
	for _, v := range variants {
		if _, ok := v.Config(s); ok {
			n++
		}
	}
	return n
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

// Fingerprint identifies the settings of a run — the experiments, their
// splits, seeds, clients, test shares and FDRMFL configurations, the
// methods and the variants — so that a resumed run can check that the
// units it finds were measured with the same settings.
func Fingerprint(specs []Spec, opt Options) string {
	type variant struct {
		Name   string
		Config []fdrmfl.Config
	}
	type spec struct {
		Name, Title             string
		Splits                  []string
		Seeds, Clients          int
		TestFraction            float64
		FDRMFL, Paper           fdrmfl.Config
		VAEEpochs               int
		Methods                 []string
		Variants                []variant
		FirstSeed, OptionsSeeds int
	}
	var all []spec
	for _, s := range specs {
		e := spec{Name: s.Name, Title: s.Title, Splits: s.Splits, Seeds: s.Seeds, Clients: s.Clients, TestFraction: s.TestFraction,
			FDRMFL: s.FDRMFL, Paper: s.Paper, VAEEpochs: s.VAEEpochs, Methods: opt.Methods, FirstSeed: opt.FirstSeed, OptionsSeeds: opt.Seeds}
		for _, v := range opt.Variants {
			c, ok := v.Config(s)
			if ok {
				e.Variants = append(e.Variants, variant{v.Name, []fdrmfl.Config{c}})
			}
		}
		all = append(all, e)
	}
	b, err := json.Marshal(all)
	if err != nil {
		panic(fmt.Sprintf("experiment: fingerprint: %v", err)) // plain data: cannot fail
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

// Check reports options that name unknown methods.
func (o Options) Check() error {
	for _, m := range o.Methods {
		if !slices.Contains(Methods, m) {
			return fmt.Errorf("unknown method %q (known: %s)", m, strings.Join(Methods, ", "))
		}
	}
	return nil
}
