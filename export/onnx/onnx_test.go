package onnx_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	gonnxpb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/export/onnx"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/modelio"
	"github.com/fdrmfl/fdrmfl/nn"
)

// tol bounds max |onnx − go| relative to max |go| over an output.
const tol = 1e-5

// A trained-looking network: weights from the initialisation, and every
// normalisation parameter and running statistic drawn at random so that
// the folded batch norm is tested away from its identity start.
type fixture struct {
	cfg     model.Config
	std     *data.Standardizer
	tensors []modelio.Tensor
	weights []float32
	ds      *data.Dataset
}

var (
	vec = model.Modality{Name: "vec", Shape: []int{7}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}}
	sig = model.Modality{Name: "sig", Shape: []int{2, 11}}
	img = model.Modality{Name: "img", Shape: []int{2, 5, 6}}
	sq  = model.Modality{Name: "seq", Shape: []int{4, 3}}
)

func with(m model.Modality, e model.Encoder) model.Modality { m.Encoder = e; return m }

func newFixture(t *testing.T, cfg model.Config, n int, seed uint64) fixture {
	t.Helper()
	r := rand.New(rand.NewPCG(seed, 1))
	if cfg.Latent == 0 {
		cfg.Latent = 8
	}
	if cfg.Features == 0 {
		cfg.Features = 3
	}
	cfg.Responses = 2
	if cfg.Fusion.Hidden == nil {
		cfg.Fusion.Hidden = []int{6}
	}
	if cfg.Head.Hidden == nil {
		cfg.Head.Hidden = []int{5}
	}
	net, err := model.New[float32](cfg, r)
	if err != nil {
		t.Fatal(err)
	}
	st := nn.Bind[float32](net)
	for _, e := range st.Entries {
		switch {
		case strings.HasSuffix(e.Name, "running_var"):
			for i := range e.Param.Value {
				e.Param.Value[i] = float32(0.2 + r.Float64())
			}
		case e.Param.Norm || e.Name == "fusion.modality_weights":
			for i := range e.Param.Value {
				e.Param.Value[i] += float32(r.NormFloat64() * 0.3)
			}
		}
	}
	std := &data.Standardizer{ResponseNames: []string{"a", "b"}, Y: data.Scaling{Name: "y", Mean: []float64{10, -1}, Std: []float64{2, 0.5}}}
	var mods []data.Modality
	for k, m := range net.Config.Modalities {
		p := 1
		for _, d := range m.Shape {
			p *= d
		}
		sc := data.Scaling{Name: m.Name, Mode: data.Mode(k % 2)} // per-feature and global in turn
		width := p
		if sc.Mode == data.Global {
			width = 1
		}
		x := make([]float32, n*p)
		for range width {
			sc.Mean = append(sc.Mean, r.NormFloat64())
			sc.Std = append(sc.Std, 0.5+r.Float64())
		}
		for i := range x {
			j := (i % p) % width
			x[i] = float32(sc.Mean[j] + sc.Std[j]*r.NormFloat64())
		}
		std.Modalities = append(std.Modalities, sc)
		kind := map[int]data.Kind{1: data.Vector, 2: data.Signal, 3: data.Image}[len(m.Shape)]
		if m.Encoder.Type == model.EncBiLSTM {
			kind = data.Sequence
		}
		mods = append(mods, data.Modality{Name: m.Name, Kind: kind, Shape: m.Shape, Data: x})
	}
	ds, err := data.New(n, mods, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return fixture{cfg: net.Config, std: std, tensors: modelio.StateTensors(st), weights: slices.Clone(st.Values), ds: ds}
}

// reference is what fdrmfl predict and extract compute.
func (f fixture) reference(t *testing.T) *fdrmfl.Extraction {
	t.Helper()
	m := &fdrmfl.Manifest{Format: fdrmfl.ManifestFormat, Model: f.cfg, Standardizer: f.std, Responses: f.std.ResponseNames, Values: len(f.weights)}
	for _, mo := range f.cfg.Modalities {
		m.Modalities = append(m.Modalities, fdrmfl.ModalityInfo{Name: mo.Name, Kind: f.ds.Modality(mo.Name).Kind, Shape: mo.Shape})
	}
	x, err := fdrmfl.Extract(m, f.weights, f.ds)
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func relErr(got []float32, want []float32) (float64, float64) {
	var a, s float64
	for i := range want {
		a = max(a, math.Abs(float64(got[i])-float64(want[i])))
		s = max(s, math.Abs(float64(want[i])))
	}
	return a, a / s
}

// runnable are the configurations whose complete export gonnx v1.1.0
// executes. It has no ReduceMax, Sqrt, IsNaN or Where (max pooling,
// attention fusion, missing modalities), mis-slices 1×1 convolutions
// (resnet projection shortcuts, spatial attention) and finds an LSTM's
// outputs by the names "Y", "Y_h", "Y_c" rather than by position; those
// graphs are run by python/tests/test_onnx.py instead.
var runnable = []struct {
	name string
	cfg  model.Config
}{
	{"linear-weighted", model.Config{Modalities: []model.Modality{vec, with(sig, model.Encoder{Type: model.EncMLP, Hidden: []int{}})}}},
	{"mlp-bn-dropout-concat-relu", model.Config{
		Modalities: []model.Modality{with(vec, model.Encoder{Type: model.EncMLP, Hidden: []int{6}, BatchNorm: true, Dropout: 0.2}), with(sig, model.Encoder{Type: model.EncMLP, Hidden: []int{5, 4}})},
		Fusion:     model.Fusion{Type: model.FuseConcat, BatchNorm: true, Activation: "relu"}, Head: model.Head{Hidden: []int{4}, Dropout: 0.3}}},
	{"conv1d-flatten-bn", model.Config{Modalities: []model.Modality{with(sig, model.Encoder{Type: model.EncConv1d, Channels: []int{3, 4}, Kernels: []int{5, 2}, Strides: []int{2, 1}, BatchNorm: true, Hidden: []int{5}}), vec}}},
	{"conv1d-mean-tanh", model.Config{Modalities: []model.Modality{with(sig, model.Encoder{Type: model.EncConv1d, Channels: []int{3}, Pool: "mean"})}, Fusion: model.Fusion{Activation: "tanh"}}},
	{"conv2d-mean-bn", model.Config{Modalities: []model.Modality{with(img, model.Encoder{Type: model.EncConv2d, Channels: []int{3, 4}, Strides: []int{1, 2}, BatchNorm: true})}}},
	{"conv2d-flatten", model.Config{Modalities: []model.Modality{with(img, model.Encoder{Type: model.EncConv2d, Channels: []int{2}, Kernels: []int{2}, Pool: "flatten"}), vec}, Fusion: model.Fusion{Type: model.FuseConcat}}},
	{"resnet-identity-shortcuts", model.Config{Modalities: []model.Modality{with(img, model.Encoder{Type: model.EncResNet, Channels: []int{2, 2}, Kernels: []int{3, 5}}), vec},
		Fusion: model.Fusion{Type: model.FuseConcat}, LearnedSigma: true}},
}

// graphOnly are configurations gonnx cannot run (see runnable).
var graphOnly = []struct {
	name string
	cfg  model.Config
}{
	{"resnet-spatial-attention", model.Config{Modalities: []model.Modality{with(img, model.Encoder{Type: model.EncResNet, Channels: []int{2, 3}, Strides: []int{1, 2}, SpatialAttention: true})}}},
	{"bilstm", model.Config{Modalities: []model.Modality{with(sq, model.Encoder{Type: model.EncBiLSTM, LSTMHidden: 3, LSTMLayers: 2, Hidden: []int{4}}), vec}}},
	{"conv-bilstm-learned-sigma", model.Config{Modalities: []model.Modality{with(sig, model.Encoder{Type: model.EncConvBiLSTM, Channels: []int{3}, Strides: []int{2}, LSTMHidden: 2, LSTMLayers: 1})}, LearnedSigma: true}},
	{"attention", model.Config{Modalities: []model.Modality{vec, with(sq, model.Encoder{Type: model.EncBiLSTM, LSTMHidden: 2, LSTMLayers: 1})}, Fusion: model.Fusion{Type: model.FuseAttention, Heads: 2}}},
	{"max-pools", model.Config{Modalities: []model.Modality{with(sig, model.Encoder{Type: model.EncConv1d, Channels: []int{2}, Pool: "max"}), with(img, model.Encoder{Type: model.EncConv2d, Channels: []int{2}, Pool: "max"})}}},
}

// TestGonnxAgrees runs complete exports in the gonnx runtime and compares
// ŷ and Z with fdrmfl.Extract, the code of fdrmfl predict.
func TestGonnxAgrees(t *testing.T) {
	for i, c := range runnable {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.cfg, 9, uint64(i))
			want := f.reference(t)
			b, err := onnx.Export(f.cfg, f.std, f.tensors, onnx.Options{Complete: true})
			if err != nil {
				t.Fatal(err)
			}
			m, err := gonnx.NewModelFromBytes(b)
			if err != nil {
				t.Fatal(err)
			}
			in := gonnx.Tensors{}
			for _, mo := range f.cfg.Modalities {
				x := f.ds.Modality(mo.Name).Data
				in[mo.Name] = tensor.New(tensor.WithShape(append([]int{f.ds.Len()}, mo.Shape...)...), tensor.WithBacking(slices.Clone(x)))
			}
			out, err := m.Run(in)
			if err != nil {
				t.Fatal(err)
			}
			for _, o := range []struct {
				name string
				want []float32
			}{{onnx.OutputY, want.Pred}, {onnx.OutputZ, want.Z}} {
				got, ok := out[o.name].Data().([]float32)
				if !ok || len(got) != len(o.want) {
					t.Fatalf("output %s: %T of %d values, want %d float32", o.name, out[o.name].Data(), len(got), len(o.want))
				}
				a, r := relErr(got, o.want)
				t.Logf("%s: max abs error %.3g, relative %.3g", o.name, a, r)
				if r > tol {
					t.Errorf("output %s: max abs error %.3g, relative %.3g > %g", o.name, a, r, tol)
				}
			}
		})
	}
}

