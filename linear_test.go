package fdrmfl_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/modelio"
)

// linear is a quick linear federation on the simulation's vector
// modality (p = 32; tests of the large-p algebra add text).
func linear(kind string) fdrmfl.Config {
	cfg := fdrmfl.Config{
		Seed:       5,
		Data:       fdrmfl.Data{Function: 1, Samples: 300},
		Federation: fdrmfl.Federation{Clients: 3, Partition: "response", Mix: 0.2},
		Model:      model.Config{Kind: kind, Modalities: []model.Modality{{Name: "vector"}}},
		Linear:     fdrmfl.Linear{Folds: 4},
	}
	if kind == fdrmfl.KindPLS {
		cfg.Linear.MaxComponents = 6
	}
	return cfg
}

func TestLinearConfigErrors(t *testing.T) {
	cases := []struct {
		name string
		edit func(*fdrmfl.Config)
		want string
	}{
		{"unknown kind", func(c *fdrmfl.Config) { c.Model.Kind = "svm" }, `model.kind: "svm" is not one of fdrmfl, pls, ridge, lasso, enet`},
		{"enet one fold", func(c *fdrmfl.Config) {
			c.Model.Kind, c.Linear = fdrmfl.KindENet, fdrmfl.Linear{Folds: 1, Alphas: []float64{0.1}}
		}, "linear.folds: 1 leaves nothing to choose the settings by; fix them (one value in linear.alphas and in linear.l1_ratios)"},
		{"l1 ratios with lasso", func(c *fdrmfl.Config) {
			c.Model.Kind, c.Linear = fdrmfl.KindLasso, fdrmfl.Linear{L1Ratios: []float64{0.5}}
		},
			"linear.l1_ratios: apply to model.kind enet, not lasso"},
		{"differential privacy", func(c *fdrmfl.Config) { c.Privacy.DP.Level = "client" }, "privacy.dp: differential privacy applies to the fdrmfl network's training; model.kind pls is fitted from summed statistics"},
		{"network keys", func(c *fdrmfl.Config) { c.Model.Latent, c.Model.Features = 8, 4 },
			"model.latent, model.features: apply to the fdrmfl network, not to model.kind pls; remove them (the number of PLS components is linear.components)"},
		{"encoder", func(c *fdrmfl.Config) { c.Model.Modalities[0].Encoder.Type = model.EncMLP }, "model.modalities[0].encoder: a linear model"},
		{"folds", func(c *fdrmfl.Config) { c.Linear.Folds = -1 }, "linear.folds: -1 must be at least 1"},
		{"one fold", func(c *fdrmfl.Config) { c.Linear.Folds = 1 }, "linear.folds: 1 leaves nothing to choose the settings by; fix them (linear.components)"},
		{"components", func(c *fdrmfl.Config) { c.Linear.Components = -2 }, "linear.components: -2 must not be negative"},
		{"alphas with pls", func(c *fdrmfl.Config) { c.Linear.Alphas = []float64{1} }, "linear.alphas: apply to model.kind ridge, lasso and enet, not pls"},
		{"components with ridge", func(c *fdrmfl.Config) { c.Model.Kind, c.Linear.MaxComponents = fdrmfl.KindRidge, 3 },
			"linear.components, linear.max_components: apply to model.kind pls, not ridge"},
		{"alpha", func(c *fdrmfl.Config) {
			c.Model.Kind, c.Linear.MaxComponents, c.Linear.Alphas = fdrmfl.KindRidge, 0, []float64{1, 0}
		},
			"linear.alphas: 0 is not a positive number"},
		{"l1 ratios", func(c *fdrmfl.Config) {
			c.Model.Kind, c.Linear.MaxComponents, c.Linear.L1Ratios = fdrmfl.KindRidge, 0, []float64{0.5}
		},
			"linear.l1_ratios: apply to model.kind enet, not ridge"},
		{"linear for the network", func(c *fdrmfl.Config) { c.Model = model.Config{} }, "linear: applies to the linear model kinds"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := linear(fdrmfl.KindPLS)
			c.edit(&cfg)
			err := cfg.Defaults().Validate()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("%v, want an error with %q", err, c.want)
			}
		})
	}
	cfg := linear(fdrmfl.KindRidge)
	cfg.Linear.MaxComponents = 0
	if err := cfg.Defaults().Validate(); err != nil {
		t.Fatal(err)
	}
	if d := cfg.Defaults(); d.Data.ValFraction >= 0 || d.Federation.Rounds != 0 || d.Train.Epochs != 0 {
		t.Fatalf("linear defaults: val_fraction %v, rounds %d, epochs %d: want no validation set and no network settings", d.Data.ValFraction, d.Federation.Rounds, d.Train.Epochs)
	}
}

