package warm_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/warm"
)

// net returns a network of two vector modalities with the given encoder
// hidden layers and fusion.
func net(t *testing.T, encHidden []int, fusion string, responses int) *model.Model[float64] {
	t.Helper()
	cfg := model.Config{
		Latent: 6, Features: 4, Responses: responses,
		Fusion: model.Fusion{Type: fusion, Hidden: []int{10}},
		Head:   model.Head{Hidden: []int{5}},
		Modalities: []model.Modality{
			{Name: "a", Shape: []int{7}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: encHidden}},
			{Name: "b", Shape: []int{1, 5}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: encHidden}},
		},
	}
	m, err := model.New[float64](cfg, rand.New(rand.NewPCG(3, 4)))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// data returns n rows of both modalities side by side (12 columns) with
// unequal column scales, and responses.
func data(r *rand.Rand, n, q int) (*mat.Dense, *mat.Dense) {
	x := mat.NewDense(n, 12, nil)
	y := mat.NewDense(n, q, nil)
	for i := range n {
		for j := range 12 {
			x.Set(i, j, r.NormFloat64()*(1+float64(j%3)))
		}
		for k := range q {
			y.Set(i, k, x.At(i, k)-0.5*x.At(i, 8+k)+0.1*r.NormFloat64())
		}
	}
	return x, y
}

// TestInitReproducesLinear checks that a warm-started network predicts
// exactly what the linear model predicts, and that Z holds the carried
// directions at unit scale, for linear and deeper encoders, both fusions
// and one or two responses.
func TestInitReproducesLinear(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hidden []int
		fusion string
		q      int
	}{
		{"linear encoders, weighted", []int{}, model.FuseWeighted, 1},
		{"linear encoders, concat", []int{}, model.FuseConcat, 1},
		{"hidden encoders, weighted", []int{9, 8}, model.FuseWeighted, 1},
		{"two responses", []int{}, model.FuseWeighted, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(1, 2))
			x, y := data(r, 40, tc.q)
			s, err := baseline.NewSuffStats(x, y)
			if err != nil {
				t.Fatal(err)
			}
			pls := &baseline.PLS{Components: 3}
			if err := pls.FitStats(s); err != nil {
				t.Fatal(err)
			}
			lin, err := warm.FromStats(s, []int{7, 5}, pls.Coef, pls.Intercept, pls.Rotations)
			if err != nil {
				t.Fatal(err)
			}
			m := net(t, tc.hidden, tc.fusion, tc.q)
			carried, err := warm.Init(m, lin)
			if err != nil {
				t.Fatal(err)
			}
			if want := min(len(lin.Dirs), 4); carried != want {
				t.Errorf("carried %d directions, want %d", carried, want)
			}
			want := mat.NewDense(40, tc.q, nil)
			want.Mul(x, pls.Coef)
			tp := ag.NewTape[float64]()
			xa := mat.DenseCopyOf(x.Slice(0, 40, 0, 7))
			xb := mat.DenseCopyOf(x.Slice(0, 40, 7, 12))
			out := m.Forward(tp, model.Input[float64]{N: 40, X: []*ag.Var[float64]{
				ag.Const(xa.RawMatrix().Data, 40, 7), ag.Const(xb.RawMatrix().Data, 40, 1, 5)}})
			pred, z := out.Pred.Data(), out.Z.Data()
			for i := range 40 {
				for k := range tc.q {
					w := want.At(i, k) + pls.Intercept[k]
					if got := pred[i*tc.q+k]; math.Abs(got-w) > 1e-9*(1+math.Abs(w)) {
						t.Fatalf("row %d response %d: network %v, linear model %v", i, k, got, w)
					}
				}
			}
			// Z_j = v_j / SD_j: the carried directions at unit scale.
			for j := range carried {
				var zs []float64
				for i := range 40 {
					zs = append(zs, z[i*4+j])
				}
				_, sd := baseline.MeanSD(zs)                           // ddof 1
				if sd *= math.Sqrt(39.0 / 40); math.Abs(sd-1) > 1e-9 { // population sd, as FromStats
					t.Errorf("Z_%d has sd %v, want 1", j, sd)
				}
			}
		})
	}
}

// TestInitRefuses checks the networks and models Init cannot map.
func TestInitRefuses(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y := data(r, 30, 1)
	s, _ := baseline.NewSuffStats(x, y)
	ridge := &baseline.Ridge{Alpha: 1}
	if err := ridge.FitStats(s); err != nil {
		t.Fatal(err)
	}
	lin, err := warm.FromStats(s, []int{7, 5}, ridge.Coef, ridge.Intercept, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := warm.FromStats(s, []int{7, 4}, ridge.Coef, ridge.Intercept, nil); err == nil {
		t.Error("FromStats accepted modalities of 11 inputs for 12 columns")
	}
	for _, tc := range []struct {
		name string
		edit func(*model.Config)
		want string
	}{
		{"attention fusion", func(c *model.Config) { c.Fusion.Type, c.Fusion.Heads = model.FuseAttention, 2 }, "fusion"},
		{"batch norm", func(c *model.Config) { c.Fusion.BatchNorm = true }, "not supported"},
		{"activation on Z", func(c *model.Config) { c.Fusion.Activation = "tanh" }, "activation"},
		{"conv encoder", func(c *model.Config) {
			c.Modalities[1].Encoder = model.Encoder{Type: model.EncConv1d, Channels: []int{2}}
		}, "not supported"},
		{"narrow head", func(c *model.Config) { c.Head.Hidden = []int{1} }, "no room"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := model.Config{
				Latent: 6, Features: 4,
				Fusion: model.Fusion{Hidden: []int{10}}, Head: model.Head{Hidden: []int{5}},
				Modalities: []model.Modality{
					{Name: "a", Shape: []int{7}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
					{Name: "b", Shape: []int{1, 5}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
				},
			}
			tc.edit(&cfg)
			m, err := model.New[float64](cfg, rand.New(rand.NewPCG(3, 4)))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := warm.Init(m, lin); err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Init: %v, want an error about %q", err, tc.want)
			}
		})
	}
}
