package experiment_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/experiment"
	"github.com/fdrmfl/fdrmfl/experiment/report"
	"github.com/fdrmfl/fdrmfl/train"
)

// tinyStudy is a study of a small CSV dataset: two modalities, y linear
// in them plus noise.
func tinyStudy(t *testing.T) (experiment.Spec, fstest.MapFS) {
	t.Helper()
	r := rand.New(rand.NewPCG(1, 2))
	var a, b, y strings.Builder
	a.WriteString("a1,a2,a3,a4\n")
	b.WriteString(strings.Join(func() []string {
		var h []string
		for i := range 12 {
			h = append(h, fmt.Sprintf("w%d", i))
		}
		return h
	}(), ",") + "\n")
	y.WriteString("y\n")
	for range 120 {
		var xa, xb []string
		s := 0.0
		for j := range 4 {
			v := r.NormFloat64()
			s += v * float64(j+1)
			xa = append(xa, fmt.Sprint(v))
		}
		for j := range 12 {
			v := r.NormFloat64()
			if j%3 == 0 {
				s += v
			}
			xb = append(xb, fmt.Sprint(v))
		}
		a.WriteString(strings.Join(xa, ",") + "\n")
		b.WriteString(strings.Join(xb, ",") + "\n")
		fmt.Fprintf(&y, "%v\n", s+0.3*r.NormFloat64())
	}
	fsys := fstest.MapFS{"a.csv": {Data: []byte(a.String())}, "b.csv": {Data: []byte(b.String())}, "y.csv": {Data: []byte(y.String())}}
	cfg := fdrmfl.Config{Data: fdrmfl.Data{Source: "csv", ResponseFile: "y.csv"}}
	cfg.Data.Modalities = append(cfg.Data.Modalities,
		dataSpec("a", "a.csv", "vector"), dataSpec("b", "b.csv", "signal"))
	cfg.Federation.Rounds = 10
	cfg.Train.Epochs = 10
	spec, err := experiment.Custom(cfg, experiment.Study{Name: "tiny", Seeds: 2})
	if err != nil {
		t.Fatal(err)
	}
	spec.Paper.Federation.Rounds = 2
	spec.VAEEpochs = 5
	return spec, fsys
}

