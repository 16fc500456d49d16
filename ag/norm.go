package ag

import (
	"fmt"
	"math"
)

// BatchNorm normalises x per channel, as torch.nn.functional.batch_norm.
// x is B×C, B×C×L or B×C×H×W; statistics are taken over every axis but the
// channel axis 1. gamma and beta (C elements each, or nil for 1 and 0) are
// the affine parameters.
//
// In training mode (tp.Train) it uses the batch mean μ and biased variance
// σ² and, when runMean and runVar are not nil, updates them in place:
// run ← (1−momentum)·run + momentum·stat, with the unbiased variance for
// runVar. In evaluation mode it uses runMean and runVar. Then
// y = gamma·(x−μ)/√(σ²+eps) + beta.
func (tp *Tape[T]) BatchNorm(x, gamma, beta *Var[T], runMean, runVar []T, momentum, eps float64) *Var[T] {
	if x.Rank() < 2 {
		panic(fmt.Sprintf("ag.BatchNorm: input %v needs a batch and a channel axis", x.shape))
	}
	c := x.shape[1]
	for _, p := range []*Var[T]{gamma, beta} {
		if p != nil && p.Len() != c {
			panic(fmt.Sprintf("ag.BatchNorm: affine parameter %v does not fit input %v with %d channels", p.shape, x.shape, c))
		}
	}
	if (runMean != nil && len(runMean) != c) || (runVar != nil && len(runVar) != c) {
		panic(fmt.Sprintf("ag.BatchNorm: running statistics of %d and %d elements for input %v", len(runMean), len(runVar), x.shape))
	}
	bs, inner := x.shape[0], x.Len()/(x.shape[0]*c)
	cnt := bs * inner
	train := tp.Train
	if !train && (runMean == nil || runVar == nil) {
		train = true // no running statistics: always use the batch's (track_running_stats=False)
	}
	if train && cnt < 2 {
		panic(fmt.Sprintf("ag.BatchNorm: input %v has one value per channel; batch statistics need at least two", x.shape))
	}
	need := x.needGrad || (gamma != nil && gamma.needGrad) || (beta != nil && beta.needGrad)
	if inner == 1 {
		return tp.batchNormRows(x, gamma, beta, runMean, runVar, momentum, eps, train, need)
	}
	out := tp.newVar(x.shape, need)
	xhat := tp.Buffer(x.Len())
	invStd := tp.Buffer(c)
	for ch := range c {
		block := func(s int) (int, int) { return (s*c + ch) * inner, (s*c + ch + 1) * inner }
		var mean, variance float64
		if train {
			for s := range bs {
				a, b := block(s)
				sum, _ := sumDot(x.data[a:b], x.data[a:b])
				mean += float64(sum)
			}
			mean /= float64(cnt)
			for s := range bs { // centred values, then their squares (two passes: no cancellation)
				a, b := block(s)
				affine(xhat[a:b], x.data[a:b], 1, T(-mean))
				_, ss := sumDot(xhat[a:b], xhat[a:b])
				variance += float64(ss)
			}
			variance /= float64(cnt)
			if runMean != nil && runVar != nil {
				runMean[ch] = T((1-momentum)*float64(runMean[ch]) + momentum*mean)
				runVar[ch] = T((1-momentum)*float64(runVar[ch]) + momentum*variance*float64(cnt)/float64(cnt-1))
			}
		} else {
			mean, variance = float64(runMean[ch]), float64(runVar[ch])
		}
		is := 1 / math.Sqrt(variance+eps)
		invStd[ch] = T(is)
		gm, bt := T(1), T(0)
		if gamma != nil {
			gm = gamma.data[ch]
		}
		if beta != nil {
			bt = beta.data[ch]
		}
		for s := range bs {
			a, b := block(s)
			if train {
				affine(xhat[a:b], xhat[a:b], T(is), 0)
			} else {
				affine(xhat[a:b], x.data[a:b], T(is), T(-mean*is))
			}
			affine(out.data[a:b], xhat[a:b], gm, bt)
		}
	}
	tp.record(out, func(g []T) {
		var gx []T
		if x.needGrad {
			gx = tp.gradOf(x)
		}
		for ch := range c {
			var sg, sgx T // sums of g and g·x̂ over the channel
			for s := range bs {
				o := (s*c + ch) * inner
				a, b := sumDot(g[o:o+inner], xhat[o:o+inner])
				sg += a
				sgx += b
			}
			if gamma != nil && gamma.needGrad {
				tp.gradOf(gamma)[ch] += sgx
			}
			if beta != nil && beta.needGrad {
				tp.gradOf(beta)[ch] += sg
			}
			if gx == nil {
				continue
			}
			gm := T(1)
			if gamma != nil {
				gm = gamma.data[ch]
			}
			// Training: dx = γ/σ·(g − mean(g) − x̂·mean(g·x̂)); evaluation,
			// where the statistics are constants: dx = γ/σ·g.
			k, mg, mgx := gm*invStd[ch], sg/T(cnt), sgx/T(cnt)
			if !train {
				mg, mgx = 0, 0
			}
			for s := range bs {
				o := (s*c + ch) * inner
				normBackward(gx[o:o+inner], g[o:o+inner], xhat[o:o+inner], k, mg, mgx)
			}
		}
	})
	return out
}

