package report

import (
	"fmt"
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/fdrmfl/fdrmfl"
)

// Importance plots, for response r, each modality's importance by input
// (fdrmfl.Model.Explain) in its own panel: the model's sensitivity and,
// where there is one, the PLS regression's VIP on the same inputs, each
// scaled to its own maximum so that their shapes compare. axis gives a
// modality's x values (its wavelengths, say), by name; a modality without
// one is drawn against its input number.
func Importance(w io.Writer, imps []fdrmfl.Importance, r int, axis map[string][]float64) error {
	if len(imps) == 0 {
		return fmt.Errorf("report: no importances to plot")
	}
	panels := make([][]*plot.Plot, len(imps))
	for k, imp := range imps {
		q := len(imp.Responses)
		if r < 0 || r >= q {
			return fmt.Errorf("report: response %d of %d", r, q)
		}
		n := len(imp.Sensitivity) / q
		xs := axis[imp.Modality]
		xlabel := imp.Modality + ": the column header's value (a wavelength)"
		if len(xs) != n {
			xs = make([]float64, n)
			for j := range xs {
				xs[j] = float64(j + 1)
			}
			xlabel = imp.Modality + ": input number"
		}
		p := plot.New()
		p.Title.Text = fmt.Sprintf("%s — %s (%d samples)", imp.Modality, imp.Responses[r], imp.Samples)
		p.X.Label.Text, p.Y.Label.Text = xlabel, "importance / its maximum"
		sens := make([]float64, n)
		for j := range n {
			sens[j] = imp.Sensitivity[j*q+r]
		}
		if err := addScaled(p, xs, sens, "model: mean |∂ŷ/∂x| (standardised)", 0, nil); err != nil {
			return err
		}
		if len(imp.VIP) == n {
			name := fmt.Sprintf("PLS VIP (%d components, fitted on the same inputs)", imp.PLSComponents)
			if err := addScaled(p, xs, imp.VIP, name, 1, []vg.Length{vg.Points(4), vg.Points(2)}); err != nil {
				return err
			}
		}
		p.Y.Min, p.Y.Max = 0, 1.45 // headroom: the legend sits above the curves' maximum of 1
		p.Legend.Top, p.Legend.Left = true, true
		p.Add(plotter.NewGrid())
		panels[k] = []*plot.Plot{p}
	}
	width, height := vg.Points(780), vg.Points(230*float64(len(imps)))
	img := vgimg.New(width, height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: len(imps), Cols: 1, PadY: vg.Points(14), PadTop: vg.Points(6), PadBottom: vg.Points(6), PadLeft: vg.Points(6), PadRight: vg.Points(12)}
	canvases := plot.Align(panels, tiles, dc)
	for k := range panels {
		panels[k][0].Draw(canvases[k][0])
	}
	_, err := vgimg.PngCanvas{Canvas: img}.WriteTo(w)
	return err
}

// addScaled draws v against xs, divided by its maximum.
func addScaled(p *plot.Plot, xs, v []float64, name string, colour int, dashes []vg.Length) error {
	top := 0.0
	for _, x := range v {
		top = max(top, x)
	}
	if top == 0 {
		top = 1
	}
	xys := make(plotter.XYs, len(v))
	for j, x := range v {
		xys[j] = plotter.XY{X: xs[j], Y: x / top}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return err
	}
	l.Color = palette[colour]
	l.Width = vg.Points(1.3)
	l.Dashes = dashes
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}
