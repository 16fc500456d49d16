package report

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"
	"sort"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

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
// deployment R² (its best downstream regressor) with ±1 sd error bars.
func R2Bars(w io.Writer, cells []Cell, exp, task, split string) error {
	best := map[string]Cell{}
	for _, c := range cells {
		if c.Experiment != exp || c.Task != task || c.Split != split {
			continue
		}
		if b, ok := best[c.Method]; !ok || c.R2Mean > b.R2Mean {
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
	vals := make(plotter.Values, len(methods))
	errs := make(plotter.YErrors, len(methods))
	xys := make(plotter.XYs, len(methods))
	for i, m := range methods {
		c := best[m]
		vals[i] = c.R2Mean
		errs[i].Low, errs[i].High = c.R2SD, c.R2SD
		xys[i].X, xys[i].Y = float64(i), c.R2Mean
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %s, %s split: deployment R² (mean ± sd)", exp, task, split)
	p.Y.Label.Text = "R²"
	bars, err := plotter.NewBarChart(vals, vg.Points(14))
	if err != nil {
		return err
	}
	bars.Color = palette[0]
	eb, err := plotter.NewYErrorBars(struct {
		plotter.XYer
		plotter.YErrorer
	}{xys, errs})
	if err != nil {
		return err
	}
	p.Add(bars, eb, plotter.NewGrid())
	labels := make([]string, len(methods))
	for i, m := range methods {
		labels[i] = short(m)
	}
	p.NominalX(labels...)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	return png(w, p, vg.Points(640), vg.Points(420))
}

// short abbreviates a method's name for an axis label.
func short(m string) string {
	r := []rune(m)
	if len(r) > 28 {
		return string(r[:27]) + "…"
	}
	return m
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

// Curves plots, for one experiment task and split, the mean training loss
// per round of each FDRMFL method, averaged over seeds.
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
	if len(sum) == 0 {
		return fmt.Errorf("report: no training curves for %s/%s/%s", exp, task, split)
	}
	p := plot.New()
	p.Title.Text = fmt.Sprintf("%s, %s, %s split: training loss per round (mean over seeds)", exp, task, split)
	p.X.Label.Text, p.Y.Label.Text = "round", "training loss (last local epoch)"
	i := 0
	for _, m := range experiment.Methods {
		rounds, ok := sum[m]
		if !ok || m == experiment.MLocal {
			continue // local training reports one curve per client
		}
		var rs []int
		for r := range rounds {
			rs = append(rs, r)
		}
		sort.Ints(rs)
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
		p.Add(l)
		p.Legend.Add(short(m), l)
		i++
	}
	p.Add(plotter.NewGrid())
	p.Legend.Top = true
	return png(w, p, vg.Points(560), vg.Points(400))
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