// LayerNorm normalises x over its last axis, as
// torch.nn.functional.layer_norm: y = gamma·(x−μ)/√(σ²+eps) + beta with
// the mean μ and biased variance σ² of each row; gamma and beta have the
// size of the last axis (nil for 1 and 0).
func (tp *Tape[T]) LayerNorm(x, gamma, beta *Var[T], eps float64) *Var[T] {
	d := x.shape[len(x.shape)-1]
	for _, p := range []*Var[T]{gamma, beta} {
		if p != nil && p.Len() != d {
			panic(fmt.Sprintf("ag.LayerNorm: affine parameter %v does not fit input %v", p.shape, x.shape))
		}
	}
	rows := x.Len() / d
	need := x.needGrad || (gamma != nil && gamma.needGrad) || (beta != nil && beta.needGrad)
	out := tp.newVar(x.shape, need)
	xhat := tp.Buffer(x.Len())
	invStd := tp.Buffer(rows)
	for r := range rows {
		xs := x.data[r*d : (r+1)*d]
		var mean, variance float64
		for _, v := range xs {
			mean += float64(v)
		}
		mean /= float64(d)
		for _, v := range xs {
			dv := float64(v) - mean
			variance += dv * dv
		}
		variance /= float64(d)
		is := T(1 / math.Sqrt(variance+eps))
		invStd[r] = is
		m := T(mean)
		xh, y := xhat[r*d:(r+1)*d], out.data[r*d:(r+1)*d]
		for i, v := range xs {
			h := (v - m) * is
			xh[i] = h
			gm, bt := T(1), T(0)
			if gamma != nil {
				gm = gamma.data[i]
			}
			if beta != nil {
				bt = beta.data[i]
			}
			y[i] = gm*h + bt
		}
	}
	tp.record(out, func(g []T) {
		var gg, gb []T
		if gamma != nil && gamma.needGrad {
			gg = tp.gradOf(gamma)
		}
		if beta != nil && beta.needGrad {
			gb = tp.gradOf(beta)
		}
		var gx []T
		if x.needGrad {
			gx = tp.gradOf(x)
		}
		for r := range rows {
			gr, xh := g[r*d:(r+1)*d], xhat[r*d:(r+1)*d]
			var sg, sgx T // sums of ĝ = g·gamma and ĝ·x̂
			for i, v := range gr {
				if gg != nil {
					gg[i] += v * xh[i]
				}
				if gb != nil {
					gb[i] += v
				}
				if gamma != nil {
					v *= gamma.data[i]
				}
				sg += v
				sgx += v * xh[i]
			}
			if gx == nil {
				continue
			}
			mg, mgx := sg/T(d), sgx/T(d)
			is := invStd[r]
			for i, v := range gr {
				if gamma != nil {
					v *= gamma.data[i]
				}
				gx[r*d+i] += is * (v - mg - xh[i]*mgx)
			}
		}
	})
	return out
}