// pooledRows returns every client's standardised training rows of the
// prepared study, side by side as the linear model reads them, with each
// row's cross-validation fold as LinearStats assigns it.
func pooledRows(t *testing.T, cfg fdrmfl.Config) (x, y *mat.Dense, folds []int) {
	t.Helper()
	cfg = cfg.Defaults()
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fdrmfl.Prepare(cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	var xs, ys []float64
	cols := 0
	for k, c := range p.Clients() {
		n := c.Train.Len()
		cf := make([]int, n)
		if kf := min(cfg.Linear.Folds, n/2); kf >= 2 {
			cf = baseline.KFold(n, kf, seed.For(cfg.Seed, seed.Folds, uint64(k)))
		}
		folds = append(folds, cf...)
		for i := range n {
			cols = 0
			for _, mm := range cfg.Model.Modalities {
				for _, v := range c.Train.Modality(mm.Name).Sample(i) {
					xs = append(xs, float64(v))
					cols++
				}
			}
			ys = append(ys, float64(c.Train.Y[i]))
		}
	}
	return mat.NewDense(len(ys), cols, xs), mat.NewDense(len(ys), 1, ys), folds
}

// cvRows returns the k-fold CV MSE of a model fitted by fit on the rows
// outside each fold.
func cvRows(t *testing.T, x, y *mat.Dense, folds []int, fit func(x, y *mat.Dense) (*mat.Dense, error)) float64 {
	t.Helper()
	k := 0
	for _, f := range folds {
		k = max(k, f+1)
	}
	var sse float64
	for f := range k {
		var tr, te []int
		for i, g := range folds {
			if g == f {
				te = append(te, i)
			} else {
				tr = append(tr, i)
			}
		}
		pick := func(m *mat.Dense, idx []int) *mat.Dense {
			_, c := m.Dims()
			out := mat.NewDense(len(idx), c, nil)
			for i, r := range idx {
				out.SetRow(i, m.RawRowView(r))
			}
			return out
		}
		coef, err := fit(pick(x, tr), pick(y, tr))
		if err != nil {
			t.Fatal(err)
		}
		xte := pick(x, te)
		for i, r := range te {
			pred := coef.At(0, 0)
			for j, v := range xte.RawRowView(i) {
				pred += coef.At(j+1, 0) * v
			}
			e := y.At(r, 0) - pred
			sse += e * e
		}
	}
	n, _ := y.Dims()
	return sse / float64(n)
}

// TestLinearFitIsThePooledFit checks that the federated fit, from the
// clients' fold statistics alone, is the fit on their pooled rows: the
// cross-validation error of every candidate equals k-fold CV on the rows
// with the same folds, and the model predicts as the pooled fit.
//
// With p ≥ 512 inputs (vector and text) package baseline forms
// cross-products and scores ridge's candidates in float32 arithmetic
// (docs/decisions/0004-large-linear-algebra.md): the errors then agree to
// 1e-4 rather than to rounding.
func TestLinearFitIsThePooledFit(t *testing.T) {
	for _, c := range []struct {
		kind  string
		mods  []string
		exact float64
	}{
		{fdrmfl.KindPLS, []string{"vector"}, 1e-9}, {fdrmfl.KindRidge, []string{"vector"}, 1e-9},
		{fdrmfl.KindPLS, []string{"vector", "text"}, 1e-6}, {fdrmfl.KindRidge, []string{"vector", "text"}, 1e-4},
	} {
		kind := c.kind
		t.Run(fmt.Sprint(kind, c.mods), func(t *testing.T) {
			cfg := linear(kind)
			cfg.Model.Modalities = nil
			for _, m := range c.mods {
				cfg.Model.Modalities = append(cfg.Model.Modalities, model.Modality{Name: m})
			}
			if len(c.mods) > 1 { // fewer candidates at p = 532: the fits are slow under -race
				if kind == fdrmfl.KindPLS {
					cfg.Linear.MaxComponents = 3
				} else {
					cfg.Linear.Alphas = []float64{0.5, 50, 5000}
				}
			}
			res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			f := res.Manifest.Linear
			x, y, folds := pooledRows(t, cfg)
			n, p := x.Dims()
			if f.Rows != n || f.Inputs != p || f.Folds != 4 || f.Clients != 3 {
				t.Fatalf("fit %+v: want %d rows of %d inputs in 4 folds from 3 clients", f, n, p)
			}
			// fit returns [b0; B] of a model fitted on rows.
			fitWith := func(c fdrmfl.CVScore) func(x, y *mat.Dense) (*mat.Dense, error) {
				return func(x, y *mat.Dense) (*mat.Dense, error) {
					var coef *mat.Dense
					var b0 []float64
					if kind == fdrmfl.KindPLS {
						m := &baseline.PLS{Components: c.Components}
						if err := m.FitMulti(x, y); err != nil {
							return nil, err
						}
						coef, b0 = m.Coef, m.Intercept
					} else {
						m := &baseline.Ridge{Alpha: c.Alpha}
						if err := m.FitMulti(x, y); err != nil {
							return nil, err
						}
						coef, b0 = m.Coef, m.Intercept
					}
					r, _ := coef.Dims()
					out := mat.NewDense(r+1, 1, nil)
					out.Set(0, 0, b0[0])
					for j := range r {
						out.Set(j+1, 0, coef.At(j, 0))
					}
					return out, nil
				}
			}
			if len(f.CV) < 3 {
				t.Fatalf("%d candidates scored", len(f.CV))
			}
			cands := f.CV
			if len(c.mods) > 1 { // at p = 532 the fits on rows are slow under -race: the ends and the middle
				cands = []fdrmfl.CVScore{f.CV[0], f.CV[len(f.CV)/2], f.CV[len(f.CV)-1]}
			}
			for _, cand := range cands {
				want := cvRows(t, x, y, folds, fitWith(cand))
				if math.Abs(cand.MSE-want) > c.exact*want {
					t.Errorf("candidate %+v: CV MSE %.12g from statistics, %.12g from rows", cand, cand.MSE, want)
				}
			}
			coef, err := fitWith(fdrmfl.CVScore{Components: f.Components, Alpha: f.Alpha})(x, y)
			if err != nil {
				t.Fatal(err)
			}
			// The model's predictions of the pooled rows, in standardised units.
			mod := res.Model()
			worst := 0.0
			for i := range n {
				want := coef.At(0, 0)
				for j, v := range x.RawRowView(i) {
					want += coef.At(j+1, 0) * v
				}
				got := pooledPrediction(t, mod, x.RawRowView(i))
				worst = max(worst, math.Abs(got-want))
			}
			if worst > 1e-4 {
				t.Fatalf("the model's predictions differ from the pooled fit's by up to %.3g (standardised units)", worst)
			}
		})
	}
}

// pooledPrediction applies a linear model's weights to one standardised
// row, in float64.
func pooledPrediction(t *testing.T, m *fdrmfl.Model, x []float64) float64 {
	t.Helper()
	ts, err := m.NamedTensors()
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]modelio.Tensor{}
	for _, tt := range ts {
		byName[tt.Name] = tt
	}
	in := x
	if fw, ok := byName["features.weight"]; ok {
		a := fw.Shape[0]
		z := make([]float64, a)
		for k := range a {
			z[k] = float64(byName["features.bias"].Data[k])
			for j, v := range x {
				z[k] += float64(fw.Data[k*len(x)+j]) * v
			}
		}
		in = z
	}
	out := float64(byName["head.bias"].Data[0])
	for j, v := range in {
		out += float64(byName["head.weight"].Data[j]) * v
	}
	return out
}

