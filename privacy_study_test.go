package fdrmfl_test

import (
	"context"
	"flag"
	"fmt"
	"image/color"
	iofs "io/fs"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/internal/shareddata"
	"github.com/fdrmfl/fdrmfl/privacy"
	"github.com/fdrmfl/fdrmfl/train"
)

var privacyStudy = flag.Bool("privacy-study", false, "run the privacy/utility study and write docs/privacy/")

// privacyTasks are the study's data: simulation function 1 and the two
// NIR sets, three clients each.
var privacyTasks = []struct {
	name string
	cfg  fdrmfl.Config
}{
	{"tecator (fat)", fdrmfl.Config{Data: fdrmfl.Data{Source: "csv", Preset: "tecator-p1/fat"}}},
	{"corn (protein)", fdrmfl.Config{Data: fdrmfl.Data{Source: "csv", Preset: "corn-p1/protein"}}},
	{"sim1 (1000 samples)", fdrmfl.Config{Data: fdrmfl.Data{Function: 1, Samples: 1000}}},
}

var privacyEps = []float64{1, 3, 8, math.Inf(1)}

// cell holds one setting's R² over the seeds.
type cell struct{ r2 []float64 }

// TestPrivacyUtilityStudy measures what differential privacy costs: the
// pooled test R² of FDRMFL trained by DP-SGD (sample level, δ = 1e-5,
// noise calibrated to spend ε over all rounds) and of federated ridge on
// statistics released by the Gaussian mechanism (rows clipped, securely
// summed, noised once), at ε ∈ {1, 3, 8, ∞}, over three seeds. It runs
// only with -privacy-study (about half an hour on two cores) and writes
// docs/privacy/privacy.md, privacy.csv and privacy_r2.png.
//
//	go test . -run PrivacyUtilityStudy -privacy-study -timeout 2h
func TestPrivacyUtilityStudy(t *testing.T) {
	if !*privacyStudy {
		t.Skip("the privacy study runs with -privacy-study")
	}
	fsys := os.DirFS(shareddata.Dir(t))
	results := map[string]*cell{} // "task|method|eps"
	key := func(task, method string, eps float64) string { return fmt.Sprintf("%s|%s|%g", task, method, eps) }
	var csv strings.Builder
	csv.WriteString("task,method,epsilon,seed,r2,epsilon_spent\n")
	for ti, task := range privacyTasks {
		for seed := uint64(1); seed <= 3; seed++ {
			for _, eps := range privacyEps {
				cfg := task.cfg
				cfg.Seed = seed
				cfg.Loss = &train.Loss{KL: 0.01, Con: 0.01} // no MI: it has no per-sample gradient
				if !math.IsInf(eps, 1) {
					cfg.Privacy.DP = fdrmfl.DP{Level: "sample", Epsilon: eps}
				}
				res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: fsys})
				if err != nil {
					t.Fatalf("%s seed %d ε %v: %v", task.name, seed, eps, err)
				}
				spent := 0.0
				if n := len(res.Rounds); n > 0 {
					spent = res.Rounds[n-1].Epsilon
				}
				k := key(task.name, "FDRMFL (DP-SGD)", eps)
				if results[k] == nil {
					results[k] = &cell{}
				}
				results[k].r2 = append(results[k].r2, res.Test.R2[0])
				fmt.Fprintf(&csv, "%s,FDRMFL (DP-SGD),%g,%d,%.6f,%.4f\n", task.name, eps, seed, res.Test.R2[0], spent)

				r2, err := privateRidge(cfg, fsys, eps, seed)
				if err != nil {
					t.Fatalf("%s seed %d ε %v: ridge: %v", task.name, seed, eps, err)
				}
				k = key(task.name, "federated ridge (Gaussian statistics)", eps)
				if results[k] == nil {
					results[k] = &cell{}
				}
				results[k].r2 = append(results[k].r2, r2)
				fmt.Fprintf(&csv, "%s,federated ridge (Gaussian statistics),%g,%d,%.6f,%g\n", task.name, eps, seed, r2, eps)
				t.Logf("%s seed %d ε = %v: FDRMFL R² %.3f (ε spent %.3f), ridge R² %.3f", task.name, seed, eps, res.Test.R2[0], spent, r2)
			}
		}
		writePrivacyStudy(t, privacyTasks[:ti+1], results, csv.String())
	}
}