// batchNormRows is BatchNorm for B×C inputs, where each channel has one
// value per sample: the statistics run down columns, so the loops go
// along rows.
func (tp *Tape[T]) batchNormRows(x, gamma, beta *Var[T], runMean, runVar []T, momentum, eps float64, train, need bool) *Var[T] {
	bs, c := x.shape[0], x.shape[1]
	out := tp.newVar(x.shape, need)
	xhat := tp.Buffer(x.Len())
	invStd := tp.Buffer(c)
	mean := make([]float64, c)
	variance := make([]float64, c)
	if train {
		for s := range bs {
			for ch, v := range x.data[s*c : (s+1)*c] {
				mean[ch] += float64(v)
			}
		}
		for ch := range mean {
			mean[ch] /= float64(bs)
		}
		for s := range bs {
			for ch, v := range x.data[s*c : (s+1)*c] {
				d := float64(v) - mean[ch]
				variance[ch] += d * d
			}
		}
		for ch := range variance {
			variance[ch] /= float64(bs)
			if runMean != nil && runVar != nil {
				runMean[ch] = T((1-momentum)*float64(runMean[ch]) + momentum*mean[ch])
				runVar[ch] = T((1-momentum)*float64(runVar[ch]) + momentum*variance[ch]*float64(bs)/float64(bs-1))
			}
		}
	} else {
		for ch := range c {
			mean[ch], variance[ch] = float64(runMean[ch]), float64(runVar[ch])
		}
	}
	m := tp.Buffer(c)
	gm, bt := tp.Buffer(c), tp.Buffer(c)
	for ch := range c {
		invStd[ch] = T(1 / math.Sqrt(variance[ch]+eps))
		m[ch] = T(mean[ch])
		gm[ch], bt[ch] = 1, 0
		if gamma != nil {
			gm[ch] = gamma.data[ch]
		}
		if beta != nil {
			bt[ch] = beta.data[ch]
		}
	}
	for s := range bs {
		xs, xh, y := x.data[s*c:(s+1)*c], xhat[s*c:(s+1)*c], out.data[s*c:(s+1)*c]
		for ch, v := range xs {
			h := (v - m[ch]) * invStd[ch]
			xh[ch] = h
			y[ch] = gm[ch]*h + bt[ch]
		}
	}
	tp.record(out, func(g []T) {
		sg, sgx := tp.allocZero(c), tp.allocZero(c)
		for s := range bs {
			gr, xh := g[s*c:(s+1)*c], xhat[s*c:(s+1)*c]
			for ch, v := range gr {
				sg[ch] += v
				sgx[ch] += v * xh[ch]
			}
		}
		if gamma != nil && gamma.needGrad {
			addTo(tp.gradOf(gamma), sgx)
		}
		if beta != nil && beta.needGrad {
			addTo(tp.gradOf(beta), sg)
		}
		if !x.needGrad {
			return
		}
		gx := tp.gradOf(x)
		k := tp.Buffer(c)
		for ch := range c {
			k[ch] = gm[ch] * invStd[ch]
			if train {
				sg[ch] /= T(bs)
				sgx[ch] /= T(bs)
			} else {
				sg[ch], sgx[ch] = 0, 0
			}
		}
		for s := range bs {
			gr, xh, d := g[s*c:(s+1)*c], xhat[s*c:(s+1)*c], gx[s*c:(s+1)*c]
			for ch, v := range gr {
				d[ch] += k[ch] * (v - sg[ch] - xh[ch]*sgx[ch])
			}
		}
	})
	return out
}