// opset13 lists the operators an export may use; each exists in the
// default operator set at version 13 with the inputs and attributes used.
var opset13 = []string{"Add", "Cast", "Concat", "Conv", "Div", "Flatten", "Gather", "Gemm", "IsNaN", "LSTM", "MatMul", "Mul",
	"ReduceMax", "ReduceMean", "ReduceSum", "Relu", "Reshape", "Sigmoid", "Slice", "Softmax", "Sqrt", "Sub", "Tanh", "Transpose", "Where"}

// TestGraphs exports every encoder type, pooling and fusion, with and
// without the missing-modality handling, and checks the decoded model:
// opset, inputs and outputs with a symbolic batch, operators, and that
// every value is defined before it is read.
func TestGraphs(t *testing.T) {
	all := append(slices.Clone(runnable), graphOnly...)
	for i, c := range all {
		for _, complete := range []bool{false, true} {
			f := newFixture(t, c.cfg, 3, uint64(i))
			b, err := onnx.Export(f.cfg, f.std, f.tensors, onnx.Options{Complete: complete})
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			var mp gonnxpb.ModelProto
			if err := proto.Unmarshal(b, &mp); err != nil {
				t.Fatalf("%s: not a ModelProto: %v", c.name, err)
			}
			if mp.GetIrVersion() != onnx.IRVersion || len(mp.GetOpsetImport()) != 1 || mp.GetOpsetImport()[0].GetVersion() != onnx.Opset {
				t.Errorf("%s: IR %d, opsets %v", c.name, mp.GetIrVersion(), mp.GetOpsetImport())
			}
			g := mp.GetGraph()
			defined := map[string]bool{}
			for _, in := range g.GetInitializer() {
				defined[in.GetName()] = true
			}
			var names []string
			for k, in := range g.GetInput() {
				names = append(names, in.GetName())
				d := in.GetType().GetTensorType().GetShape().GetDim()
				if d[0].GetDimParam() != "batch" || len(d) != 1+len(f.cfg.Modalities[k].Shape) {
					t.Errorf("%s: input %s has dims %v", c.name, in.GetName(), d)
				}
				defined[in.GetName()] = true
			}
			var want []string
			for _, m := range f.cfg.Modalities {
				want = append(want, m.Name)
			}
			if !slices.Equal(names, want) {
				t.Errorf("%s: inputs %v", c.name, names)
			}
			for _, n := range g.GetNode() {
				if !slices.Contains(opset13, n.GetOpType()) {
					t.Errorf("%s: operator %s", c.name, n.GetOpType())
				}
				if complete && slices.Contains([]string{"IsNaN", "Where", "ReduceSum"}, n.GetOpType()) {
					t.Errorf("%s: complete export uses %s", c.name, n.GetOpType())
				}
				for _, in := range n.GetInput() {
					if !defined[in] {
						t.Errorf("%s: node %s reads %q before it is defined", c.name, n.GetName(), in)
					}
				}
				for _, o := range n.GetOutput() {
					defined[o] = true
				}
			}
			var outs []string
			for _, o := range g.GetOutput() {
				outs = append(outs, o.GetName())
				if !defined[o.GetName()] {
					t.Errorf("%s: output %s is never computed", c.name, o.GetName())
				}
			}
			if !slices.Equal(outs, []string{onnx.OutputY, onnx.OutputZ}) {
				t.Errorf("%s: outputs %v", c.name, outs)
			}
		}
	}
}