// TestLinearModelFolder saves a PLS model and a ridge model, loads them
// and applies them to the raw data: the features and predictions are
// the simulation's, bit for bit, and a ridge model has no features.
func TestLinearModelFolder(t *testing.T) {
	for _, kind := range []string{fdrmfl.KindPLS, fdrmfl.KindRidge} {
		t.Run(kind, func(t *testing.T) {
			cfg := linear(kind).Defaults()
			res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			if err := res.Model().Save(dir); err != nil {
				t.Fatal(err)
			}
			m, err := fdrmfl.LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if !sameFloats(m.Weights, res.Weights) {
				t.Fatal("the loaded weights differ from the saved ones")
			}
			a, _ := json.Marshal(m.Manifest)
			b, _ := json.Marshal(res.Manifest)
			if string(a) != string(b) {
				t.Fatalf("loaded manifest\n%s\nsaved\n%s", a, b)
			}
			ds := linearData(t, cfg)
			x, err := m.Extract(ds)
			if err != nil {
				t.Fatal(err)
			}
			d := m.Manifest.Model.Features
			if (kind == fdrmfl.KindPLS) != (d > 0) || (d == 0) != (x.Z == nil) {
				t.Fatalf("%s: %d features, Z of %d values", kind, d, len(x.Z))
			}
			for _, c := range res.Clients {
				for _, sp := range c.Splits {
					for i, row := range sp.Index {
						if !sameFloats(x.Z[row*d:(row+1)*d], sp.Z[i*d:(i+1)*d]) || x.Pred[row] != sp.Pred[i] {
							t.Fatalf("%s %s row %d: the loaded model's output differs from the simulation's", c.Name, sp.Name, row)
						}
					}
				}
			}
			if x.Stats == nil || x.Stats.N != ds.Len() {
				t.Fatal("no prediction statistics for data with responses")
			}
		})
	}
}

