package onnx

import (
	"math"

	"github.com/fdrmfl/fdrmfl/model"
)

// fuse compiles the fusion of the modality latents hs (each N×e) into the
// input of the fusion MLP (model.Forward). present holds each modality's
// N×1 presence, or "" for all when the inputs are complete.
func (b *builder) fuse(cfg model.Config, hs, present []string) string {
	nm := len(hs)
	complete := present[0] == ""
	switch cfg.Fusion.Type {
	case model.FuseWeighted:
		// w_im = M·a_m·p_im / Σ_m' a_m'·p_im' with a = softmax(logits).
		logits := b.weight("fusion.modality_weights", nm)
		if logits == nil {
			return ""
		}
		a := softmax64(logits)
		parts := make([]string, nm)
		if complete {
			for m := range nm {
				parts[m] = b.mul(hs[m], b.constF("modality_weight", []int{1}, float32(float64(nm)*a[m])))
			}
			return b.op("Concat", parts, intAttr("axis", 1))
		}
		a32 := make([]float32, nm)
		for m := range a {
			a32[m] = float32(a[m])
		}
		p := b.op("Concat", present, intAttr("axis", 1))                             // N×M
		ap := b.mul(p, b.init("fusion.modality_weights.softmax", []int{1, nm}, a32)) // N×M
		sum := b.op("ReduceSum", []string{ap, b.constI(1)}, intAttr("keepdims", 1))
		w := b.mul(b.op("Div", []string{ap, sum}), b.constF("modalities", []int{1}, float32(nm)))
		for m := range nm {
			parts[m] = b.mul(hs[m], b.slice1(w, 1, m, m+1))
		}
		return b.op("Concat", parts, intAttr("axis", 1))
	case model.FuseConcat:
		if complete {
			return b.op("Concat", hs, intAttr("axis", 1))
		}
		parts := make([]string, nm)
		for m := range nm {
			parts[m] = b.mul(hs[m], present[m])
		}
		return b.op("Concat", parts, intAttr("axis", 1))
	case model.FuseAttention:
		return b.attentionFusion(cfg, hs, present)
	}
	b.fail("fusion type %q cannot be exported (weighted, concat or attention)", cfg.Fusion.Type)
	return ""
}

func softmax64(x []float32) []float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, float64(v))
	}
	out := make([]float64, len(x))
	var s float64
	for i, v := range x {
		out[i] = math.Exp(float64(v) - m)
		s += out[i]
	}
	for i := range out {
		out[i] /= s
	}
	return out
}

// attentionFusion is multi-head self-attention over the M modality tokens
// (keys of absent modalities masked with −1e9, as nn.MultiHeadAttention
// does), a residual connection and layer normalisation, then the mean over
// the present tokens.
func (b *builder) attentionFusion(cfg model.Config, hs, present []string) string {
	nm, e, h := len(hs), cfg.Latent, cfg.Fusion.Heads
	dh := e / h
	complete := present[0] == ""
	tokens := make([]string, nm)
	for m := range nm {
		tokens[m] = b.reshape(hs[m], -1, 1, e)
	}
	seq := b.op("Concat", tokens, intAttr("axis", 1)) // N×M×e
	w := b.weight("fusion.attention.in_proj_weight", 3*e, e)
	bias := b.weight("fusion.attention.in_proj_bias", 3*e)
	if b.err != nil {
		return ""
	}
	proj := func(i int, name string) string { // N×M×e → N×H×M×Dh
		wt := transpose2(w[i*e*e:(i+1)*e*e], e, e)
		y := b.op("MatMul", []string{seq, b.init("fusion.attention."+name+"_weight_t", []int{e, e}, wt)})
		y = b.add(y, b.init("fusion.attention."+name+"_bias", []int{e}, bias[i*e:(i+1)*e]))
		return b.transpose(b.reshape(y, -1, nm, h, dh), 0, 2, 1, 3)
	}
	q, k, v := proj(0, "q"), proj(1, "k"), proj(2, "v")
	scores := b.op("MatMul", []string{q, b.transpose(k, 0, 1, 3, 2)}) // N×H×M×M
	scores = b.mul(scores, b.constF("inv_sqrt_dh", []int{1}, float32(1/math.Sqrt(float64(dh)))))
	var p string
	if !complete {
		p = b.op("Concat", present, intAttr("axis", 1)) // N×M
		absent := b.op("Sub", []string{b.constF("one", []int{1}, 1), p})
		mask := b.mul(absent, b.constF("masked", []int{1}, -1e9))
		scores = b.add(scores, b.reshape(mask, -1, 1, 1, nm))
	}
	att := b.op("Softmax", []string{scores}, intAttr("axis", 3))
	ctx := b.op("MatMul", []string{att, v})                  // N×H×M×Dh
	ctx = b.reshape(b.transpose(ctx, 0, 2, 1, 3), -1, nm, e) // N×M×e
	wo := b.weight("fusion.attention.out_proj.weight", e, e)
	if wo == nil {
		return ""
	}
	out := b.op("MatMul", []string{ctx, b.init("fusion.attention.out_proj.weight_t", []int{e, e}, transpose2(wo, e, e))})
	out = b.add(out, b.param("fusion.attention.out_proj.bias", e))
	x := b.layerNorm("fusion.attention_norm", b.add(seq, out), e)
	if complete {
		return b.op("ReduceMean", []string{x}, ints("axes", 1), intAttr("keepdims", 0))
	}
	m3 := b.reshape(p, -1, nm, 1)
	num := b.op("ReduceSum", []string{b.mul(x, m3), b.constI(1)}, intAttr("keepdims", 0)) // N×e
	den := b.op("ReduceSum", []string{m3, b.constI(1)}, intAttr("keepdims", 0))           // N×1
	return b.op("Div", []string{num, den})
}

// layerNorm is (x − μ)/√(σ² + ε)·γ + β over the last axis, with the mean
// μ and biased variance σ² of each row (LayerNormalization itself needs
// operator set 17).
func (b *builder) layerNorm(p, x string, e int) string {
	mu := b.op("ReduceMean", []string{x}, ints("axes", -1), intAttr("keepdims", 1))
	d := b.op("Sub", []string{x, mu})
	variance := b.op("ReduceMean", []string{b.mul(d, d)}, ints("axes", -1), intAttr("keepdims", 1))
	sd := b.op("Sqrt", []string{b.add(variance, b.constF("eps", []int{1}, bnEps))})
	y := b.op("Div", []string{d, sd})
	return b.add(b.mul(y, b.param(p+".weight", e)), b.param(p+".bias", e))
}

// transpose2 returns the r×c row-major matrix w transposed (c×r).
func transpose2(w []float32, r, c int) []float32 {
	out := make([]float32, len(w))
	for i := range r {
		for j := range c {
			out[j*r+i] = w[i*c+j]
		}
	}
	return out
}