// TestRefused: what cannot be exported is an error naming it.
func TestRefused(t *testing.T) {
	base := newFixture(t, runnable[2].cfg, 3, 1) // conv1d with batch norm, and a linear encoder
	edit := func(f func(*fixture)) fixture {
		g := base
		g.cfg.Modalities = slices.Clone(base.cfg.Modalities)
		g.tensors = slices.Clone(base.tensors)
		std := *base.std
		std.Modalities = slices.Clone(base.std.Modalities)
		g.std = &std
		f(&g)
		return g
	}
	cases := []struct {
		name string
		f    fixture
		want string
	}{
		{"encoder type", edit(func(f *fixture) { f.cfg.Modalities[0].Encoder.Type = "transformer" }), `type: "transformer" is not one of`},
		{"fusion type", edit(func(f *fixture) { f.cfg.Fusion.Type = "gated" }), `fusion.type: "gated"`},
		{"pool", edit(func(f *fixture) { f.cfg.Modalities[0].Encoder.Pool = "median" }), `pool: "median"`},
		{"missing tensor", edit(func(f *fixture) { f.tensors = f.tensors[1:] }), `tensor "encoders.sig.0.weight" (shape [3 2 5]) is missing`},
		{"shape", edit(func(f *fixture) {
			f.tensors[0] = modelio.Tensor{Name: f.tensors[0].Name, Shape: []int{3, 2, 4}, Data: make([]float32, 24)}
		}), `tensor "encoders.sig.0.weight" has shape [3 2 4], the network needs [3 2 5]`},
		{"unused", edit(func(f *fixture) {
			f.tensors = append(f.tensors, modelio.Tensor{Name: "head.9.weight", Shape: []int{1}, Data: []float32{0}})
		}),
			`tensor "head.9.weight" is not part of the network`},
		{"duplicate", edit(func(f *fixture) { f.tensors = append(f.tensors, f.tensors[0]) }), `two tensors are named "encoders.sig.0.weight"`},
		{"non-finite", edit(func(f *fixture) {
			d := slices.Clone(f.tensors[0].Data)
			d[3] = float32(math.NaN())
			f.tensors[0].Data = d
		}), `tensor "encoders.sig.0.weight" holds a non-finite value`},
		{"no scaling", edit(func(f *fixture) { f.std.Modalities = f.std.Modalities[1:] }), `no scaling for modality "sig"`},
		{"scaling size", edit(func(f *fixture) { f.std.Modalities[0].Mean = f.std.Modalities[0].Mean[:3] }), `modality "sig": per-feature scaling of 3 means`},
		{"zero sd", edit(func(f *fixture) { f.std.Modalities[0].Std = append([]float64{0}, f.std.Modalities[0].Std[1:]...) }), `modality "sig": value 0`},
		{"responses", edit(func(f *fixture) { f.std.ResponseNames = []string{"a"} }), `1 response names for a network of 2 responses`},
	}
	for _, c := range cases {
		_, err := onnx.Export(c.f.cfg, c.f.std, c.f.tensors, onnx.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.want)
		}
	}
	if _, err := onnx.Export(base.cfg, nil, base.tensors, onnx.Options{}); err == nil || !strings.Contains(err.Error(), "no standardizer") {
		t.Errorf("nil standardizer: %v", err)
	}
}

// TestDeterministic: the same model gives the same bytes.
func TestDeterministic(t *testing.T) {
	f := newFixture(t, graphOnly[1].cfg, 3, 4)
	a, err := onnx.Export(f.cfg, f.std, f.tensors, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := onnx.Export(f.cfg, f.std, f.tensors, onnx.Options{})
	if !slices.Equal(a, b) {
		t.Error("two exports of one model differ")
	}
}
