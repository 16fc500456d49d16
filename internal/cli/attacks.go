package cli

import (
	"context"
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
with the adaptive norm bound and screened statistics) and every robust
aggregator — clean and with f hostile clients (--hostile, default 1 and 3)
doing each attack of package attack: sign flip, scaling by 1e6, Gaussian
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
	defences := fs.String("defences", "", "comma-separated defences to run (default: all)")
	attacks := fs.String("attacks", "", "comma-separated attacks to run (default: all)")
	if err := parse(fs, args); err != nil {
		return err
	}
	st := attack.Study{Defences: attack.Defences, Attacks: attack.Kinds}
	st.Config = fdrmfl.Config{Federation: fdrmfl.Federation{Clients: *clients, Rounds: *rounds}}
	for i := 1; i <= *seeds; i++ {
		st.Seeds = append(st.Seeds, uint64(i))
	}
	for _, h := range strings.Split(*hostile, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(h))
		if err != nil || n < 1 || 2*n >= *clients {
			return usagef("--hostile: %q is not a number of clients below half of %d", h, *clients)
		}
		st.Hostile = append(st.Hostile, n)
	}
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
	if *attacks != "" {
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
	start := time.Now()
	st.Progress = func(done, total int, r attack.Run) {
		fmt.Fprintf(e.stdout, "[%d/%d %s] %s, seed %d, %s f=%d: R² %.4f (clean %.4f), %d rejected, %d excluded\n",
			done, total, time.Since(start).Round(time.Second), r.Defence, r.Seed, cmpOr(string(r.Attack), "clean"), r.F, r.R2, r.Clean, r.Rejected, r.Excluded)
	}
	runs, err := st.Run(ctx)
	if err != nil {
		return err
	}
	rows := [][]string{{"defence", "attack", "hostile", "seed", "r2", "clean_r2", "delta", "rejected", "excluded", "max_honest_norm_ratio", "max_median_over_min_norm"}}
	for _, r := range runs {
		rows = append(rows, []string{r.Defence, cmpOr(string(r.Attack), "clean"), strconv.Itoa(r.F), strconv.FormatUint(r.Seed, 10),
			ff(r.R2), ff(r.Clean), ff(r.R2 - r.Clean), strconv.Itoa(r.Rejected), strconv.Itoa(r.Excluded), ff(r.MaxRatio), ff(r.MinRatio)})
	}
	if err := writeCSV(filepath.Join(*out, "runs.csv"), rows); err != nil {
		return err
	}
	md := attackTable(st, runs)
	if err := os.WriteFile(filepath.Join(*out, "attacks.md"), []byte(md), 0o644); err != nil {
		return err
	}
	if err := attackPlot(filepath.Join(*out, "plots", "attacks.png"), st, runs); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "done in %s; table in %s\n", time.Since(start).Round(time.Second), filepath.Join(*out, "attacks.md"))
	return nil
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

// deltas returns R² under attack minus clean for each defence, attack
// and number of hostile clients, over the seeds.
func deltas(runs []attack.Run, d string, k attack.Kind, f int) []float64 {
	var out []float64
	for _, r := range runs {
		if r.Defence == d && r.Attack == k && r.F == f {
			out = append(out, r.R2-r.Clean)
		}
	}
	return out
}

// attackTable writes the study's markdown tables.
func attackTable(st attack.Study, runs []attack.Run) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Simulation function 1, %d clients, %d seeds. Each cell: final test R² over the honest clients under attack minus the same defence's clean run (mean ± sd over seeds); **bold** where the mean is within 0.02 of the clean run. Values below −1 are shown as < −1.\n\n", st.Config.Defaults().Federation.Clients, len(st.Seeds))
	b.WriteString("| attack | f |")
	for _, d := range st.Defences {
		fmt.Fprintf(&b, " %s |", d.Name)
	}
	b.WriteString("\n| --- | ---: |" + strings.Repeat(" ---: |", len(st.Defences)) + "\n")
	b.WriteString("| clean R² | 0 |")
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
	for _, k := range st.Attacks {
		for _, f := range st.Hostile {
			fmt.Fprintf(&b, "| %s | %d |", k, f)
			for _, d := range st.Defences {
				xs := deltas(runs, d.Name, k, f)
				if len(xs) == 0 {
					b.WriteString(" |")
					continue
				}
				m, s := meanSD(xs)
				cell := fmt.Sprintf("%+.3f ± %.3f", m, s)
				switch {
				case math.IsNaN(m) || m < -1:
					cell = "< −1"
				case math.Abs(m) <= 0.02:
					cell = "**" + cell + "**"
				}
				fmt.Fprintf(&b, " %s |", cell)
			}
			b.WriteString("\n")
		}
	}
	var hi, lo []float64
	for _, r := range runs {
		if r.Attack == "" && r.MaxRatio > 0 {
			hi, lo = append(hi, r.MaxRatio), append(lo, r.MinRatio)
		}
	}
	if len(hi) > 0 {
		fmt.Fprintf(&b, "\nClean runs: the largest honest update norm was %.2f times its round's lower median, the smallest 1/%.2f of it.\n", slices.Max(hi), slices.Max(lo))
	}
	return b.String()
}

// attackPlot draws, for each number of hostile clients, the mean change
// in R² of every defence under every attack (clipped at −1).
func attackPlot(path string, st attack.Study, runs []attack.Run) error {
	colors := []color.Color{
		color.RGBA{R: 127, G: 127, B: 127, A: 255}, color.RGBA{R: 31, G: 119, B: 180, A: 255},
		color.RGBA{R: 255, G: 127, B: 14, A: 255}, color.RGBA{R: 44, G: 160, B: 44, A: 255},
		color.RGBA{R: 214, G: 39, B: 40, A: 255}, color.RGBA{R: 148, G: 103, B: 189, A: 255},
		color.RGBA{R: 140, G: 86, B: 75, A: 255}, color.RGBA{R: 227, G: 119, B: 194, A: 255},
	}
	shapes := []draw.GlyphDrawer{draw.CircleGlyph{}, draw.BoxGlyph{}, draw.TriangleGlyph{}, draw.PyramidGlyph{}, draw.CrossGlyph{}, draw.PlusGlyph{}, draw.RingGlyph{}, draw.SquareGlyph{}}
	var plots []*plot.Plot
	for _, f := range st.Hostile {
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%d hostile of %d clients: R² under attack − clean (mean over seeds, clipped at −1)", f, st.Config.Defaults().Federation.Clients)
		p.Y.Label.Text = "ΔR²"
		p.Y.Min, p.Y.Max = -1.05, 0.1
		for i, d := range st.Defences {
			var xys plotter.XYs
			for j, k := range st.Attacks {
				xs := deltas(runs, d.Name, k, f)
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
		p.Legend.Top, p.Legend.Left = false, true
		p.Legend.YOffs = vg.Points(-150)
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