func sameFloats(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}

// TestLinearModelFolderErrors: a linear model folder whose tensors or
// manifest do not fit is refused with the reason, naming the file.
func TestLinearModelFolderErrors(t *testing.T) {
	res, err := fdrmfl.Simulate(context.Background(), linear(fdrmfl.KindPLS), fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := res.Model()
	ts, err := good.NamedTensors()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		tensors  func([]modelio.Tensor) []modelio.Tensor
		manifest func(m map[string]any)
		want     string
	}{
		{"missing tensor", func(ts []modelio.Tensor) []modelio.Tensor { return ts[1:] }, nil, `no tensor "features.weight" (a pls model has features.weight, features.bias, head.weight, head.bias)`},
		{"extra tensor", func(ts []modelio.Tensor) []modelio.Tensor {
			return append(ts, modelio.Tensor{Name: "extra", Shape: []int{1}, Data: []float32{1}})
		}, nil, `tensor "extra" is not part of a pls model`},
		{"shape", func(ts []modelio.Tensor) []modelio.Tensor {
			ts[3] = modelio.Tensor{Name: "head.bias", Shape: []int{2}, Data: []float32{1, 2}}
			return ts
		}, nil, `tensor "head.bias" has shape [2], the manifest's model needs [1]`},
		{"nan", func(ts []modelio.Tensor) []modelio.Tensor {
			ts[3] = modelio.Tensor{Name: "head.bias", Shape: []int{1}, Data: []float32{float32(math.NaN())}}
			return ts
		}, nil, `tensor "head.bias": value 0 is NaN`},
		{"no fit", nil, func(m map[string]any) { delete(m, "linear") }, `a pls model without its fit ("linear")`},
		{"unknown kind", nil, func(m map[string]any) { m["model"].(map[string]any)["kind"] = "svm" }, `model.kind "svm" is not one of`},
		{"components", nil, func(m map[string]any) { m["model"].(map[string]any)["features"] = 99 }, "with model.features 99"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := good.Save(dir); err != nil {
				t.Fatal(err)
			}
			if c.tensors != nil {
				f, err := os.Create(filepath.Join(dir, "model.safetensors"))
				if err != nil {
					t.Fatal(err)
				}
				if err := modelio.WriteSafetensors(f, c.tensors(append([]modelio.Tensor(nil), ts...)), nil); err != nil {
					t.Fatal(err)
				}
				f.Close()
			}
			if c.manifest != nil {
				path := filepath.Join(dir, "manifest.json")
				b, _ := os.ReadFile(path)
				var m map[string]any
				json.Unmarshal(b, &m)
				c.manifest(m)
				b, _ = json.Marshal(m)
				os.WriteFile(path, b, 0o644)
			}
			_, err := fdrmfl.LoadModel(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), dir) {
				t.Fatalf("%v, want an error naming the file with %q", err, c.want)
			}
		})
	}
}

