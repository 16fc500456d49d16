package model

import (
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/nn"
)

// buildEncoder returns a layer that maps a batch of inputs (B×shape) to
// B×out.
func buildEncoder[T nn.Float](e Encoder, shape []int, out int, r *rand.Rand) nn.Layer[T] {
	var layers []nn.Layer[T]
	add := func(l ...nn.Layer[T]) { layers = append(layers, l...) }
	var width int // feature size after the type-specific part
	switch e.Type {
	case EncMLP:
		add(nn.Flatten[T]())
		width = prod(shape)
	case EncConv1d, EncConvBiLSTM:
		c, l := shape[0], shape[1]
		for i, ch := range e.Channels {
			k, s := e.Kernels[i], e.Strides[i]
			p := ag.ConvParams{Stride: s, Padding: k / 2}
			add(nn.NewConv1d[T](c, ch, k, p, true, r))
			if e.BatchNorm {
				add(nn.NewBatchNorm[T](ch))
			}
			add(nn.ReLU[T]())
			c, l = ch, (l+2*(k/2)-k)/s+1
		}
		if e.Type == EncConvBiLSTM {
			add(nn.Func[T](func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.Transpose(x, 0, 2, 1) })) // B×L×C
			lstm := nn.NewLSTM[T](c, e.LSTMHidden, e.LSTMLayers, true, e.Dropout, r)
			add(lstm, nn.NewAttentionPool[T](lstm.OutputSize(), 0, r))
			width = lstm.OutputSize()
		} else {
			width = add1dPool(&layers, e.Pool, c, l)
		}
	case EncConv2d, EncResNet:
		c, h, w := shape[0], shape[1], shape[2]
		for i, ch := range e.Channels {
			k, s := e.Kernels[i], e.Strides[i]
			p := ag.ConvParams{Stride: s, Padding: k / 2}
			oh, ow := (h+2*(k/2)-k)/s+1, (w+2*(k/2)-k)/s+1
			if e.Type == EncResNet {
				add(resBlock[T](c, ch, k, s, r))
			} else {
				add(nn.NewConv2d[T](c, ch, k, p, true, r))
				if e.BatchNorm {
					add(nn.NewBatchNorm[T](ch))
				}
				add(nn.ReLU[T]())
			}
			c, h, w = ch, oh, ow
		}
		if e.SpatialAttention {
			add(&spatialAttention[T]{Conv: nn.NewConv2d[T](c, 1, 1, ag.ConvParams{}, true, r)})
		}
		switch e.Pool {
		case "mean":
			add(nn.MeanOver[T](2, 3))
			width = c
		case "max":
			add(nn.Func[T](func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.Reshape(tp.Max(x, 2, 3), x.Dim(0), x.Dim(1)) }))
			width = c
		default:
			add(nn.Flatten[T]())
			width = c * h * w
		}
	case EncBiLSTM:
		lstm := nn.NewLSTM[T](shape[1], e.LSTMHidden, e.LSTMLayers, true, e.Dropout, r)
		add(lstm, nn.NewAttentionPool[T](lstm.OutputSize(), 0, r))
		width = lstm.OutputSize()
	}
	for _, h := range e.Hidden {
		add(nn.NewDense[T](width, h, true, r))
		if e.BatchNorm {
			add(nn.NewBatchNorm[T](h))
		}
		add(nn.ReLU[T]())
		if e.Dropout > 0 {
			add(nn.Dropout[T](e.Dropout))
		}
		width = h
	}
	add(nn.NewDense[T](width, out, true, r))
	return nn.NewSequential(layers...)
}

// add1dPool appends the pooling of a B×C×L map and returns the feature size.
func add1dPool[T nn.Float](layers *[]nn.Layer[T], pool string, c, l int) int {
	switch pool {
	case "mean":
		*layers = append(*layers, nn.MeanOver[T](2))
		return c
	case "max":
		*layers = append(*layers, nn.Func[T](func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.Reshape(tp.Max(x, 2), x.Dim(0), x.Dim(1)) }))
		return c
	}
	*layers = append(*layers, nn.Flatten[T]())
	return c * l
}

// resBlock is conv(k, stride s) → BN → ReLU → conv(k) → BN, plus a
// shortcut (1×1 conv and BN when the shape changes), then ReLU.
func resBlock[T nn.Float](cin, cout, k, s int, r *rand.Rand) nn.Layer[T] {
	pad := ag.ConvParams{Stride: s, Padding: k / 2}
	body := nn.NewSequential[T](
		nn.NewConv2d[T](cin, cout, k, pad, false, r), nn.NewBatchNorm[T](cout), nn.ReLU[T](),
		nn.NewConv2d[T](cout, cout, k, ag.ConvParams{Padding: k / 2}, false, r), nn.NewBatchNorm[T](cout))
	var short nn.Layer[T]
	if cin != cout || s != 1 {
		short = nn.NewSequential[T](nn.NewConv2d[T](cin, cout, 1, ag.ConvParams{Stride: s}, false, r), nn.NewBatchNorm[T](cout))
	}
	return nn.NewSequential[T](&nn.Residual[T]{Body: body, Shortcut: short}, nn.ReLU[T]())
}

// spatialAttention multiplies a B×C×H×W map by sigmoid(Conv(x)), a
// B×1×H×W mask.
type spatialAttention[T nn.Float] struct {
	Conv *nn.Conv2d[T]
}

func (a *spatialAttention[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	return tp.Mul(x, tp.Sigmoid(a.Conv.Forward(tp, x)))
}

func (a *spatialAttention[T]) Params() []nn.Named[T] { return nn.Prefix("conv", a.Conv.Params()) }

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
