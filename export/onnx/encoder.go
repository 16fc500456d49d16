package onnx

import (
	"fmt"
	"math"
	"strings"

	"github.com/fdrmfl/fdrmfl/model"
)

// seq walks the layers of one nn.Sequential, whose parameters are named
// <prefix>.<index>.*; every layer, with parameters or not, takes an index.
type seq struct {
	b      *builder
	prefix string
	i      int
}

// next returns the name prefix of the next layer and moves past it.
func (s *seq) next() string {
	p := fmt.Sprintf("%s.%d", s.prefix, s.i)
	s.i++
	return p
}

// dense is y = x·Wᵀ + b (Gemm with transB) for x N×in.
func (s *seq) dense(x string, in, out int) string {
	p := s.next()
	w := s.b.param(p+".weight", out, in)
	bias := s.b.param(p+".bias", out)
	return s.b.op("Gemm", []string{x, w, bias}, intAttr("transB", 1))
}

// batchNorm is batch normalisation in evaluation mode folded into a
// per-channel affine map: y = x·γ/√(σ²+ε) + (β − μ·γ/√(σ²+ε)), over the
// channel axis 1 of an input of the given rank.
func (s *seq) batchNorm(x string, c, rank int) string {
	return batchNorm(s.b, s.next(), x, c, rank)
}

func batchNorm(b *builder, p, x string, c, rank int) string {
	g, beta := b.weight(p+".weight", c), b.weight(p+".bias", c)
	mean, v := b.weight(p+".running_mean", c), b.weight(p+".running_var", c)
	if b.err != nil {
		return ""
	}
	scale, shift := make([]float32, c), make([]float32, c)
	for j := range c {
		is := 1 / math.Sqrt(float64(v[j])+bnEps)
		scale[j] = float32(float64(g[j]) * is)
		shift[j] = float32(float64(beta[j]) - float64(mean[j])*float64(g[j])*is)
	}
	shape := []int{c}
	for range rank - 2 {
		shape = append(shape, 1)
	}
	y := b.mul(x, b.init(p+".scale", shape, scale))
	return b.add(y, b.init(p+".shift", shape, shift))
}

// bnEps is the ε of nn.BatchNorm and nn.LayerNorm.
const bnEps = 1e-5

func (s *seq) relu(x string) string {
	s.next()
	return s.b.relu(x)
}

// skip passes over a layer that is the identity in evaluation mode
// (dropout).
func (s *seq) skip(x string) string {
	s.next()
	return x
}

// mlpTail is dense → [batch norm] → ReLU → [dropout] per hidden size, then
// the final dense layer to out (model.mlp and the end of every encoder).
func (s *seq) mlpTail(x string, in int, hidden []int, out int, bn bool, dropout float64) string {
	for _, h := range hidden {
		x = s.dense(x, in, h)
		if bn {
			x = s.batchNorm(x, h, 2)
		}
		x = s.relu(x)
		if dropout > 0 {
			x = s.skip(x)
		}
		in = h
	}
	return s.dense(x, in, out)
}

// conv adds a convolution of x (N×cin×spatial) with the network's kernel
// cout×cin×k(×k), stride st and padding k/2 (and a bias if bias).
func (s *seq) conv(p, x string, cin, cout, k, st, dims int, bias bool) string {
	return conv(s.b, p, x, cin, cout, k, st, k/2, dims, bias)
}

func conv(b *builder, p, x string, cin, cout, k, st, pad, dims int, bias bool) string {
	shape := []int{cout, cin, k}
	kernel := []int{k}
	strides := []int{st}
	pads := []int{pad, pad}
	if dims == 2 {
		shape = append(shape, k)
		kernel = append(kernel, k)
		strides = append(strides, st)
		pads = append(pads, pad, pad)
	}
	in := []string{x, b.param(p+".weight", shape...)}
	if bias {
		in = append(in, b.param(p+".bias", cout))
	}
	return b.op("Conv", in, ints("kernel_shape", kernel...), ints("pads", pads...), ints("strides", strides...))
}