// TestLinearAbsentModality: a linear model given data without one of its
// modalities treats it as absent — the pooled training mean — and
// counts it, as the network does.
func TestLinearAbsentModality(t *testing.T) {
	cfg := linear(fdrmfl.KindRidge)
	cfg.Model.Modalities = []model.Modality{{Name: "vector"}, {Name: "text"}}
	cfg.Linear.Folds = 1 // α by GCV
	cfg = cfg.Defaults()
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ds := linearData(t, cfg)
	m := res.Model()
	// Without "text", and with "text" at its pooled training mean.
	var mods []data.Modality
	for _, dm := range ds.Modalities {
		if dm.Name != "text" {
			mods = append(mods, dm)
		}
	}
	without, err := data.New(ds.Len(), mods, ds.ResponseNames, ds.Y)
	if err != nil {
		t.Fatal(err)
	}
	at, err := data.New(ds.Len(), append([]data.Modality(nil), ds.Modalities...), ds.ResponseNames, ds.Y)
	if err != nil {
		t.Fatal(err)
	}
	text := at.Modality("text")
	text.Data = append([]float32(nil), text.Data...)
	var sc data.Scaling
	for _, s := range m.Manifest.Standardizer.Modalities {
		if s.Name == "text" {
			sc = s
		}
	}
	for i := range text.Data {
		text.Data[i] = float32(sc.Mean[i%len(sc.Mean)])
	}
	a, err := m.Extract(without)
	if err != nil {
		t.Fatal(err)
	}
	b, err := m.Extract(at)
	if err != nil {
		t.Fatal(err)
	}
	if a.Absent["text"] != ds.Len() {
		t.Fatalf("absent %v, want text for all %d samples", a.Absent, ds.Len())
	}
	for i := range a.Pred {
		if math.Abs(float64(a.Pred[i]-b.Pred[i])) > 1e-4*math.Abs(float64(b.Pred[i]))+1e-5 {
			t.Fatalf("sample %d: %v without the modality, %v at its mean", i, a.Pred[i], b.Pred[i])
		}
	}
}

