package report

import (
	"bytes"
	pngfmt "image/png"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/experiment"
)

func TestWrapNeverCuts(t *testing.T) {
	for _, s := range []string{
		"PCA at 90 % variance per modality → ridge on its features",
		"FDRMFL (ours) → the head each client deploys (personal where better)",
		"short",
		"a-single-word-longer-than-the-width-stays-whole",
	} {
		got := wrap(s, 20)
		if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(s), " ") {
			t.Errorf("wrap(%q) = %q: words lost or changed", s, got)
		}
		for _, line := range strings.Split(got, "\n") {
			if len([]rune(line)) > 20 && strings.Contains(line, " ") {
				t.Errorf("wrap(%q): line %q is longer than 20 and could be broken", s, line)
			}
		}
	}
}

func TestBarLabelNamesTheRegressor(t *testing.T) {
	for _, reg := range []string{experiment.RegOwn, experiment.RegHead, experiment.RegDeployed, experiment.RegForest, experiment.RegRidge} {
		l := BarLabel(Cell{Method: "M", Regressor: reg})
		if !strings.HasPrefix(l, "M ") || len(l) < 10 {
			t.Errorf("%s: label %q", reg, l)
		}
	}
}

// decode checks that a plot is a PNG of a sensible size.
func decode(t *testing.T, b []byte) (w, h int) {
	t.Helper()
	img, err := pngfmt.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	r := img.Bounds()
	if r.Dx() < 400 || r.Dy() < 150 {
		t.Fatalf("a %d×%d image", r.Dx(), r.Dy())
	}
	return r.Dx(), r.Dy()
}

func TestR2BarsGrowWithTheirLabels(t *testing.T) {
	cell := func(m, reg string, runs int, r2 float64) Cell {
		return Cell{Experiment: "e", Task: "t", Split: "iid", Method: m, Regressor: reg, Runs: runs, R2Mean: r2, R2SD: 0.02}
	}
	few := []Cell{cell(experiment.MFDRMFL, experiment.RegDeployed, 5, 0.8), cell(experiment.MPLS, experiment.RegOwn, 5, 0.7)}
	many := append(few, cell(experiment.MPCA90, experiment.RegRidge, 5, -0.1), cell(experiment.MTSVD, experiment.RegForest, 5, 0.3),
		cell(experiment.MModPLS, experiment.RegOwn, 5, 0.75), cell(experiment.MPersPLS, experiment.RegOwn, 5, 0.72))
	var a, b bytes.Buffer
	if err := R2Bars(&a, few, "e", "t", "iid"); err != nil {
		t.Fatal(err)
	}
	if err := R2Bars(&b, many, "e", "t", "iid"); err != nil {
		t.Fatal(err)
	}
	_, h1 := decode(t, a.Bytes())
	_, h2 := decode(t, b.Bytes())
	if h2 <= h1 {
		t.Errorf("six bars drawn %d high, two %d: the chart must grow so that no label is squeezed", h2, h1)
	}
	one := []Cell{cell(experiment.MFDRMFL, experiment.RegHead, 1, 0.8)}
	var c bytes.Buffer
	if err := R2Bars(&c, one, "e", "t", "iid"); err != nil {
		t.Fatal(err)
	}
	decode(t, c.Bytes())
	if err := R2Bars(&c, one, "e", "t", "response"); err == nil {
		t.Error("a split without results drew a chart")
	}
}

func TestCurvesOnePanelPerMethod(t *testing.T) {
	var curves []experiment.Curve
	u := experiment.Unit{Experiment: "e", Task: "t", Split: "iid", Seed: 1}
	for r := 1; r <= 5; r++ {
		for i, m := range []string{experiment.MFDRMFL, experiment.MPaper, experiment.MMSE} {
			curves = append(curves, experiment.Curve{Unit: u, Method: m, Round: r, Loss: float64(10*i+1) / float64(r)})
		}
	}
	var firstTwo []experiment.Curve
	for _, c := range curves {
		if c.Method != experiment.MMSE {
			firstTwo = append(firstTwo, c)
		}
	}
	var two, three bytes.Buffer
	if err := Curves(&two, firstTwo, "e", "t", "iid"); err != nil {
		t.Fatal(err)
	}
	if err := Curves(&three, curves, "e", "t", "iid"); err != nil {
		t.Fatal(err)
	}
	_, h2 := decode(t, two.Bytes())
	_, h3 := decode(t, three.Bytes())
	if h3 <= h2 {
		t.Errorf("three methods drawn %d high, two %d: want a second row of panels", h3, h2)
	}
	if err := Curves(&two, curves, "e", "t", "response"); err == nil {
		t.Error("a split without curves drew a chart")
	}
}

func TestImportanceOnePanelPerModality(t *testing.T) {
	imp := func(name string, vip bool) fdrmfl.Importance {
		i := fdrmfl.Importance{Modality: name, Shape: []int{1, 50}, Responses: []string{"a", "b"}, Samples: 10, Sensitivity: make([]float64, 100)}
		for j := range i.Sensitivity {
			i.Sensitivity[j] = float64(j % 7)
		}
		if vip {
			i.VIP, i.PLSComponents = make([]float64, 50), 3
			for j := range i.VIP {
				i.VIP[j] = float64(j) / 25
			}
		}
		return i
	}
	var one, two bytes.Buffer
	if err := Importance(&one, []fdrmfl.Importance{imp("m5", true)}, 1, nil); err != nil {
		t.Fatal(err)
	}
	axis := map[string][]float64{"m5": make([]float64, 50)}
	for j := range axis["m5"] {
		axis["m5"][j] = 1100 + 2*float64(j)
	}
	if err := Importance(&two, []fdrmfl.Importance{imp("m5", true), imp("mp5", false)}, 0, axis); err != nil {
		t.Fatal(err)
	}
	_, h1 := decode(t, one.Bytes())
	_, h2 := decode(t, two.Bytes())
	if h2 <= h1 {
		t.Errorf("two modalities drawn %d high, one %d: want a panel each", h2, h1)
	}
	if err := Importance(&one, []fdrmfl.Importance{imp("m5", true)}, 2, nil); err == nil {
		t.Error("a response the model does not have was plotted")
	}
}
