package nn_test

import (
	"math"
	"math/rand/v2"
	"os"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/modelio"
	"github.com/fdrmfl/fdrmfl/nn"
)

// TestLayersMatchPyTorch compares each layer's output and gradients with
// values PyTorch computed for the same weights and inputs
// (testdata/torch_layers.py).
func TestLayersMatchPyTorch(t *testing.T) {
	f, err := os.Open("testdata/torch_layers.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ts, _, err := modelio.ReadSafetensors(f)
	if err != nil {
		t.Fatal(err)
	}
	ref := map[string]modelio.Tensor{}
	for _, x := range ts {
		ref[x.Name] = x
	}
	r := rand.New(rand.NewPCG(1, 2))
	type L = nn.Layer[float32]
	type V = ag.Var[float32]
	type Tp = ag.Tape[float32]
	mha := func() *nn.MultiHeadAttention[float32] { return nn.NewMultiHeadAttention[float32](8, 2, r) }
	cases := []struct {
		name  string
		layer nn.Module[float32]
		train bool
		call  func(tp *Tp, m nn.Module[float32], in []*V) *V
	}{
		{"dense", nn.NewDense[float32](5, 3, true, r), false, nil},
		{"conv1d", nn.NewConv1d[float32](2, 3, 3, ag.ConvParams{Stride: 2, Padding: 1, Dilation: 2}, true, r), false, nil},
		{"conv2d", nn.NewConv2d[float32](2, 3, 3, ag.ConvParams{Stride: 2, Padding: 1}, true, r), false, nil},
		{"bn1d_train", nn.NewBatchNorm[float32](3), true, nil},
		{"bn2d_eval", nn.NewBatchNorm[float32](3), false, nil},
		{"bn2d_train", nn.NewBatchNorm[float32](3), true, nil},
		{"layernorm", nn.NewLayerNorm[float32](5), false, nil},
		{"lstm", nn.NewLSTM[float32](4, 3, 2, true, 0, r), false, nil},
		{"mha_self", mha(), true, nil},
		{"mha_masked", mha(), true, func(tp *Tp, m nn.Module[float32], in []*V) *V {
			ignore := []bool{false, false, true, false, true, true}
			keep := make([]bool, len(ignore))
			for i, v := range ignore {
				keep[i] = !v
			}
			return m.(*nn.MultiHeadAttention[float32]).Attend(tp, in[0], in[1], in[1], keep)
		}},
		{"maxpool1d", nn.MaxPool1d[float32](3, 2), false, nil},
		{"avgpool2d", nn.AvgPool2d[float32](2, 0), false, nil},
		{"gelu", nn.GELU[float32](), false, nil},
		{"logsoftmax", nn.Func[float32](func(tp *Tp, x *V) *V { return tp.LogSoftmax(x, 1) }), false, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := nn.Bind(c.layer)
			var params []modelio.Tensor
			for name, x := range ref {
				if p, ok := strings.CutPrefix(name, c.name+"/param/"); ok {
					x.Name = p
					params = append(params, x)
				}
			}
			if err := modelio.AssignTensors(st, params, false); err != nil {
				t.Fatal(err)
			}
			tp := ag.NewTape[float32]()
			tp.Train = c.train
			var inputs []*V
			var names []string
			for _, n := range []string{"input", "input1", "input2"} {
				if x, ok := ref[c.name+"/"+n]; ok {
					inputs = append(inputs, ag.Param(append([]float32(nil), x.Data...), make([]float32, len(x.Data)), x.Shape...))
					names = append(names, n)
				}
			}
			var y *V
			if c.call != nil {
				y = c.call(tp, c.layer, inputs)
			} else {
				y = c.layer.(L).Forward(tp, inputs[0])
			}
			want := ref[c.name+"/output"]
			close(t, "output", y.Data(), want.Data, 2e-5)
			tp.BackwardFrom(y, ref[c.name+"/outgrad"].Data)
			for i, in := range inputs {
				close(t, "grad of "+names[i], in.Grad(), ref[c.name+"/grad/"+names[i]].Data, 5e-5)
			}
			for _, e := range st.Entries {
				if g, ok := ref[c.name+"/grad/"+e.Name]; ok {
					close(t, "grad of "+e.Name, e.Param.Grad, g.Data, 5e-5)
				} else if e.Param.Kind == nn.Weight {
					t.Errorf("no reference gradient for %s", e.Name)
				}
				if a, ok := ref[c.name+"/after/"+e.Name]; ok {
					close(t, e.Name+" after the call", e.Param.Value, a.Data, 2e-5)
				}
			}
		})
	}
}

// close fails unless got and want agree within tol relative to the
// largest magnitude of want.
func close(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	scale := 1e-6
	for _, w := range want {
		scale = max(scale, math.Abs(float64(w)))
	}
	for i := range got {
		if d := math.Abs(float64(got[i] - want[i])); d > tol*scale || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s: element %d is %v, PyTorch gives %v (scale %.3g)", what, i, got[i], want[i], scale)
		}
	}
}
