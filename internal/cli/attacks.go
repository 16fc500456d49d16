package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/attack"
)

// runAttacks is "fdrmfl reproduce attacks": the attack study.
func runAttacks(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "reproduce attacks", "[flags]", `
Runs the attack study: simulation function 1 with --clients clients (default
10), and each server defence — the undefended mean, the defaults (the mean
with the adaptive norm bound, the direction check in rounds of at least 8
updates and screened statistics), the defaults without the direction check
(no-direction) or with it in every round (default+direction), and every
robust aggregator — clean and with f hostile clients (--hostile, default 1
and 3) doing each attack of package attack: sign flip, scaling by 1e6, Gaussian
noise as long as an honest step, label flip, ALIE ("a little is enough"),
the global model sent back with an inflated count, and statistics scaled by
1e6. Every federation's final test R² over the honest clients is compared
with the same defence's clean run on the same clients and seed. Writes
runs.csv (every run), attacks.md (mean ± sd of R² under attack minus clean,
per defence) and plots/attacks.png.`)
	out := fs.String("out", "results/attacks", "output `folder`")
	seeds := fs.Int("seeds", 3, "repetitions (seeds 1…n)")
	clients := fs.Int("clients", 10, "clients of every federation")
	rounds := fs.Int("rounds", 0, "rounds (0: the simulation's default, 16)")
	hostile := fs.String("hostile", "1,3", "comma-separated numbers of hostile `clients`")
	robustHostile := fs.String("robust-hostile", "", "comma-separated numbers of hostile `clients` for the robust aggregators only (default: --hostile)")
	defences := fs.String("defences", "", "comma-separated defences to run (default: all)")
	attacks := fs.String("attacks", "", "comma-separated attacks to run (default: all; none: clean runs only)")
	config := fs.String("config", "", "a configuration `file` to run instead of simulation function 1 (its seed and robustness settings are the study's)")
	render := fs.String("render", "", "only write the table and plot of the runs.json files in these comma-separated `folders` (runs of one study split over processes) into --out")
	if err := parse(fs, args); err != nil {
		return err
	}
	st := attack.Study{Defences: attack.Defences, Attacks: attack.Kinds}
	st.Config = fdrmfl.Config{Federation: fdrmfl.Federation{Clients: *clients, Rounds: *rounds}}
	if *config != "" {
		var cfg fdrmfl.Config
		if err := readFile(*config, &cfg, &cfg); err != nil {
			return err
		}
		if *rounds > 0 {
			cfg.Federation.Rounds = *rounds
		}
		st.Config, st.FS = cfg, os.DirFS(cfg.Data.Root)
		*clients = cfg.Defaults().Federation.Clients
	}
	for i := 1; i <= *seeds; i++ {
		st.Seeds = append(st.Seeds, uint64(i))
	}
	numbers := func(flag, list string) ([]int, error) {
		var out []int
		for _, h := range strings.Split(list, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(h))
			if err != nil || n < 1 || 2*n >= *clients {
				return nil, usagef("--%s: %q is not a number of clients below half of %d", flag, h, *clients)
			}
			out = append(out, n)
		}
		return out, nil
	}
	st.Defences = slices.Clone(st.Defences)
	if *defences != "" {
		st.Defences = nil
		for _, name := range strings.Split(*defences, ",") {
			i := slices.IndexFunc(attack.Defences, func(d attack.Defence) bool { return d.Name == name || d.Aggregator == name })
			if i < 0 {
				return usagef("--defences: no defence %q", name)
			}
			st.Defences = append(st.Defences, attack.Defences[i])
		}
	}
	var err error
	if st.Hostile, err = numbers("hostile", *hostile); err != nil {
		return err
	}
	if *robustHostile != "" {
		rh, err := numbers("robust-hostile", *robustHostile)
		if err != nil {
			return err
		}
		for i := range st.Defences {
			if st.Defences[i].Aggregator != "mean" {
				st.Defences[i].Hostile = rh
			}
		}
	}
	if *attacks == "none" {
		st.Attacks = nil
	} else if *attacks != "" {
		st.Attacks = nil
		for _, name := range strings.Split(*attacks, ",") {
			k, err := attack.ParseKind(strings.TrimSpace(name))
			if err != nil {
				return usageError{err}
			}
			st.Attacks = append(st.Attacks, k)
		}
	}
	if err := os.MkdirAll(filepath.Join(*out, "plots"), 0o755); err != nil {
		return err
	}
	if *render != "" {
		var runs []attack.Run
		var seen []string
		for _, dir := range strings.Split(*render, ",") {
			var more []attack.Run
			b, err := os.ReadFile(filepath.Join(dir, "runs.json"))
			if err != nil {
				return err
			}
			if err := json.Unmarshal(b, &more); err != nil {
				return fmt.Errorf("%s: %w", filepath.Join(dir, "runs.json"), err)
			}
			for _, r := range more {
				if !slices.Contains(seen, r.Defence) {
					seen = append(seen, r.Defence)
				}
			}
			runs = append(runs, more...)
		}
		st.Defences = slices.DeleteFunc(st.Defences, func(d attack.Defence) bool { return !slices.Contains(seen, d.Name) })
		st.Seeds = nil
		for _, r := range runs {
			if !slices.Contains(st.Seeds, r.Seed) {
				st.Seeds = append(st.Seeds, r.Seed)
			}
		}
		return writeAttacks(*out, st, runs)
	}
	start := time.Now()
	st.Progress = func(done, total int, r attack.Run) {
		fmt.Fprintf(e.stdout, "[%d/%d %s] %s, seed %d, %s f=%d: R² %.4f (clean %.4f), %d rejected, %d excluded\n",
			done, total, time.Since(start).Round(time.Second), r.Defence, r.Seed, cmpOr(string(r.Attack), "clean"), r.F, r.R2, r.Clean, r.Rejected, r.Excluded)
	}
	runs, err := st.Run(ctx)
	if err != nil {
		return err
	}
	if err := writeAttacks(*out, st, runs); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "done in %s; table in %s\n", time.Since(start).Round(time.Second), filepath.Join(*out, "attacks.md"))
	return nil
}

