package model_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/ag/agtest"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/nn"
)

// small returns a configuration with one modality of each input kind.
func small(fusion string) model.Config {
	return model.Config{
		Latent: 4, Features: 3, Responses: 1,
		Fusion: model.Fusion{Type: fusion, Hidden: []int{5}, Heads: 2},
		Head:   model.Head{Hidden: []int{4}},
		Modalities: []model.Modality{
			{Name: "vector", Shape: []int{6}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{5}, BatchNorm: true}},
			{Name: "spectrum", Shape: []int{1, 9}, Encoder: model.Encoder{Type: model.EncConv1d, Channels: []int{2}, Kernels: []int{3}, Strides: []int{2}}},
			{Name: "image", Shape: []int{2, 4, 4}, Encoder: model.Encoder{Type: model.EncConv2d, Channels: []int{2}, Strides: []int{2}}},
			{Name: "text", Shape: []int{3, 2}, Encoder: model.Encoder{Type: model.EncBiLSTM, LSTMHidden: 2, LSTMLayers: 1}},
		},
	}
}

func inputs(r *rand.Rand, cfg model.Config, n int) []*ag.Var[float64] {
	xs := make([]*ag.Var[float64], len(cfg.Modalities))
	for i, m := range cfg.Modalities {
		xs[i] = agtest.Param(r, -1, 1, append([]int{n}, m.Shape...)...)
	}
	return xs
}

// TestModelGradients checks the whole network's gradients, for every
// fusion and with some samples lacking some modalities.
func TestModelGradients(t *testing.T) {
	for _, fusion := range []string{model.FuseWeighted, model.FuseConcat, model.FuseAttention} {
		for _, missing := range []bool{false, true} {
			name := fusion
			if missing {
				name += "/missing"
			}
			t.Run(name, func(t *testing.T) {
				r := rand.New(rand.NewPCG(1, 2))
				cfg := small(fusion)
				m, err := model.New[float64](cfg, r)
				if err != nil {
					t.Fatal(err)
				}
				st := nn.Bind[float64](m)
				xs := inputs(r, cfg, 4)
				in := model.Input[float64]{N: 4, X: xs}
				if missing {
					in.Present = [][]bool{{true, false, true, true}, nil, {false, true, true, false}, nil}
				}
				params := []*ag.Var[float64]{}
				for _, e := range st.Entries {
					if e.Param.Kind == nn.Weight {
						params = append(params, e.Param.Var())
					}
				}
				agtest.Gradients(t, func(tp *ag.Tape[float64]) *ag.Var[float64] {
					out := m.Forward(tp, in)
					return tp.Concat(1, out.Pred, out.Z)
				}, params, agtest.Options{Train: true})
			})
		}
	}
}

// TestEveryModalityReachesZ changes one modality's input at a time and
// checks that Z changes (the author's fusion let two of three modalities
// drop out; ours must not).
func TestEveryModalityReachesZ(t *testing.T) {
	for _, fusion := range []string{model.FuseWeighted, model.FuseConcat, model.FuseAttention} {
		r := rand.New(rand.NewPCG(3, 4))
		cfg := small(fusion)
		m, err := model.New[float64](cfg, r)
		if err != nil {
			t.Fatal(err)
		}
		nn.Bind[float64](m)
		xs := inputs(r, cfg, 3)
		tp := ag.NewTape[float64]()
		base := append([]float64(nil), m.Forward(tp, model.Input[float64]{N: 3, X: xs}).Z.Data()...)
		for i := range xs {
			d := xs[i].Data()
			saved := append([]float64(nil), d...)
			for j := range d {
				d[j] += 0.5
			}
			tp.Reset()
			z := m.Forward(tp, model.Input[float64]{N: 3, X: xs}).Z.Data()
			copy(d, saved)
			diff := 0.0
			for j := range z {
				diff = max(diff, math.Abs(z[j]-base[j]))
			}
			if diff < 1e-6 {
				t.Errorf("%s fusion: modality %s does not reach Z", fusion, cfg.Modalities[i].Name)
			}
		}
	}
}