// writePrivacyStudy writes the table, the measurements and the plot of
// the tasks done so far.
func writePrivacyStudy(t *testing.T, tasks []struct {
	name string
	cfg  fdrmfl.Config
}, results map[string]*cell, csv string) {
	key := func(task, method string, eps float64) string { return fmt.Sprintf("%s|%s|%g", task, method, eps) }
	dir := filepath.Join("docs", "privacy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	methods := []string{"FDRMFL (DP-SGD)", "federated ridge (Gaussian statistics)"}
	var md strings.Builder
	md.WriteString("| data | method | ε = 1 | ε = 3 | ε = 8 | ε = ∞ |\n| --- | --- | ---: | ---: | ---: | ---: |\n")
	for _, task := range tasks {
		for _, m := range methods {
			fmt.Fprintf(&md, "| %s | %s |", task.name, m)
			for _, eps := range privacyEps {
				c := results[key(task.name, m, eps)]
				fmt.Fprintf(&md, " %.3f ± %.3f |", stat.Mean(c.r2, nil), stat.StdDev(c.r2, nil))
			}
			md.WriteString("\n")
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "privacy_table.md"), []byte(md.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "privacy.csv"), []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	p := plot.New()
	p.Title.Text = "Pooled test R² against the privacy budget (δ = 1e-5, 3 seeds, ±1 sd)"
	p.X.Label.Text = "ε (the last point: no DP)"
	p.Y.Label.Text = "R²"
	p.Y.Min, p.Y.Max = -0.5, 1
	colors := []color.Color{color.RGBA{31, 119, 180, 255}, color.RGBA{255, 127, 14, 255}, color.RGBA{44, 160, 44, 255}}
	for ti, task := range tasks {
		for mi, m := range methods {
			pts := make(plotter.XYs, len(privacyEps))
			errs := make(plotter.YErrors, len(privacyEps))
			for i, eps := range privacyEps {
				c := results[key(task.name, m, eps)]
				pts[i].X, pts[i].Y = float64(i), math.Max(-0.5, stat.Mean(c.r2, nil))
				sd := stat.StdDev(c.r2, nil)
				errs[i].Low, errs[i].High = sd, sd
			}
			l, s, err := plotter.NewLinePoints(pts)
			if err != nil {
				t.Fatal(err)
			}
			l.Color, s.Color = colors[ti], colors[ti]
			if mi == 1 {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			eb, err := plotter.NewYErrorBars(struct {
				plotter.XYer
				plotter.YErrorer
			}{pts, errs})
			if err != nil {
				t.Fatal(err)
			}
			eb.Color = colors[ti]
			p.Add(l, s, eb)
			p.Legend.Add(task.name+", "+m, l, s)
		}
	}
	p.NominalX("1", "3", "8", "∞")
	p.Legend.Top = false
	p.Legend.Left = true
	if err := p.Save(9*vg.Inch, 6*vg.Inch, filepath.Join(dir, "privacy_r2.png")); err != nil {
		t.Fatal(err)
	}
}

// privateRidge fits federated ridge on the clients of cfg from statistics
// of rows clipped to norm 1 per standardised input on average (‖x‖ ≤ √p)
// and ‖y‖ ≤ 3, merged by secure aggregation and, at finite ε, released by
// the Gaussian mechanism on the second moments of the standardised data
// (GaussianCentredStats; each fold's rows are disjoint: one release),
// and returns the pooled test R². α is chosen by 3-fold CV over folds of
// statistics.
func privateRidge(cfg fdrmfl.Config, fsys iofs.FS, eps float64, seed uint64) (float64, error) {
	cfg = cfg.Defaults()
	ds, err := fdrmfl.LoadData(cfg, fsys)
	if err != nil {
		return 0, err
	}
	prep, err := fdrmfl.Prepare(cfg, ds)
	if err != nil {
		return 0, err
	}
	clients := prep.Clients()
	var perClient [][]*baseline.SuffStats
	var p int
	for c, s := range clients {
		x, y := flatten(s.Train)
		_, p = x.Dims()
		baseline.ClipRows(x, y, math.Sqrt(float64(p)), 3)
		n, _ := x.Dims()
		st, err := baseline.FoldStats(x, y, baseline.KFold(n, 3, seed+uint64(c)))
		if err != nil {
			return 0, err
		}
		perClient = append(perClient, st)
	}
	folds, err := baseline.SecureByFold(perClient, func(parts [][]float64, blocks []int) ([]float64, error) {
		return secagg.SumFloats(parts, blocks, nil)
	})
	if err != nil {
		return 0, err
	}
	alphas := baseline.LogSpace(-1, 5, 7)
	if !math.IsInf(eps, 1) {
		z, err := privacy.NoiseFor(eps, 1e-5, 1, 1, 0.01*eps)
		if err != nil {
			return 0, err
		}
		r := rand.New(rand.NewPCG(seed, 77))
		for f := range folds {
			folds[f][0] = baseline.GaussianCentredStats(folds[f][0], z, math.Sqrt(float64(p)), 3, r)
		}
		// The noise on a fold's Sxx is a symmetric Gaussian matrix of
		// entry std z·Δ, whose spectrum reaches about 2·z·Δ·√p, and the
		// final fit adds three folds' noise (√3 times as large):
		// penalties below that leave the system indefinite.
		floor := 2 * math.Sqrt(3) * 1.5 * z * baseline.CentredSensitivity(math.Sqrt(float64(p)), 3) * math.Sqrt(float64(p))
		alphas = baseline.LogSpace(0, 2, 5)
		for i := range alphas {
			alphas[i] *= floor
		}
	}
	// The inputs are standardised already; the noisy statistics' own sds
	// would add noise to the scaling.
	rg := &baseline.Ridge{Alphas: alphas}
	if err := rg.FitFolds(folds); err != nil {
		return 0, err
	}
	var ys, preds []float64
	for _, s := range clients {
		x, y := flatten(s.Test)
		pr, err := rg.Predict(x)
		if err != nil {
			return 0, err
		}
		ys, preds = append(ys, y.RawMatrix().Data...), append(preds, pr...)
	}
	mean := stat.Mean(ys, nil)
	var sse, sst float64
	for i := range ys {
		sse += (preds[i] - ys[i]) * (preds[i] - ys[i])
		sst += (ys[i] - mean) * (ys[i] - mean)
	}
	return 1 - sse/sst, nil
}

// flatten returns a dataset's modalities side by side, and its first response.
func flatten(d *data.Dataset) (*mat.Dense, *mat.Dense) {
	n := d.Len()
	p := 0
	for i := range d.Modalities {
		p += d.Modalities[i].SampleSize()
	}
	x := mat.NewDense(n, p, nil)
	for i := range n {
		row := x.RawRowView(i)
		at := 0
		for m := range d.Modalities {
			for _, v := range d.Modalities[m].Sample(i) {
				row[at] = float64(v)
				at++
			}
		}
	}
	y := mat.NewDense(n, 1, nil)
	for i := range n {
		y.Set(i, 0, float64(d.Y[i*d.NumResponses()]))
	}
	return x, y
}