// writeAttacks writes the study's runs (runs.csv, runs.json), table and plot into dir.
func writeAttacks(dir string, st attack.Study, runs []attack.Run) error {
	out := &dir
	if err := writeJSON(filepath.Join(dir, "runs.json"), runs); err != nil {
		return err
	}
	rows := [][]string{{"defence", "attack", "hostile", "seed", "r2", "clean_r2", "absent_r2", "delta", "rejected", "excluded", "max_honest_norm_ratio", "max_median_over_min_norm", "min_cosine_ratio"}}
	for _, r := range runs {
		rows = append(rows, []string{r.Defence, cmpOr(string(r.Attack), "clean"), strconv.Itoa(r.F), strconv.FormatUint(r.Seed, 10),
			ff(r.R2), ff(r.Clean), ff(r.Absent), ff(r.R2 - r.Clean), strconv.Itoa(r.Rejected), strconv.Itoa(r.Excluded), ff(r.MaxRatio), ff(r.MinRatio), ff(r.MinCosine)})
	}
	if err := writeCSV(filepath.Join(*out, "runs.csv"), rows); err != nil {
		return err
	}
	md := attackTable(st, runs)
	if err := os.WriteFile(filepath.Join(*out, "attacks.md"), []byte(md), 0o644); err != nil {
		return err
	}
	return attackPlot(filepath.Join(*out, "plots", "attacks.png"), st, runs)
}