func outLen(l, k, s int) int { return (l+2*(k/2)-k)/s + 1 }

// encoder compiles the encoder of one modality (model/encoder.go
// buildEncoder) applied to x, N×shape, and returns N×out.
func encoder(b *builder, name string, e model.Encoder, shape []int, x string, out int) string {
	s := &seq{b: b, prefix: "encoders." + name}
	var width int
	switch e.Type {
	case model.EncMLP:
		s.next()
		x = b.op("Flatten", []string{x}, intAttr("axis", 1))
		width = prod(shape)
	case model.EncConv1d, model.EncConvBiLSTM:
		c, l := shape[0], shape[1]
		for i, ch := range e.Channels {
			k, st := e.Kernels[i], e.Strides[i]
			x = s.conv(s.next(), x, c, ch, k, st, 1, true)
			if e.BatchNorm {
				x = s.batchNorm(x, ch, 3)
			}
			x = s.relu(x)
			c, l = ch, outLen(l, k, st)
		}
		if e.Type == model.EncConvBiLSTM {
			s.next()
			x = b.transpose(x, 0, 2, 1) // N×L×C
			x = lstm(b, s.next(), x, l, c, e.LSTMHidden, e.LSTMLayers)
			width = 2 * e.LSTMHidden
			x = attentionPool(b, s.next(), x, l, width)
		} else {
			x, width = pool(b, s, x, e.Pool, c, []int{l})
		}
	case model.EncConv2d, model.EncResNet:
		c, h, w := shape[0], shape[1], shape[2]
		for i, ch := range e.Channels {
			k, st := e.Kernels[i], e.Strides[i]
			if e.Type == model.EncResNet {
				x = resBlock(b, s.next(), x, c, ch, k, st)
			} else {
				x = s.conv(s.next(), x, c, ch, k, st, 2, true)
				if e.BatchNorm {
					x = s.batchNorm(x, ch, 4)
				}
				x = s.relu(x)
			}
			c, h, w = ch, outLen(h, k, st), outLen(w, k, st)
		}
		if e.SpatialAttention {
			p := s.next()
			m := b.op("Sigmoid", []string{conv(b, p+".conv", x, c, 1, 1, 1, 0, 2, true)})
			x = b.mul(x, m)
		}
		x, width = pool(b, s, x, e.Pool, c, []int{h, w})
	case model.EncBiLSTM:
		t, f := shape[0], shape[1]
		x = lstm(b, s.next(), x, t, f, e.LSTMHidden, e.LSTMLayers)
		width = 2 * e.LSTMHidden
		x = attentionPool(b, s.next(), x, t, width)
	default:
		b.fail("encoders.%s: encoder type %q cannot be exported (this version exports %s)", name, e.Type, strings.Join(model.EncoderTypes, ", "))
		return ""
	}
	return s.mlpTail(x, width, e.Hidden, out, e.BatchNorm, e.Dropout)
}

// pool reduces N×C×spatial to N×width: the mean and the flattening are
// exact reshapes and matrix products (which every runtime runs), the
// maximum is ReduceMax.
func pool(b *builder, s *seq, x, kind string, c int, spatial []int) (string, int) {
	s.next()
	n := prod(spatial)
	axes := []int{2}
	if len(spatial) == 2 {
		axes = append(axes, 3)
	}
	switch kind {
	case "mean":
		if len(spatial) == 2 {
			x = b.reshape(x, -1, c, n)
		}
		ones := make([]float32, n)
		for i := range ones {
			ones[i] = float32(1 / float64(n))
		}
		x = b.op("MatMul", []string{x, b.constF("mean_weights", []int{n, 1}, ones...)}) // N×C×1
		return b.reshape(x, -1, c), c
	case "max":
		return b.op("ReduceMax", []string{x}, ints("axes", axes...), intAttr("keepdims", 0)), c
	case "flatten":
		return b.op("Flatten", []string{x}, intAttr("axis", 1)), c * n
	}
	b.fail("%s: pool %q cannot be exported (mean, max or flatten)", s.prefix, kind)
	return "", 0
}

