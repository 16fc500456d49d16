package report

import (
	"fmt"
	"image/color"
	"io"
	"maps"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fdrmfl/fdrmfl/experiment"
)

var palette = []color.Color{
	color.RGBA{R: 31, G: 119, B: 180, A: 255}, color.RGBA{R: 255, G: 127, B: 14, A: 255},
	color.RGBA{R: 44, G: 160, B: 44, A: 255}, color.RGBA{R: 214, G: 39, B: 40, A: 255},
	color.RGBA{R: 148, G: 103, B: 189, A: 255}, color.RGBA{R: 140, G: 86, B: 75, A: 255},
	color.RGBA{R: 227, G: 119, B: 194, A: 255}, color.RGBA{R: 127, G: 127, B: 127, A: 255},
}

func png(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	wt, err := p.WriterTo(width, height, "png")
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}

// R2Bars plots, for one experiment, task and split, each method's mean
// deployment R² — the study's primary metric — as the main table judges
// it (FDRMFL by what each client deploys, other methods by their best
// downstream regressor), the regressor named on its bar, and ±1 sd error bars over the repetitions
// (none when there is only one: a single run has no spread to show). The
// bars lie horizontally so that every label is written in full, wrapped
// rather than cut.
func R2Bars(w io.Writer, cells []Cell, exp, task, split string) error {
	best := map[string]Cell{}
	for _, c := range cells {
		if c.Experiment != exp || c.Task != task || c.Split != split {
			continue
		}
		if b, ok := best[c.Method]; judgedBy(c, b, ok) {
			best[c.Method] = c
		}
	}
	var methods []string
	for _, m := range experiment.Methods {
		if _, ok := best[m]; ok {
			methods = append(methods, m)
		}
	}
	for _, c := range cells { // variants, in the order they ran
		if _, ok := best[c.Method]; ok && !slices.Contains(methods, c.Method) {
			methods = append(methods, c.Method)
		}
	}
	if len(methods) == 0 {
		return fmt.Errorf("report: no results for %s/%s/%s", exp, task, split)
	}
	// The first method at the top: the y axis counts upwards.
	slices.Reverse(methods)
	runs := 0
	for _, m := range methods {
		runs = max(runs, best[m].Runs)
	}
	spread := runs > 1
	vals := make(plotter.Values, len(methods))
	errs := make(plotter.XErrors, len(methods))
	xys := make(plotter.XYs, len(methods))
	labels := make([]string, len(methods))
	marks := plotter.XYLabels{XYs: make(plotter.XYs, len(methods)), Labels: make([]string, len(methods))}
	lo, hi := 0.0, 0.0
	for i, m := range methods {
		c := best[m]
		vals[i] = c.R2Mean
		xys[i].X, xys[i].Y = c.R2Mean, float64(i)
		text := fmt.Sprintf(" %.3f", c.R2Mean)
		if spread && c.Runs > 1 {
			errs[i].Low, errs[i].High = c.R2SD, c.R2SD
			text = fmt.Sprintf(" %.3f ± %.3f", c.R2Mean, c.R2SD)
		}
		lo, hi = min(lo, c.R2Mean-errs[i].Low), max(hi, c.R2Mean+errs[i].High)
		marks.XYs[i] = plotter.XY{X: max(c.R2Mean+errs[i].High, 0), Y: float64(i)}
		marks.Labels[i] = text
		labels[i] = wrap(BarLabel(c), 44)
	}
	p := plot.New()
	what := fmt.Sprintf("mean ± sd over %d repetitions", runs)
	if !spread {
		what = "one repetition: no spread shown"
	}
	p.Title.Text = fmt.Sprintf("%s, %s, %s split\ndeployment R² on the test samples (%s)", exp, task, split, what)
	p.X.Label.Text = "deployment R² (each client's test samples predicted by the model it deploys, pooled)"
	bars, err := plotter.NewBarChart(vals, vg.Points(12))
	if err != nil {
		return err
	}
	bars.Horizontal = true
	bars.Color = palette[0]
	bars.LineStyle.Width = 0
	p.Add(plotter.NewGrid(), bars)
	if spread {
		eb, err := plotter.NewXErrorBars(struct {
			plotter.XYer
			plotter.XErrorer
		}{xys, errs})
		if err != nil {
			return err
		}
		p.Add(eb)
	}
	tl, err := plotter.NewLabels(marks)
	if err != nil {
		return err
	}
	for i := range tl.TextStyle {
		tl.TextStyle[i].YAlign = draw.YCenter
	}
	p.Add(tl)
	// Room on the right for the value written past the longest bar.
	p.X.Min, p.X.Max = min(lo, 0), max(hi, 0)+0.22*max(max(hi, 0)-min(lo, 0), 0.2)
	p.NominalY(labels...)
	lines := 0
	for _, l := range labels {
		lines += strings.Count(l, "\n") + 1
	}
	height := vg.Points(100 + 13*float64(lines) + 8*float64(len(labels)))
	return png(w, p, vg.Points(780), height)
}

// BarLabel names a summary cell's method and the regressor its score
// comes from: the method's own prediction, or the downstream regressor
// fitted on its features.
func BarLabel(c Cell) string {
	switch c.Regressor {
	case experiment.RegOwn:
		return c.Method + " (its own prediction)"
	case experiment.RegHead:
		return c.Method + " → its network's head"
	case experiment.RegDeployed:
		return c.Method + " → the head each client deploys (personal where better)"
	case experiment.RegForest:
		return c.Method + " → random forest on its features"
	case experiment.RegRidge:
		return c.Method + " → ridge on its features"
	}
	return c.Method + " → " + c.Regressor
}