// TestEveryMethodReportsAndResultsDoNotDependOnWorkers runs a tiny study
// twice, on one worker and on two.
func TestEveryMethodReportsAndResultsDoNotDependOnWorkers(t *testing.T) {
	spec, fsys := tinyStudy(t)
	var runs []*experiment.Results
	for _, w := range []int{1, 2} {
		res, err := experiment.Run(context.Background(), []experiment.Spec{spec}, experiment.Options{FS: fsys, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, res)
	}
	if !reflect.DeepEqual(runs[0].Rows, runs[1].Rows) {
		t.Fatal("results differ between one worker and two")
	}
	seen := map[string]bool{}
	for _, r := range runs[0].Rows {
		if math.IsNaN(r.R2) || math.IsNaN(r.MSE) || r.N == 0 {
			t.Fatalf("bad row %+v", r)
		}
		if r.Client == experiment.Pooled {
			seen[r.Method+"/"+r.Split] = true
		}
	}
	for _, m := range experiment.Methods {
		for _, s := range []string{"iid", "response"} {
			if !seen[m+"/"+s] {
				t.Errorf("no pooled result for %s, %s split", m, s)
			}
		}
	}
	cells := report.Summarize(runs[0].Rows)
	var md bytes.Buffer
	if err := report.Markdown(&md, cells, "r2"); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(md.String(), "**") || !strings.Contains(md.String(), "mean ± sd over 2 repetitions") {
		t.Fatalf("table without a bold best or the repetition count:\n%s", md.String())
	}
	// FDRMFL and ridge should learn this linear task.
	for _, c := range cells {
		if c.Split == "iid" && (c.Method == experiment.MRidge || (c.Method == experiment.MFDRMFL && c.Regressor == experiment.RegHead)) && c.R2Mean < 0.8 {
			t.Errorf("%s → %s: R² %.3f on a linear task", c.Method, c.Regressor, c.R2Mean)
		}
	}
}

func TestLookup(t *testing.T) {
	all, err := experiment.Lookup([]string{"all"})
	if err != nil || len(all) != 7 {
		t.Fatalf("all: %d experiments, %v", len(all), err)
	}
	if _, err := experiment.Lookup([]string{"sim4"}); err == nil || !strings.Contains(err.Error(), "known: sim1") {
		t.Fatalf("unknown experiment: %v", err)
	}
}

// TestVariantsRunOnTuningSeeds runs two FDRMFL variants, alone, on seeds
// from TuneFirstSeed.
func TestVariantsRunOnTuningSeeds(t *testing.T) {
	spec, fsys := tinyStudy(t)
	spec.Splits = []string{"iid"}
	spec.Seeds = 2
	grid := experiment.TuningGrid()
	var vs []experiment.Variant
	for _, v := range grid {
		if v.Name == "ours" || v.Name == "ours, twice d" {
			vs = append(vs, v)
		}
	}
	res, err := experiment.Run(context.Background(), []experiment.Spec{spec}, experiment.Options{FS: fsys, Variants: vs, FirstSeed: experiment.TuneFirstSeed})
	if err != nil {
		t.Fatal(err)
	}
	methods := map[string]bool{}
	for _, r := range res.Rows {
		if r.Seed < experiment.TuneFirstSeed {
			t.Fatalf("seed %d in a tuning run", r.Seed)
		}
		methods[r.Method] = true
	}
	want := map[string]bool{"FDRMFL [ours]": true, "FDRMFL [ours, twice d]": true}
	if !reflect.DeepEqual(methods, want) {
		t.Fatalf("methods %v, want %v", methods, want)
	}
	// The tuning grid must not change the experiment's own settings.
	for _, s := range append(experiment.Catalogue(), spec) {
		before := settings(s)
		for _, v := range grid {
			v.Config(s)
		}
		if settings(s) != before {
			t.Fatalf("%s: a variant changed the experiment's settings", s.Name)
		}
	}
}

// settings prints an experiment's FDRMFL and author's configurations.
func settings(s experiment.Spec) string {
	str := fmt.Sprintf("%+v %+v", s.FDRMFL.Model, s.Paper.Model)
	for _, l := range []*train.Loss{s.FDRMFL.Loss, s.Paper.Loss} {
		if l != nil {
			str += fmt.Sprintf(" %+v", *l)
		}
	}
	return str
}

// TestStoppedRunResumes stops a run after its first repetition and
// resumes it from the saved repetitions: the resumed run runs only the
// others and ends with the rows of an uninterrupted run.
func TestStoppedRunResumes(t *testing.T) {
	spec, fsys := tinyStudy(t)
	spec.Splits = []string{"iid"}
	spec.Seeds = 3
	opt := experiment.Options{FS: fsys, Workers: 1, Methods: []string{experiment.MFDRMFL, experiment.MRidge}}
	whole, err := experiment.Run(context.Background(), []experiment.Spec{spec}, opt)
	if err != nil {
		t.Fatal(err)
	}

	saved := map[experiment.Unit]experiment.UnitResults{}
	ctx, stop := context.WithCancel(context.Background())
	first := opt
	first.OnUnit = func(r experiment.UnitResults) error {
		b, _ := json.Marshal(r) // as a caller saves them
		var back experiment.UnitResults
		if err := json.Unmarshal(b, &back); err != nil {
			return err
		}
		saved[r.Unit] = back
		stop()
		return nil
	}
	if _, err := experiment.Run(ctx, []experiment.Spec{spec}, first); err == nil {
		t.Fatal("the stopped run reported success")
	}
	if len(saved) != 1 {
		t.Fatalf("%d repetitions saved before the stop, want 1", len(saved))
	}
	var ran []experiment.Unit
	again := opt
	again.Done = func(u experiment.Unit) (experiment.UnitResults, bool) { r, ok := saved[u]; return r, ok }
	again.OnUnit = func(r experiment.UnitResults) error { ran = append(ran, r.Unit); return nil }
	var events int
	again.Progress = func(p experiment.Progress) {
		events++
		if p.Fraction < 1.0/3-1e-9 || p.Fraction > 1 || p.Units != 3 {
			t.Errorf("progress %+v: a resumed run starts a third done", p)
		}
	}
	resumed, err := experiment.Run(context.Background(), []experiment.Spec{spec}, again)
	if err != nil {
		t.Fatal(err)
	}
	if len(ran) != 2 || events == 0 {
		t.Fatalf("the resumed run ran %v (%d progress events), want the 2 repetitions not saved", ran, events)
	}
	if !reflect.DeepEqual(resumed.Rows, whole.Rows) || !reflect.DeepEqual(resumed.Assignments, whole.Assignments) {
		t.Fatal("the resumed run's rows differ from the uninterrupted run's")
	}
}
