package fdrmfl_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/train"
)

// spectraFS is a CSV dataset of 90 spectra of 40 channels on random
// offsets and slopes (scatter), whose response is a band's height.
func spectraFS() fstest.MapFS {
	r := rand.New(rand.NewPCG(3, 4))
	var x, y strings.Builder
	for j := range 40 {
		if j > 0 {
			x.WriteString(",")
		}
		fmt.Fprintf(&x, "c%d", j)
	}
	x.WriteString("\n")
	y.WriteString("y\n")
	for range 90 {
		h := r.Float64()
		off, slope, mult := r.Float64(), r.Float64()*0.02, 0.5+r.Float64()
		for j := range 40 {
			if j > 0 {
				x.WriteString(",")
			}
			band := h * math.Exp(-math.Pow(float64(j-20)/4, 2))
			fmt.Fprintf(&x, "%.6f", mult*(band+0.3)+off+slope*float64(j)+0.002*r.NormFloat64())
		}
		x.WriteString("\n")
		fmt.Fprintf(&y, "%.6f\n", h)
	}
	return fstest.MapFS{"x.csv": {Data: []byte(x.String())}, "y.csv": {Data: []byte(y.String())}}
}

func spectraConfig(pre map[string]string) fdrmfl.Config {
	return fdrmfl.Config{
		Seed: 5,
		Data: fdrmfl.Data{Source: "csv", ResponseFile: "y.csv", Preprocess: pre,
			Modalities: []data.ModalitySpec{{Name: "nir", File: "x.csv", Kind: data.Signal}}},
		Federation: fdrmfl.Federation{Clients: 3, Rounds: 2},
		Train:      train.Config{Epochs: 2},
	}
}

// TestPreprocessingTravelsWithTheModel trains with a fixed chain (msc
// fitted from the clients' summed spectra) and with "auto", the network and
// a linear PLS model, and checks that the saved model applies the same
// chain: extract on raw samples gives the run's features.
func TestPreprocessingTravelsWithTheModel(t *testing.T) {
	fsys := spectraFS()
	for _, c := range []struct {
		kind string
		pre  map[string]string
	}{
		{"", map[string]string{"nir": "sg1(7,2)+msc"}},
		{"", map[string]string{"*": "auto"}},
		{fdrmfl.KindPLS, map[string]string{"nir": "sg1(7,2)+msc"}},
	} {
		pre := c.pre
		cfg := spectraConfig(pre)
		if c.kind != "" {
			cfg.Model.Kind = c.kind
			cfg.Federation.Rounds, cfg.Train = 0, train.Config{}
		}
		res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: fsys})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Preprocess) != 1 || res.Preprocess[0].Modality != "nir" {
			t.Fatalf("%v: preprocessing %+v", pre, res.Preprocess)
		}
		p := res.Preprocess[0]
		if pre["*"] == "auto" {
			if !p.Auto || len(p.Scores) < 8 {
				t.Errorf("auto: %+v", p)
			}
			// On scattered spectra a scatter correction or a derivative
			// must beat the raw spectra.
			if p.Spec == "none" {
				t.Errorf("auto kept the raw spectra; scores %v", p.Scores)
			}
			for s, v := range p.Scores {
				if v < p.Scores[p.Spec] {
					t.Errorf("auto chose %s (%g) over %s (%g)", p.Spec, p.Scores[p.Spec], s, v)
				}
			}
		} else if p.Spec != "sg1(7,2)+msc" || len(p.Chain[1].Ref) != 40 {
			t.Errorf("fixed chain: %+v", p)
		}
		if len(res.Manifest.Preprocess) != 1 {
			t.Fatal("the manifest does not carry the preprocessing")
		}
		all, err := fdrmfl.LoadData(res.Config, fsys)
		if err != nil {
			t.Fatal(err)
		}
		test := res.Clients[2].Splits[2]
		x, err := fdrmfl.Extract(res.Manifest, res.Weights, all.Subset(test.Index))
		if err != nil {
			t.Fatal(err)
		}
		for i := range test.Z {
			if math.Abs(float64(x.Z[i]-test.Z[i])) > 1e-4 {
				t.Fatalf("%v: feature %d: extract gives %v, the run gave %v", pre, i, x.Z[i], test.Z[i])
			}
		}
	}
}

func TestPreprocessingErrorsNameTheKey(t *testing.T) {
	fsys := spectraFS()
	for _, tc := range []struct {
		pre  map[string]string
		want string
	}{
		{map[string]string{"nir": "sg1(8,2)"}, "data.preprocess.nir"},
		{map[string]string{"vis": "snv"}, `no modality "vis"`},
		{map[string]string{"nir": "sg1(41,2)"}, "longer than the 40 channels"},
	} {
		_, err := fdrmfl.Simulate(context.Background(), spectraConfig(tc.pre), fdrmfl.Options{FS: fsys})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want one containing %q", tc.pre, err, tc.want)
		}
	}
}