// wrap breaks s at spaces into lines of at most width runes where it can
// (a longer word stays whole): labels are wrapped, never cut.
func wrap(s string, width int) string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len([]rune(line))+1+len([]rune(word)) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	return strings.Join(lines, "\n")
}

// PredictedVsObserved scatters the test predictions of the given
// method-and-regressor pairs for one unit against the observed values,
// with the line y = x.
func PredictedVsObserved(w io.Writer, preds []experiment.Prediction, u experiment.Unit, pairs [][2]string) error {
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %s, %s split, seed %d: test predictions", u.Experiment, u.Task, u.Split, u.Seed)
	p.X.Label.Text, p.Y.Label.Text = "observed", "predicted"
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, pr := range pairs {
		var xys plotter.XYs
		for _, q := range preds {
			if q.Unit == u && q.Method == pr[0] && q.Regressor == pr[1] {
				xys = append(xys, plotter.XY{X: q.Y, Y: q.Pred})
				lo, hi = min(lo, q.Y, q.Pred), max(hi, q.Y, q.Pred)
			}
		}
		if len(xys) == 0 {
			continue
		}
		s, err := plotter.NewScatter(xys)
		if err != nil {
			return err
		}
		s.GlyphStyle.Color = palette[i%len(palette)]
		s.GlyphStyle.Radius = vg.Points(2.5)
		p.Add(s)
		p.Legend.Add(Label(pr[0], pr[1]), s)
	}
	if math.IsInf(lo, 0) {
		return fmt.Errorf("report: no predictions for %v", u)
	}
	line, err := plotter.NewLine(plotter.XYs{{X: lo, Y: lo}, {X: hi, Y: hi}})
	if err != nil {
		return err
	}
	line.Color = color.Gray{Y: 120}
	line.Dashes = []vg.Length{vg.Points(3), vg.Points(3)}
	p.Add(line, plotter.NewGrid())
	p.Legend.Top, p.Legend.Left = true, true
	return png(w, p, vg.Points(480), vg.Points(440))
}

// Curves plots, for one experiment, task and split, the mean training
// loss per round of each method that trains in rounds, averaged over
// seeds: one panel per method, each with its own axis, because each
// minimises its own objective (MSE alone, or MSE with the mutual
// information, alignment and contrastive terms at its own weights), whose
// values cannot be compared across methods. Each panel is titled by its
// method, so that no legend covers the lines.
func Curves(w io.Writer, curves []experiment.Curve, exp, task, split string) error {
	sum := map[string]map[int]float64{}
	cnt := map[string]map[int]int{}
	for _, c := range curves {
		if c.Experiment != exp || c.Task != task || c.Split != split || math.IsNaN(c.Loss) {
			continue
		}
		if sum[c.Method] == nil {
			sum[c.Method], cnt[c.Method] = map[int]float64{}, map[int]int{}
		}
		sum[c.Method][c.Round] += c.Loss
		cnt[c.Method][c.Round]++
	}
	var methods []string
	for _, m := range experiment.Methods {
		if _, ok := sum[m]; ok && m != experiment.MLocal { // local training reports one curve per client
			methods = append(methods, m)
		}
	}
	for _, m := range slices.Sorted(maps.Keys(sum)) { // variants
		if m != experiment.MLocal && !slices.Contains(methods, m) {
			methods = append(methods, m)
		}
	}
	if len(methods) == 0 {
		return fmt.Errorf("report: no training curves for %s/%s/%s", exp, task, split)
	}
	const cols = 2
	rows := (len(methods) + cols - 1) / cols
	panels := make([][]*plot.Plot, rows)
	for r := range panels {
		panels[r] = make([]*plot.Plot, cols)
	}
	for i, m := range methods {
		rounds := sum[m]
		rs := slices.Sorted(maps.Keys(rounds))
		xys := make(plotter.XYs, len(rs))
		for j, r := range rs {
			xys[j] = plotter.XY{X: float64(r), Y: rounds[r] / float64(cnt[m][r])}
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return err
		}
		l.Color = palette[i%len(palette)]
		l.Width = vg.Points(1.5)
		p := plot.New()
		p.Title.Text = wrap(m, 48)
		p.X.Label.Text, p.Y.Label.Text = "round", "its training loss"
		p.Add(plotter.NewGrid(), l)
		panels[i/cols][i%cols] = p
	}
	for r := range panels { // an empty last cell stays blank
		for c := range panels[r] {
			if panels[r][c] == nil {
				panels[r][c] = plot.New()
				panels[r][c].HideAxes()
			}
		}
	}
	width, height := vg.Points(780), vg.Points(44+230*float64(rows))
	img := vgimg.New(width, height)
	dc := draw.New(img)
	title := fmt.Sprintf("%s, %s, %s split: training loss per round, mean over seeds (each method's own objective)", exp, task, split)
	face := plot.DefaultFont
	face.Size = vg.Points(12)
	dc.FillText(draw.TextStyle{Color: color.Black, Font: face, Handler: plot.DefaultTextHandler, XAlign: draw.XCenter},
		vg.Point{X: width / 2, Y: height - vg.Points(20)}, title)
	body := draw.Crop(dc, 0, 0, 0, -vg.Points(34))
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Points(16), PadY: vg.Points(16), PadTop: vg.Points(4), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(10)}
	canvases := plot.Align(panels, tiles, body)
	for r := range panels {
		for c := range panels[r] {
			panels[r][c].Draw(canvases[r][c])
		}
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// Units lists the distinct units of some predictions, in order.
func Units(preds []experiment.Prediction) []experiment.Unit {
	var out []experiment.Unit
	for _, p := range preds {
		if !slices.Contains(out, p.Unit) {
			out = append(out, p.Unit)
		}
	}
	return out
}