// TestLinearModes fits locally (each client alone) and centrally (every
// client's rows as one): both give every client's test error, and only
// the central fit one model.
func TestLinearModes(t *testing.T) {
	cfg := linear(fdrmfl.KindPLS).Defaults()
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fdrmfl.Prepare(cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, mode := range []fdrmfl.Mode{fdrmfl.Local, fdrmfl.Central} {
		res, err := p.Train(context.Background(), cfg, mode, fdrmfl.Options{})
		if err != nil {
			t.Fatalf("%v: %v", mode, err)
		}
		if len(res.Clients) != 3 || res.Test == nil || res.Test.N == 0 {
			t.Fatalf("%v: %d clients, test %+v", mode, len(res.Clients), res.Test)
		}
		if (res.Weights != nil) != (mode == fdrmfl.Central) {
			t.Fatalf("%v: weights %v", mode, res.Weights != nil)
		}
		if mode == fdrmfl.Central && res.Manifest.Linear.Clients != 1 {
			t.Fatalf("central fit of %d clients", res.Manifest.Linear.Clients)
		}
	}
}

// TestLinearSecureEqualsPlain fits each linear kind under secure
// aggregation, where every fold's statistics are merged by secure sums
// (the server holds no client's), and in the clear: the same settings
// are chosen and the weights agree to float64 precision (secagg's
// quantisation is 2⁻⁶⁰ of each block's largest value).
func TestLinearSecureEqualsPlain(t *testing.T) {
	for _, kind := range fdrmfl.Kinds[1:] {
		t.Run(kind, func(t *testing.T) {
			cfg := linear(kind)
			if kind == fdrmfl.KindENet {
				cfg.Linear.L1Ratios = []float64{0.5, 1}
			}
			fit := func(secure bool) *fdrmfl.Result {
				c := cfg
				c.Privacy.Secure.Enabled = secure
				res, err := fdrmfl.Simulate(context.Background(), c, fdrmfl.Options{})
				if err != nil {
					t.Fatalf("secure %v: %v", secure, err)
				}
				return res
			}
			plain, sec := fit(false), fit(true)
			if a, b := plain.Manifest.Linear.Chosen(), sec.Manifest.Linear.Chosen(); a != b {
				t.Fatalf("chose %s in the clear, %s under secure aggregation", a, b)
			}
			if sec.Manifest.Linear.Clients != 3 || sec.Manifest.Linear.Rows != plain.Manifest.Linear.Rows {
				t.Fatalf("secure fit of %d clients and %d rows, the plain one %d and %d", sec.Manifest.Linear.Clients, sec.Manifest.Linear.Rows, plain.Manifest.Linear.Clients, plain.Manifest.Linear.Rows)
			}
			var worst, scale float64
			for i, w := range plain.Weights {
				worst = max(worst, math.Abs(float64(w-sec.Weights[i])))
				scale = max(scale, math.Abs(float64(w)))
			}
			// The weights are float32: equal to their last bit or one off.
			if worst > 1e-6*scale {
				t.Fatalf("weights differ by %g (largest %g)", worst, scale)
			}
			t.Logf("%s: %s; weights within %g of %g", kind, sec.Manifest.Linear.Chosen(), worst, scale)
		})
	}
}

// linearData returns the data of cfg with only the model's modalities.
func linearData(t *testing.T, cfg fdrmfl.Config) *data.Dataset {
	t.Helper()
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	var mods []data.Modality
	for _, mm := range cfg.Model.Modalities {
		mods = append(mods, *ds.Modality(mm.Name))
	}
	out, err := data.New(ds.Len(), mods, ds.ResponseNames, ds.Y)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestLinearOneFold: with the settings fixed, one fold per client — the
// statistics of its whole training set — fits without cross-validation,
// the same model as the pooled rows give.
func TestLinearOneFold(t *testing.T) {
	for _, kind := range []string{fdrmfl.KindPLS, fdrmfl.KindRidge} {
		cfg := linear(kind)
		cfg.Model.Modalities = []model.Modality{{Name: "vector"}}
		cfg.Linear = fdrmfl.Linear{Folds: 1, Components: 3}
		if kind == fdrmfl.KindRidge {
			cfg.Linear = fdrmfl.Linear{Folds: 1, Alphas: []float64{5}}
		}
		res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		f := res.Manifest.Linear
		if f.Folds != 0 || f.CV != nil || f.Components+int(f.Alpha) != map[string]int{fdrmfl.KindPLS: 3, fdrmfl.KindRidge: 5}[kind] {
			t.Fatalf("%s: fit %+v, want the fixed settings without cross-validation", kind, f)
		}
		x, y, _ := pooledRows(t, cfg)
		var coef *mat.Dense
		var b0 []float64
		if kind == fdrmfl.KindPLS {
			m := &baseline.PLS{Components: 3}
			if err := m.FitMulti(x, y); err != nil {
				t.Fatal(err)
			}
			coef, b0 = m.Coef, m.Intercept
		} else {
			m := &baseline.Ridge{Alpha: 5}
			if err := m.FitMulti(x, y); err != nil {
				t.Fatal(err)
			}
			coef, b0 = m.Coef, m.Intercept
		}
		n, _ := x.Dims()
		for i := range n {
			want := b0[0]
			for j, v := range x.RawRowView(i) {
				want += coef.At(j, 0) * v
			}
			if got := pooledPrediction(t, res.Model(), x.RawRowView(i)); math.Abs(got-want) > 1e-5 {
				t.Fatalf("%s row %d: %v, the pooled fit %v", kind, i, got, want)
			}
		}
	}
}

// TestLinearLassoENetAndGCV fits the lasso and the elastic net (α, and
// the L1 ratio, by k-fold cross-validation over the path) and ridge with
// one fold per client (α by generalised cross-validation from the
// totals): each is the fit on the pooled rows at the settings chosen,
// and GCV scores are the pooled statistics' scores.
func TestLinearLassoENetAndGCV(t *testing.T) {
	for _, kind := range []string{fdrmfl.KindLasso, fdrmfl.KindENet, fdrmfl.KindRidge} {
		t.Run(kind, func(t *testing.T) {
			cfg := linear(kind)
			cfg.Model.Modalities = []model.Modality{{Name: "vector"}}
			cfg.Linear = fdrmfl.Linear{Folds: 4}
			if kind == fdrmfl.KindRidge {
				cfg.Linear.Folds = 1
			}
			res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			f := res.Manifest.Linear
			x, y, _ := pooledRows(t, cfg)
			n, _ := x.Dims()
			var coef []float64
			var b0 float64
			switch kind {
			case fdrmfl.KindRidge:
				if f.Criterion != "gcv" || f.Folds != 0 || len(f.CV) != 81 {
					t.Fatalf("fit %+v: want GCV over 81 penalties", f)
				}
				st, err := baseline.NewSuffStats(x, y)
				if err != nil {
					t.Fatal(err)
				}
				sp, err := baseline.NewRidgeSpectrum(st, false)
				if err != nil {
					t.Fatal(err)
				}
				var grid []float64
				for _, c := range f.CV {
					grid = append(grid, c.Alpha)
				}
				for i, g := range sp.GCV(grid) {
					if math.Abs(g-f.CV[i].MSE) > 1e-9*g {
						t.Fatalf("α = %g: GCV %v from the clients' statistics, %v from the pooled rows'", grid[i], f.CV[i].MSE, g)
					}
				}
				m := &baseline.Ridge{Alpha: f.Alpha}
				if err := m.FitMulti(x, y); err != nil {
					t.Fatal(err)
				}
				coef, b0 = mat.Col(nil, 0, m.Coef), m.Intercept[0]
			default:
				ratios := map[string]int{fdrmfl.KindLasso: 1, fdrmfl.KindENet: 4}[kind]
				if f.Folds != 4 || len(f.CV) != 100*ratios || f.Alpha <= 0 || (kind == fdrmfl.KindENet) != (f.L1Ratio > 0) {
					t.Fatalf("fit %+v: want 4 folds, a path of 100 penalties per ratio", f)
				}
				rho := f.L1Ratio
				if kind == fdrmfl.KindLasso {
					rho = 1
				}
				m := &baseline.ElasticNet{Alpha: f.Alpha, L1Ratio: rho, Tol: 1e-8}
				if err := m.Fit(x, mat.Col(nil, 0, y)); err != nil {
					t.Fatal(err)
				}
				coef, b0 = mat.Col(nil, 0, m.Coef), m.Intercept[0]
			}
			worst := 0.0
			for i := range n {
				want := b0
				for j, v := range x.RawRowView(i) {
					want += coef[j] * v
				}
				worst = max(worst, math.Abs(pooledPrediction(t, res.Model(), x.RawRowView(i))-want))
			}
			if worst > 1e-3 {
				t.Fatalf("the model predicts the pooled rows up to %.3g away from the pooled fit at %s", worst, f.Chosen())
			}
		})
	}
}

// TestLinearENetOneResponse: the lasso and the elastic net fit one
// response; statistics of two are refused with the reason.
func TestLinearENetOneResponse(t *testing.T) {
	x, y := mat.NewDense(8, 2, []float64{1, 2, 3, 1, 4, 5, 2, 2, 6, 1, 3, 3, 5, 2, 7, 1}), mat.NewDense(8, 2, nil)
	for i := range 8 {
		y.Set(i, 0, x.At(i, 0))
		y.Set(i, 1, x.At(i, 1))
	}
	st, err := baseline.NewSuffStats(x, y)
	if err != nil {
		t.Fatal(err)
	}
	m := &fdrmfl.Manifest{Model: model.Config{Kind: fdrmfl.KindLasso}, Modalities: []fdrmfl.ModalityInfo{{Name: "v", Shape: []int{2}}}, Responses: []string{"a", "b"}}
	pool := fdrmfl.NewLinearPool(m)
	if err := pool.Add([]*baseline.SuffStats{st}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Fit(m, fdrmfl.Linear{Folds: 1, Alphas: []float64{0.1}}); err == nil || !strings.Contains(err.Error(), "fit one response, the data have 2") {
		t.Fatalf("%v, want the two responses refused", err)
	}
}

// TestLinearStatsSkipMissingResponses: a training row without its
// response is left out of the statistics, which are then those of the
// other rows.
func TestLinearStatsSkipMissingResponses(t *testing.T) {
	cfg := linear(fdrmfl.KindPLS).Defaults()
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fdrmfl.Prepare(cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	train := p.Clients()[0].Train
	spec := fdrmfl.LinearStatsSpec{Modalities: []string{"vector"}, Folds: 1}
	all := make([]int, train.Len())
	for i := range all {
		all[i] = i
	}
	holey := train.Subset(all) // a copy, whose responses get holes
	holey.Y = append([]float32(nil), train.Y...)
	var rest []int
	for i := range holey.Len() {
		if i%3 == 0 {
			holey.Y[i] = float32(math.NaN())
		} else {
			rest = append(rest, i)
		}
	}
	got, err := fdrmfl.LinearStats(holey, spec)
	if err != nil {
		t.Fatal(err)
	}
	want, err := fdrmfl.LinearStats(train.Subset(rest), spec)
	if err != nil {
		t.Fatal(err)
	}
	if got[0].N != len(rest) || got[0].MeanY[0] != want[0].MeanY[0] || got[0].Sxy.At(0, 0) != want[0].Sxy.At(0, 0) {
		t.Fatalf("statistics of %d rows (ȳ %v), want those of the %d rows with a response (ȳ %v)", got[0].N, got[0].MeanY, len(rest), want[0].MeanY)
	}
}
