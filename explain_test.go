package fdrmfl_test

import (
	"context"
	"math"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// TestExplainLinearIsItsCoefficients: for a linear model the sensitivity
// of each input is exactly the magnitude of its standardised coefficient,
// which the model's head holds.
func TestExplainLinearIsItsCoefficients(t *testing.T) {
	fsys := spectraFS()
	cfg := spectraConfig(map[string]string{"nir": "snv"})
	cfg.Model.Kind = fdrmfl.KindRidge
	cfg.Federation.Rounds, cfg.Train = 0, train.Config{}
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	all, err := fdrmfl.LoadData(res.Config, fsys)
	if err != nil {
		t.Fatal(err)
	}
	imps, err := res.Model().Explain(all)
	if err != nil {
		t.Fatal(err)
	}
	if len(imps) != 1 || imps[0].Modality != "nir" || len(imps[0].Sensitivity) != 40 || imps[0].Samples != 90 {
		t.Fatalf("importances %+v", imps)
	}
	tensors, err := res.Model().NamedTensors()
	if err != nil {
		t.Fatal(err)
	}
	var head []float32
	for _, ts := range tensors {
		if ts.Name == "head.weight" {
			head = ts.Data
		}
	}
	if len(head) != 40 {
		t.Fatalf("head.weight of %d values", len(head))
	}
	for j, s := range imps[0].Sensitivity {
		if want := math.Abs(float64(head[j])); math.Abs(s-want) > 1e-3*want+1e-5 {
			t.Errorf("input %d: sensitivity %.6g, |coefficient| %.6g", j, s, want)
		}
	}
	if imps[0].PLSComponents < 1 || len(imps[0].VIP) != 40 || len(imps[0].PLSCoef) != 40 {
		t.Errorf("PLS comparison: %d components, %d VIPs", imps[0].PLSComponents, len(imps[0].VIP))
	}
}

// TestExplainFindsTheBand trains the network on spectra whose response is
// the height of a band at channels 16–24 and checks that both the model's
// sensitivity and the PLS VIP are larger on the band than far from it.
func TestExplainFindsTheBand(t *testing.T) {
	fsys := spectraFS()
	cfg := spectraConfig(nil)
	cfg.Federation.Rounds, cfg.Train = 10, train.Config{Epochs: 5}
	cfg.Model = model.Config{Latent: 16, Features: 4}
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: fsys})
	if err != nil {
		t.Fatal(err)
	}
	all, err := fdrmfl.LoadData(res.Config, fsys)
	if err != nil {
		t.Fatal(err)
	}
	imps, err := res.Model().Explain(all)
	if err != nil {
		t.Fatal(err)
	}
	mean := func(v []float64, from, to int) float64 {
		var s float64
		for _, x := range v[from:to] {
			s += x
		}
		return s / float64(to-from)
	}
	for name, v := range map[string][]float64{"sensitivity": imps[0].Sensitivity, "VIP": imps[0].VIP} {
		band, far := mean(v, 17, 24), (mean(v, 0, 5)+mean(v, 35, 40))/2
		if !(band > far) {
			t.Errorf("%s: %.4g on the band, %.4g far from it; want the band to stand out (%v)", name, band, far, v)
		}
	}
	// The same data and model give the same importances.
	again, err := res.Model().Explain(all)
	if err != nil {
		t.Fatal(err)
	}
	for j := range again[0].Sensitivity {
		if again[0].Sensitivity[j] != imps[0].Sensitivity[j] {
			t.Fatal("Explain is not deterministic")
		}
	}
}