func TestMissingModalityIsMaskedNotCrashed(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	cfg := small(model.FuseWeighted)
	m, _ := model.New[float32](cfg, r)
	nn.Bind[float32](m)
	tp := ag.NewTape[float32]()
	xs := make([]*ag.Var[float32], 4)
	xs[0] = tp.Const(make([]float32, 2*6), 2, 6) // only the vector modality
	out := m.Forward(tp, model.Input[float32]{N: 2, X: xs})
	for _, v := range out.Pred.Data() {
		if math.IsNaN(float64(v)) {
			t.Fatal("prediction is NaN with three modalities absent")
		}
	}
	if out.Mu[1] != nil {
		t.Fatal("an absent modality has a latent")
	}
}

func TestEncoderShapes(t *testing.T) {
	cases := []struct {
		name string
		mod  model.Modality
	}{
		{"mlp", model.Modality{Name: "v", Shape: []int{32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{64, 128}, BatchNorm: true, Dropout: 0.1}}},
		{"conv1d-flatten", model.Modality{Name: "s", Shape: []int{1, 700}, Encoder: model.Encoder{Type: model.EncConv1d, Channels: []int{8, 16}, Kernels: []int{7, 5}, Strides: []int{2, 2}, BatchNorm: true}}},
		{"conv1d-mean", model.Modality{Name: "s", Shape: []int{2, 50}, Encoder: model.Encoder{Type: model.EncConv1d, Pool: "mean", Hidden: []int{8}}}},
		{"conv1d-max", model.Modality{Name: "s", Shape: []int{2, 50}, Encoder: model.Encoder{Type: model.EncConv1d, Pool: "max"}}},
		{"conv2d", model.Modality{Name: "i", Shape: []int{3, 16, 16}, Encoder: model.Encoder{Type: model.EncConv2d, Channels: []int{8, 16}, Strides: []int{1, 2}, BatchNorm: true}}},
		{"resnet-attention", model.Modality{Name: "i", Shape: []int{3, 16, 16}, Encoder: model.Encoder{Type: model.EncResNet, Channels: []int{8, 8}, Strides: []int{1, 2}, SpatialAttention: true, Pool: "flatten"}}},
		{"bilstm", model.Modality{Name: "t", Shape: []int{10, 50}, Encoder: model.Encoder{Type: model.EncBiLSTM}}},
		{"conv-bilstm", model.Modality{Name: "s", Shape: []int{1, 100}, Encoder: model.Encoder{Type: model.EncConvBiLSTM, Channels: []int{8}, Strides: []int{4}, LSTMHidden: 8, LSTMLayers: 1}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := rand.New(rand.NewPCG(7, 8))
			cfg := model.Config{Latent: 12, Features: 5, Modalities: []model.Modality{c.mod}}
			m, err := model.New[float32](cfg, r)
			if err != nil {
				t.Fatal(err)
			}
			nn.Bind[float32](m)
			tp := ag.NewTape[float32]()
			tp.Train, tp.Rand = true, r
			n := 3
			x := tp.Zeros(append([]int{n}, c.mod.Shape...)...)
			for i := range x.Data() {
				x.Data()[i] = float32(r.NormFloat64())
			}
			out := m.Forward(tp, model.Input[float32]{N: n, X: []*ag.Var[float32]{x}})
			if got := out.Z.Shape(); got[0] != n || got[1] != 5 {
				t.Fatalf("Z has shape %v, want [%d 5]", got, n)
			}
			if got := out.Mu[0].Shape(); got[0] != n || got[1] != 12 {
				t.Fatalf("latent has shape %v, want [%d 12]", got, n)
			}
		})
	}
}

func TestValidateNamesTheField(t *testing.T) {
	cases := []struct {
		mutate func(*model.Config)
		want   string
	}{
		{func(c *model.Config) { c.Modalities[0].Encoder.Type = "transformer" }, `modalities[0] (vector): encoder: type: "transformer" is not one of`},
		{func(c *model.Config) { c.Modalities[1].Shape = []int{9} }, "needs an input of rank 2"},
		{func(c *model.Config) { c.Fusion.Type = "sum" }, "fusion.type"},
		{func(c *model.Config) { c.Fusion.Heads = 3 }, "fusion.heads"},
		{func(c *model.Config) { c.Modalities[2].Name = "vector" }, "duplicate"},
		{func(c *model.Config) { c.Head.Dropout = 1.5 }, "head.dropout"},
		{func(c *model.Config) { c.Modalities = nil }, "at least one"},
	}
	for _, c := range cases {
		cfg := small(model.FuseAttention)
		c.mutate(&cfg)
		_, err := model.New[float32](cfg, rand.New(rand.NewPCG(1, 1)))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one containing %q", err, c.want)
		}
	}
}
