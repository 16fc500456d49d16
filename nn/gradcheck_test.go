package nn_test

import (
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/ag/agtest"
	"github.com/fdrmfl/fdrmfl/nn"
)

// TestLayerGradients checks every layer's gradients, with respect to its
// input and to each of its weights, against central finite differences in
// float64, in training and evaluation mode where they differ.
func TestLayerGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	type L = nn.Layer[float64]
	type V = ag.Var[float64]
	type Tp = ag.Tape[float64]
	mha := nn.NewMultiHeadAttention[float64](6, 2, r)
	cases := []struct {
		name  string
		layer L
		in    []int
		train bool
	}{
		{"Dense", nn.NewDense[float64](4, 3, true, r), []int{5, 4}, false},
		{"DenseNoBias", nn.NewDense[float64](4, 3, false, r), []int{5, 4}, false},
		{"Conv1d", nn.NewConv1d[float64](2, 3, 3, ag.ConvParams{Stride: 2, Padding: 1, Dilation: 2}, true, r), []int{2, 2, 12}, false},
		{"Conv2d", nn.NewConv2d[float64](2, 3, 3, ag.ConvParams{Stride: 2, Padding: 1}, true, r), []int{2, 2, 6, 5}, false},
		{"BatchNorm1dTrain", nn.NewBatchNorm[float64](3), []int{6, 3}, true},
		{"BatchNorm1dEval", nn.NewBatchNorm[float64](3), []int{6, 3}, false},
		{"BatchNorm2dTrain", nn.NewBatchNorm[float64](2), []int{2, 2, 3, 3}, true},
		{"BatchNorm2dEval", nn.NewBatchNorm[float64](2), []int{2, 2, 3, 3}, false},
		{"LayerNorm", nn.NewLayerNorm[float64](5), []int{3, 5}, false},
		{"DropoutTrain", nn.Dropout[float64](0.4), []int{4, 5}, true},
		{"DropoutEval", nn.NewSequential[float64](nn.Dropout[float64](0.4), nn.Tanh[float64]()), []int{4, 5}, false},
		{"LSTM", nn.NewLSTM[float64](3, 2, 2, true, 0, r), []int{2, 4, 3}, false},
		{"LSTMDropoutTrain", nn.NewLSTM[float64](3, 2, 2, false, 0.3, r), []int{2, 4, 3}, true},
		{"MultiHeadAttention", mha, []int{2, 3, 6}, false},
		{"AttentionPool", nn.NewAttentionPool[float64](4, 3, r), []int{2, 5, 4}, false},
		{"AttentionPoolLinear", nn.NewAttentionPool[float64](4, 0, r), []int{2, 5, 4}, false},
		{"MaxPool1d", nn.MaxPool1d[float64](2, 0), []int{2, 2, 6}, false},
		{"AvgPool1d", nn.AvgPool1d[float64](3, 1), []int{2, 2, 6}, false},
		{"MaxPool2d", nn.MaxPool2d[float64](2, 1), []int{1, 2, 4, 4}, false},
		{"AvgPool2d", nn.AvgPool2d[float64](2, 0), []int{1, 2, 4, 4}, false},
		{"MeanOver", nn.MeanOver[float64](2, 3), []int{2, 3, 2, 2}, false},
		{"Flatten", nn.NewSequential[float64](nn.Flatten[float64](), nn.Sigmoid[float64]()), []int{2, 3, 2}, false},
		{"GELU", nn.GELU[float64](), []int{3, 4}, false},
		{"Residual", &nn.Residual[float64]{Body: nn.NewSequential[float64](nn.NewDense[float64](4, 4, true, r), nn.ReLU[float64]()), Shortcut: nn.NewDense[float64](4, 4, false, r)}, []int{3, 4}, false},
		{"ResidualIdentity", &nn.Residual[float64]{Body: nn.NewDense[float64](4, 4, true, r)}, []int{3, 4}, false},
		{"Sequential", nn.NewSequential[float64](nn.NewDense[float64](4, 6, true, r), nn.NewBatchNorm[float64](6), nn.ReLU[float64](), nn.NewDense[float64](6, 2, true, r)), []int{5, 4}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := nn.Bind(c.layer)
			for _, e := range st.Entries { // move weights off their neat initial values
				if e.Param.Kind == nn.Weight {
					for i := range e.Param.Value {
						e.Param.Value[i] += 0.1 * (r.Float64() - 0.5)
					}
				}
			}
			x := agtest.Param(r, -1, 1, c.in...)
			params := []*V{x}
			for _, e := range st.Entries {
				if e.Param.Kind == nn.Weight {
					params = append(params, e.Param.Var())
				}
			}
			agtest.Gradients(t, func(tp *Tp) *V { return c.layer.Forward(tp, x) }, params, agtest.Options{Train: c.train, Seed: 9})
		})
	}
	t.Run("MultiHeadAttentionMasked", func(t *testing.T) {
		st := nn.Bind[float64](mha)
		q, kv := agtest.Param(r, -1, 1, 2, 3, 6), agtest.Param(r, -1, 1, 2, 4, 6)
		keep := []bool{true, false, true, true, true, true, false, false}
		params := []*V{q, kv}
		for _, e := range st.Entries {
			params = append(params, e.Param.Var())
		}
		agtest.Gradients(t, func(tp *Tp) *V { return mha.Attend(tp, q, kv, kv, keep) }, params, agtest.Options{})
	})
}
