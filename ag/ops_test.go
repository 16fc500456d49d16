package ag_test

import (
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/ag/agtest"
)

type V = ag.Var[float64]
type Tp = ag.Tape[float64]

// TestOpGradients checks every operation's backward step against central
// finite differences in float64.
func TestOpGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	p := func(lo, hi float64, shape ...int) *V { return agtest.Param(r, lo, hi, shape...) }
	type tc struct {
		name   string
		params []*V
		f      func(tp *Tp, x []*V) *V
		train  bool
	}
	unaryCase := func(name string, lo, hi float64, f func(tp *Tp, x *V) *V) tc {
		return tc{name, []*V{p(lo, hi, 3, 4)}, func(tp *Tp, x []*V) *V { return f(tp, x[0]) }, false}
	}
	cases := []tc{
		{"MatMul", []*V{p(-1, 1, 3, 4), p(-1, 1, 4, 5)}, func(tp *Tp, x []*V) *V { return tp.MatMul(x[0], x[1], false, false) }, false},
		{"MatMulTA", []*V{p(-1, 1, 4, 3), p(-1, 1, 4, 5)}, func(tp *Tp, x []*V) *V { return tp.MatMul(x[0], x[1], true, false) }, false},
		{"MatMulTB", []*V{p(-1, 1, 3, 4), p(-1, 1, 5, 4)}, func(tp *Tp, x []*V) *V { return tp.MatMul(x[0], x[1], false, true) }, false},
		{"MatMulTATB", []*V{p(-1, 1, 4, 3), p(-1, 1, 5, 4)}, func(tp *Tp, x []*V) *V { return tp.MatMul(x[0], x[1], true, true) }, false},
		{"BatchMatMul", []*V{p(-1, 1, 2, 3, 4), p(-1, 1, 2, 4, 5)}, func(tp *Tp, x []*V) *V { return tp.BatchMatMul(x[0], x[1], false, false) }, false},
		{"BatchMatMulTB", []*V{p(-1, 1, 2, 3, 4), p(-1, 1, 2, 5, 4)}, func(tp *Tp, x []*V) *V { return tp.BatchMatMul(x[0], x[1], false, true) }, false},
		{"BatchMatMulTA", []*V{p(-1, 1, 2, 4, 3), p(-1, 1, 2, 4, 5)}, func(tp *Tp, x []*V) *V { return tp.BatchMatMul(x[0], x[1], true, false) }, false},
		{"Linear", []*V{p(-1, 1, 5, 4), p(-1, 1, 3, 4), p(-1, 1, 3)}, func(tp *Tp, x []*V) *V { return tp.Linear(x[0], x[1], x[2]) }, false},
		{"LinearNoBias", []*V{p(-1, 1, 5, 4), p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Linear(x[0], x[1], nil) }, false},
		{"Add", []*V{p(-1, 1, 3, 4), p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Add(x[0], x[1]) }, false},
		{"AddRowBroadcast", []*V{p(-1, 1, 3, 4), p(-1, 1, 1, 4)}, func(tp *Tp, x []*V) *V { return tp.Add(x[0], x[1]) }, false},
		{"SubColBroadcast", []*V{p(-1, 1, 3, 4), p(-1, 1, 3, 1)}, func(tp *Tp, x []*V) *V { return tp.Sub(x[0], x[1]) }, false},
		{"SubLeftBroadcast", []*V{p(-1, 1, 1, 4), p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Sub(x[0], x[1]) }, false},
		{"AddScalarOtherRank", []*V{p(-1, 1, 3, 4), p(-1, 1, 1)}, func(tp *Tp, x []*V) *V { return tp.Add(x[0], x[1]) }, false},
		{"MulScalarHigherRank", []*V{p(-1, 1, 1, 1, 1), p(-1, 1, 3)}, func(tp *Tp, x []*V) *V { return tp.Mul(x[0], x[1]) }, false},
		{"MulOuter", []*V{p(-1, 1, 3, 1), p(-1, 1, 1, 4)}, func(tp *Tp, x []*V) *V { return tp.Mul(x[0], x[1]) }, false},
		{"Mul3D", []*V{p(-1, 1, 2, 3, 4), p(-1, 1, 2, 1, 4)}, func(tp *Tp, x []*V) *V { return tp.Mul(x[0], x[1]) }, false},
		{"Div", []*V{p(-1, 1, 3, 4), p(0.5, 2, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Div(x[0], x[1]) }, false},
		{"DivScalarBroadcast", []*V{p(-1, 1, 3, 4), p(0.5, 2, 1, 1)}, func(tp *Tp, x []*V) *V { return tp.Div(x[0], x[1]) }, false},
		{"DivBroadcastNumerator", []*V{p(-1, 1, 1, 4), p(0.5, 2, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Div(x[0], x[1]) }, false},
		{"DivMiddleBroadcast", []*V{p(-1, 1, 2, 3, 4), p(0.5, 2, 2, 1, 4)}, func(tp *Tp, x []*V) *V { return tp.Div(x[0], x[1]) }, false},
		unaryCase("Exp", -1, 1, func(tp *Tp, x *V) *V { return tp.Exp(x) }),
		unaryCase("Log", 0.5, 2, func(tp *Tp, x *V) *V { return tp.Log(x) }),
		unaryCase("Sqrt", 0.5, 2, func(tp *Tp, x *V) *V { return tp.Sqrt(x) }),
		unaryCase("Abs", -1, 1, func(tp *Tp, x *V) *V { return tp.Abs(x) }),
		unaryCase("Clamp", -1, 1, func(tp *Tp, x *V) *V { return tp.Clamp(x, -0.5, 0.5) }),
		unaryCase("Tanh", -2, 2, func(tp *Tp, x *V) *V { return tp.Tanh(x) }),
		unaryCase("Sigmoid", -3, 3, func(tp *Tp, x *V) *V { return tp.Sigmoid(x) }),
		unaryCase("ReLU", -1, 1, func(tp *Tp, x *V) *V { return tp.ReLU(x) }),
		unaryCase("GELU", -3, 3, func(tp *Tp, x *V) *V { return tp.GELU(x) }),
		unaryCase("Neg", -1, 1, func(tp *Tp, x *V) *V { return tp.Neg(x) }),
		unaryCase("Scale", -1, 1, func(tp *Tp, x *V) *V { return tp.Scale(x, 2.5) }),
		unaryCase("AddScalar", -1, 1, func(tp *Tp, x *V) *V { return tp.AddScalar(x, 2.5) }),
		unaryCase("Square", -1, 1, func(tp *Tp, x *V) *V { return tp.Square(x) }),
		unaryCase("Pow", 0.5, 2, func(tp *Tp, x *V) *V { return tp.Pow(x, 1.7) }),
		unaryCase("Softmax0", -2, 2, func(tp *Tp, x *V) *V { return tp.Softmax(x, 0) }),
		unaryCase("Softmax1", -2, 2, func(tp *Tp, x *V) *V { return tp.Softmax(x, 1) }),
		unaryCase("LogSoftmax0", -2, 2, func(tp *Tp, x *V) *V { return tp.LogSoftmax(x, 0) }),
		unaryCase("LogSoftmax1", -2, 2, func(tp *Tp, x *V) *V { return tp.LogSoftmax(x, -1) }),
		unaryCase("LogSumExp0", -2, 2, func(tp *Tp, x *V) *V { return tp.LogSumExp(x, 0) }),
		unaryCase("LogSumExp1", -2, 2, func(tp *Tp, x *V) *V { return tp.LogSumExp(x, 1) }),
		{"Softmax3DMiddle", []*V{p(-2, 2, 2, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Softmax(x[0], 1) }, false},
		unaryCase("SumAll", -1, 1, func(tp *Tp, x *V) *V { return tp.Sum(x) }),
		unaryCase("Sum0", -1, 1, func(tp *Tp, x *V) *V { return tp.Sum(x, 0) }),
		unaryCase("Sum1", -1, 1, func(tp *Tp, x *V) *V { return tp.Sum(x, 1) }),
		{"Sum3DAxes02", []*V{p(-1, 1, 2, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Sum(x[0], 0, 2) }, false},
		{"Mean3DAxis1", []*V{p(-1, 1, 2, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Mean(x[0], 1) }, false},
		unaryCase("MeanAll", -1, 1, func(tp *Tp, x *V) *V { return tp.Mean(x) }),
		unaryCase("Max0", -1, 1, func(tp *Tp, x *V) *V { return tp.Max(x, 0) }),
		unaryCase("Max1", -1, 1, func(tp *Tp, x *V) *V { return tp.Max(x, 1) }),
		unaryCase("MaxAll", -1, 1, func(tp *Tp, x *V) *V { return tp.Max(x) }),
		{"Concat0", []*V{p(-1, 1, 2, 4), p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Concat(0, x[0], x[1]) }, false},
		{"Concat1", []*V{p(-1, 1, 3, 2), p(-1, 1, 3, 4), p(-1, 1, 3, 1)}, func(tp *Tp, x []*V) *V { return tp.Concat(1, x[0], x[1], x[2]) }, false},
		{"Split", []*V{p(-1, 1, 3, 6)}, func(tp *Tp, x []*V) *V {
			parts := tp.Split(x[0], 1, 2, 4)
			return tp.Add(tp.Sum(parts[0], 1), tp.Sum(tp.Square(parts[1]), 1))
		}, false},
		{"Slice", []*V{p(-1, 1, 2, 5, 3)}, func(tp *Tp, x []*V) *V { return tp.Slice(x[0], 1, 1, 4) }, false},
		{"Reshape", []*V{p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Square(tp.Reshape(x[0], 2, -1)) }, false},
		{"Transpose2D", []*V{p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Transpose(x[0]) }, false},
		{"Transpose3D", []*V{p(-1, 1, 2, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Transpose(x[0], 1, 2, 0) }, false},
		{"IndexSelect0", []*V{p(-1, 1, 4, 3)}, func(tp *Tp, x []*V) *V { return tp.IndexSelect(x[0], 0, []int{2, 0, 2, 3}) }, false},
		{"IndexSelect1", []*V{p(-1, 1, 2, 4, 3)}, func(tp *Tp, x []*V) *V { return tp.IndexSelect(x[0], 1, []int{1, 1, 3}) }, false},
		{"L2Normalize", []*V{p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.L2Normalize(x[0], 1, 1e-12) }, false},
		{"L2NormalizeAxis0", []*V{p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.L2Normalize(x[0], 0, 1e-12) }, false},
		{"CosineSimilarity", []*V{p(-1, 1, 3, 4), p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.CosineSimilarity(x[0], x[1], 1, 1e-8) }, false},
		{"Pearson", []*V{p(-1, 1, 6, 1), p(-1, 1, 6, 1)}, func(tp *Tp, x []*V) *V { return tp.Pearson(x[0], x[1], 1e-8) }, false},
		{"DropoutTrain", []*V{p(-1, 1, 4, 5)}, func(tp *Tp, x []*V) *V { return tp.Dropout(x[0], 0.3) }, true},
		{"DropoutEval", []*V{p(-1, 1, 4, 5)}, func(tp *Tp, x []*V) *V { return tp.Tanh(tp.Dropout(x[0], 0.3)) }, false},
		{"FanOut", []*V{p(-1, 1, 3, 4)}, func(tp *Tp, x []*V) *V { return tp.Mul(tp.Tanh(x[0]), tp.Exp(x[0])) }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			agtest.Gradients(t, func(tp *Tp) *V { return c.f(tp, c.params) }, c.params, agtest.Options{Train: c.train, Seed: 3})
		})
	}
}

// TestStopGradient checks that no gradient passes through StopGradient
// while the other operand still gets its own.
func TestStopGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	x, y := agtest.Param(r, -1, 1, 3, 4), agtest.Param(r, -1, 1, 3, 4)
	agtest.Gradients(t, func(tp *Tp) *V { return tp.Mul(x, tp.StopGradient(y)) }, []*V{x}, agtest.Options{})
	for i, g := range y.Grad() {
		if g != 0 {
			t.Fatalf("gradient %v reached the stopped variable at %d", g, i)
		}
	}
}

// TestLayerOpGradients checks the fused layer operations.
func TestLayerOpGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	p := func(lo, hi float64, shape ...int) *V { return agtest.Param(r, lo, hi, shape...) }
	runMean, runVar := []float64{0.1, -0.2, 0.3}, []float64{1.5, 0.7, 1.1}
	type tc struct {
		name   string
		params []*V
		f      func(tp *Tp, x []*V) *V
		train  bool
	}
	cases := []tc{
		{"Conv1d", []*V{p(-1, 1, 2, 3, 11), p(-1, 1, 4, 3, 3), p(-1, 1, 4)}, func(tp *Tp, x []*V) *V {
			return tp.Conv1d(x[0], x[1], x[2], ag.ConvParams{})
		}, false},
		{"Conv1dStridePadDilation", []*V{p(-1, 1, 2, 3, 13), p(-1, 1, 4, 3, 3), p(-1, 1, 4)}, func(tp *Tp, x []*V) *V {
			return tp.Conv1d(x[0], x[1], x[2], ag.ConvParams{Stride: 2, Padding: 2, Dilation: 2})
		}, false},
		{"Conv1dNoBias", []*V{p(-1, 1, 2, 1, 9), p(-1, 1, 2, 1, 4)}, func(tp *Tp, x []*V) *V {
			return tp.Conv1d(x[0], x[1], nil, ag.ConvParams{Stride: 3})
		}, false},
		{"Conv2d", []*V{p(-1, 1, 2, 2, 5, 6), p(-1, 1, 3, 2, 3, 3), p(-1, 1, 3)}, func(tp *Tp, x []*V) *V {
			return tp.Conv2d(x[0], x[1], x[2], ag.ConvParams{Padding: 1})
		}, false},
		{"Conv2dStride2", []*V{p(-1, 1, 2, 2, 7, 6), p(-1, 1, 3, 2, 3, 3), p(-1, 1, 3)}, func(tp *Tp, x []*V) *V {
			return tp.Conv2d(x[0], x[1], x[2], ag.ConvParams{Stride: 2, Padding: 1})
		}, false},
		{"BatchNormTrain2D", []*V{p(-1, 1, 5, 3), p(0.5, 1.5, 3), p(-1, 1, 3)}, func(tp *Tp, x []*V) *V {
			return tp.Tanh(tp.BatchNorm(x[0], x[1], x[2], append([]float64(nil), runMean...), append([]float64(nil), runVar...), 0.1, 1e-5))
		}, true},
		{"BatchNormTrain4D", []*V{p(-1, 1, 2, 3, 2, 2), p(0.5, 1.5, 3), p(-1, 1, 3)}, func(tp *Tp, x []*V) *V {
			return tp.Tanh(tp.BatchNorm(x[0], x[1], x[2], nil, nil, 0.1, 1e-5))
		}, true},
		{"BatchNormEval", []*V{p(-1, 1, 4, 3, 2), p(0.5, 1.5, 3), p(-1, 1, 3)}, func(tp *Tp, x []*V) *V {
			return tp.BatchNorm(x[0], x[1], x[2], runMean, runVar, 0.1, 1e-5)
		}, false},
		{"LayerNorm", []*V{p(-1, 1, 3, 5), p(0.5, 1.5, 5), p(-1, 1, 5)}, func(tp *Tp, x []*V) *V {
			return tp.Tanh(tp.LayerNorm(x[0], x[1], x[2], 1e-5))
		}, false},
		{"LayerNormNoAffine", []*V{p(-1, 1, 2, 3, 4)}, func(tp *Tp, x []*V) *V {
			return tp.Tanh(tp.LayerNorm(x[0], nil, nil, 1e-5))
		}, false},
		{"MaxPool1d", []*V{p(-1, 1, 2, 3, 8)}, func(tp *Tp, x []*V) *V { return tp.MaxPool1d(x[0], 3, 2) }, false},
		{"AvgPool1d", []*V{p(-1, 1, 2, 3, 8)}, func(tp *Tp, x []*V) *V { return tp.AvgPool1d(x[0], 2, 0) }, false},
		{"MaxPool2d", []*V{p(-1, 1, 2, 2, 5, 6)}, func(tp *Tp, x []*V) *V { return tp.MaxPool2d(x[0], 2, 0) }, false},
		{"AvgPool2d", []*V{p(-1, 1, 2, 2, 5, 5)}, func(tp *Tp, x []*V) *V { return tp.AvgPool2d(x[0], 3, 1) }, false},
		{"LSTM", []*V{p(-1, 1, 2, 4, 3), p(-0.5, 0.5, 8, 3), p(-0.5, 0.5, 8, 2), p(-0.5, 0.5, 8), p(-0.5, 0.5, 8)}, func(tp *Tp, x []*V) *V {
			return tp.LSTM(x[0], x[1], x[2], x[3], x[4], false)
		}, false},
		{"LSTMReverse", []*V{p(-1, 1, 2, 4, 3), p(-0.5, 0.5, 8, 3), p(-0.5, 0.5, 8, 2), p(-0.5, 0.5, 8), p(-0.5, 0.5, 8)}, func(tp *Tp, x []*V) *V {
			return tp.LSTM(x[0], x[1], x[2], x[3], x[4], true)
		}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			agtest.Gradients(t, func(tp *Tp) *V { return c.f(tp, c.params) }, c.params, agtest.Options{Train: c.train, Seed: 3})
		})
	}
}