// resBlock is conv(k, stride) → BN → ReLU → conv(k) → BN, plus the
// shortcut (1×1 conv and BN when the shape changes), then ReLU.
func resBlock(b *builder, p, x string, cin, cout, k, st int) string {
	y := conv(b, p+".0.body.0", x, cin, cout, k, st, k/2, 2, false)
	y = b.relu(batchNorm(b, p+".0.body.1", y, cout, 4))
	y = conv(b, p+".0.body.3", y, cout, cout, k, 1, k/2, 2, false)
	y = batchNorm(b, p+".0.body.4", y, cout, 4)
	short := x
	if cin != cout || st != 1 {
		short = batchNorm(b, p+".0.shortcut.1", conv(b, p+".0.shortcut.0", x, cin, cout, 1, st, 0, 2, false), cout, 4)
	}
	return b.relu(b.add(y, short))
}

// lstm compiles a bidirectional nn.LSTM (batch first) over x, N×T×in, to
// N×T×2H: one ONNX LSTM of direction "bidirectional" per layer, with
// PyTorch's gate blocks reordered to ONNX's and both biases kept apart.
func lstm(b *builder, p, x string, t, in, hidden, layers int) string {
	x = b.transpose(x, 1, 0, 2) // T×N×in
	for l := range layers {
		li := in
		if l > 0 {
			li = 2 * hidden
		}
		var w, r, bs []float32
		for _, suf := range []string{"", "_reverse"} {
			name := fmt.Sprintf("%s.%%s_l%d%s", p, l, suf)
			w = append(w, gatesIOFC(b.weight(fmt.Sprintf(name, "weight_ih"), 4*hidden, li), hidden, li)...)
			r = append(r, gatesIOFC(b.weight(fmt.Sprintf(name, "weight_hh"), 4*hidden, hidden), hidden, hidden)...)
			bs = append(bs, gatesIOFC(b.weight(fmt.Sprintf(name, "bias_ih"), 4*hidden), hidden, 1)...)
			bs = append(bs, gatesIOFC(b.weight(fmt.Sprintf(name, "bias_hh"), 4*hidden), hidden, 1)...)
		}
		if b.err != nil {
			return ""
		}
		base := fmt.Sprintf("%s.onnx_l%d", p, l)
		y := b.op("LSTM", []string{x,
			b.init(base+".W", []int{2, 4 * hidden, li}, w),
			b.init(base+".R", []int{2, 4 * hidden, hidden}, r),
			b.init(base+".B", []int{2, 8 * hidden}, bs),
		}, intAttr("hidden_size", hidden), stringAttr("direction", "bidirectional")) // T×2×N×H
		x = b.reshape(b.transpose(y, 0, 2, 1, 3), t, -1, 2*hidden) // T×N×2H, forward first
	}
	return b.transpose(x, 1, 0, 2) // N×T×2H
}

// gatesIOFC reorders the 4 gate blocks of a PyTorch LSTM weight (i, f, g,
// o; each hidden×cols) into ONNX's order i, o, f, c.
func gatesIOFC(w []float32, hidden, cols int) []float32 {
	if w == nil {
		return nil
	}
	blk := hidden * cols
	out := make([]float32, 0, len(w))
	for _, g := range []int{0, 3, 1, 2} {
		out = append(out, w[g*blk:(g+1)*blk]...)
	}
	return out
}

// attentionPool is Σₜ softmaxₜ(xₜ·w + b)·xₜ over x N×T×E, as a batched
// matrix product of the weights with the steps.
func attentionPool(b *builder, p, x string, t, e int) string {
	w := b.weight(p+".score.weight", 1, e)
	if w == nil {
		return ""
	}
	wt := b.init(p+".score.weight_t", []int{e, 1}, w)
	s := b.add(b.op("MatMul", []string{x, wt}), b.param(p+".score.bias", 1)) // N×T×1
	alpha := b.op("Softmax", []string{s}, intAttr("axis", 1))
	y := b.op("MatMul", []string{b.transpose(alpha, 0, 2, 1), x}) // N×1×E
	return b.reshape(y, -1, e)
}