func cmpOr(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// meanSD returns the mean and sample standard deviation of xs.
func meanSD(xs []float64) (float64, float64) {
	var s float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	if len(xs) < 2 {
		return m, 0
	}
	var v float64
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return m, math.Sqrt(v / float64(len(xs)-1))
}

// deltas returns R² under attack minus clean (or, with absent, minus
// the run without the hostile clients) for each defence, attack and
// number of hostile clients, over the seeds.
func deltas(runs []attack.Run, d string, k attack.Kind, f int, absent bool) []float64 {
	var out []float64
	for _, r := range runs {
		if r.Defence == d && r.Attack == k && r.F == f {
			base := r.Clean
			if absent {
				base = r.Absent
			}
			if r.Collapsed {
				out = append(out, math.NaN())
				continue
			}
			out = append(out, r.R2-base)
		}
	}
	return out
}

// attackTable writes the study's markdown tables: R² under attack
// against the clean run, and against the run without the hostile clients.
func attackTable(st attack.Study, runs []attack.Run) string {
	var b strings.Builder
	n := st.Config.Defaults().Federation.Clients
	fmt.Fprintf(&b, "%d clients, %d seeds; the first f clients (by name) are hostile. Each cell: the final model's test R² over the honest clients, mean ± sd over seeds. **Bold**: within 0.02. Below −1: < −1; collapsed: in some seed no round reached its quorum (every honest update went bad).\n\n", n, len(st.Seeds))
	b.WriteString("Clean runs (every client honest):\n\n| |")
	for _, d := range st.Defences {
		fmt.Fprintf(&b, " %s |", d.Name)
	}
	b.WriteString("\n| --- |" + strings.Repeat(" ---: |", len(st.Defences)) + "\n| R² |")
	for _, d := range st.Defences {
		var xs []float64
		for _, r := range runs {
			if r.Defence == d.Name && r.Attack == "" {
				xs = append(xs, r.R2)
			}
		}
		m, s := meanSD(xs)
		fmt.Fprintf(&b, " %.3f ± %.3f |", m, s)
	}
	b.WriteString("\n")
	for _, absent := range []bool{false, true} {
		if absent {
			b.WriteString("\nR² under attack minus R² with the f hostile clients absent (failing every round: the federation without their data, the best a defence can do):\n\n")
		} else {
			b.WriteString("\nR² under attack minus the clean run's:\n\n")
		}
		b.WriteString("| attack | f |")
		for _, d := range st.Defences {
			fmt.Fprintf(&b, " %s |", d.Name)
		}
		b.WriteString("\n| --- | ---: |" + strings.Repeat(" ---: |", len(st.Defences)) + "\n")
		rowsFor := append([]attack.Kind{}, st.Attacks...)
		if !absent {
			rowsFor = append([]attack.Kind{attack.Absent}, rowsFor...)
		}
		for _, k := range rowsFor {
			for _, f := range allHostile(st) {
				fmt.Fprintf(&b, "| %s | %d |", k, f)
				for _, d := range st.Defences {
					var xs []float64
					if k == attack.Absent {
						for _, r := range runs {
							if r.Defence == d.Name && r.F == f && r.Attack == st.Attacks[0] {
								xs = append(xs, r.Absent-r.Clean)
							}
						}
					} else {
						xs = deltas(runs, d.Name, k, f, absent)
					}
					b.WriteString(" " + cell(xs) + " |")
				}
				b.WriteString("\n")
			}
		}
	}
	var hi, lo, cs []float64
	for _, r := range runs {
		if r.Attack == "" && r.MaxRatio > 0 {
			hi, lo, cs = append(hi, r.MaxRatio), append(lo, r.MinRatio), append(cs, r.MinCosine)
		}
	}
	if len(hi) > 0 {
		fmt.Fprintf(&b, "\nClean runs: the largest honest update norm was %.2f times its round's lower median, the smallest 1/%.2f of it; the smallest honest cosine with the round's coordinate-wise median update was %.2f times the round's median cosine.\n", slices.Max(hi), slices.Max(lo), slices.Min(cs))
	}
	return b.String()
}

// cell formats a table cell of R² differences.
func cell(xs []float64) string {
	if len(xs) == 0 {
		return ""
	}
	m, s := meanSD(xs)
	c := fmt.Sprintf("%+.3f ± %.3f", m, s)
	switch {
	case math.IsNaN(m):
		return "collapsed"
	case m < -1:
		return "< −1"
	case math.Abs(m) <= 0.02:
		return "**" + c + "**"
	}
	return c
}

// allHostile lists every number of hostile clients of the study.
func allHostile(st attack.Study) []int {
	var out []int
	for _, f := range st.Hostile {
		out = append(out, f)
	}
	for _, d := range st.Defences {
		for _, f := range d.Hostile {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
		}
	}
	slices.Sort(out)
	return out
}

// attackPlot draws, for each number of hostile clients, the mean change
// in R² of every defence under every attack (clipped at −1).
func attackPlot(path string, st attack.Study, runs []attack.Run) error {
	colors := []color.Color{
		color.RGBA{R: 127, G: 127, B: 127, A: 255}, color.RGBA{R: 31, G: 119, B: 180, A: 255},
		color.RGBA{R: 255, G: 127, B: 14, A: 255}, color.RGBA{R: 44, G: 160, B: 44, A: 255},
		color.RGBA{R: 214, G: 39, B: 40, A: 255}, color.RGBA{R: 148, G: 103, B: 189, A: 255},
		color.RGBA{R: 140, G: 86, B: 75, A: 255}, color.RGBA{R: 227, G: 119, B: 194, A: 255},
		color.RGBA{R: 23, G: 190, B: 207, A: 255}, color.RGBA{R: 188, G: 189, B: 34, A: 255},
	}
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}, draw.SquareGlyph{}, draw.CircleGlyph{}, draw.BoxGlyph{}}
	var plots []*plot.Plot
	if len(st.Attacks) == 0 {
		return nil // clean runs only: nothing to plot
	}
	for _, f := range allHostile(st) {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%d hostile of %d clients: R² under attack − R² without them (mean over seeds, clipped at −1)", f, st.Config.Defaults().Federation.Clients)
		p.Y.Label.Text = "ΔR²"
		for i, d := range st.Defences {
			var xys plotter.XYs
			for j, k := range st.Attacks {
				xs := deltas(runs, d.Name, k, f, true)
				if len(xs) == 0 {
					continue
				}
				m, _ := meanSD(xs)
				if math.IsNaN(m) || m < -1 {
					m = -1
				}
				off := (float64(i) - float64(len(st.Defences)-1)/2) * 0.09
				xys = append(xys, plotter.XY{X: float64(j) + off, Y: m})
			}
			if len(xys) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return err
			}
			sc.GlyphStyle.Color = colors[i%len(colors)]
			sc.GlyphStyle.Shape = shapes[i%len(shapes)]
			sc.GlyphStyle.Radius = vg.Points(3)
			p.Add(sc)
			p.Legend.Add(d.Name, sc)
		}
		band, err := plotter.NewLine(plotter.XYs{{X: -0.5, Y: -0.02}, {X: float64(len(st.Attacks)) - 0.5, Y: -0.02}})
		if err != nil {
			return err
		}
		band.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
		p.Add(band, plotter.NewGrid())
		names := make([]string, len(st.Attacks))
		for j, k := range st.Attacks {
			names[j] = string(k)
		}
		p.NominalX(names...)
		p.Y.Min, p.Y.Max = -1.05, 0.5 // after Add, which widens the axes to the data
		p.Legend.Top, p.Legend.Left = false, false
		p.Legend.XOffs, p.Legend.YOffs = vg.Points(-4), vg.Points(4)
		plots = append(plots, p)
	}
	const w, h = 760, 360
	img := vgimg.New(vg.Points(w), vg.Points(h*float64(len(plots))))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(plots), Cols: 1}
	canvases := plot.Align(plotsColumn(plots), tiles, dc)
	for i, p := range plots {
		p.Draw(canvases[i][0])
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	defer fh.Close()
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(fh); err != nil {
		return err
	}
	return fh.Close()
}

func plotsColumn(ps []*plot.Plot) [][]*plot.Plot {
	out := make([][]*plot.Plot, len(ps))
	for i, p := range ps {
		out[i] = []*plot.Plot{p}
	}
	return out
}
