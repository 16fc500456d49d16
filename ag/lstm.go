package ag

import "fmt"

// LSTM runs one direction of one long short-term memory layer over the
// sequence x (B×T×In) from zero initial state and returns every hidden
// state, B×T×H, as torch.nn.LSTM does for one layer and direction:
//
//	(i, f, g, o) = (σ, σ, tanh, σ)(xₜ·W_ihᵀ + b_ih + hₜ₋₁·W_hhᵀ + b_hh)
//	cₜ = f⊙cₜ₋₁ + i⊙g,  hₜ = o⊙tanh(cₜ)
//
// wih is 4H×In, whh is 4H×H, and bih, bhh have 4H elements (either may be
// nil), with the gates stacked in the order i, f, g, o. With reverse the
// sequence is read from the last step to the first, and output step t
// still belongs to input step t.
func (tp *Tape[T]) LSTM(x, wih, whh, bih, bhh *Var[T], reverse bool) *Var[T] {
	if x.Rank() != 3 || wih.Rank() != 2 || whh.Rank() != 2 {
		panic(fmt.Sprintf("ag.LSTM: input %v, weights %v and %v must be B×T×In, 4H×In and 4H×H", x.shape, wih.shape, whh.shape))
	}
	bs, steps, in := x.shape[0], x.shape[1], x.shape[2]
	hid := whh.shape[1]
	gs := 4 * hid
	if wih.shape[0] != gs || wih.shape[1] != in || whh.shape[0] != gs {
		panic(fmt.Sprintf("ag.LSTM: input %v does not fit weights %v and %v (want 4H×In and 4H×H)", x.shape, wih.shape, whh.shape))
	}
	for _, b := range []*Var[T]{bih, bhh} {
		if b != nil && b.Len() != gs {
			panic(fmt.Sprintf("ag.LSTM: bias %v does not fit weight %v", b.shape, whh.shape))
		}
	}
	need := x.needGrad || wih.needGrad || whh.needGrad || (bih != nil && bih.needGrad) || (bhh != nil && bhh.needGrad)
	out := tp.newVar([]int{bs, steps, hid}, need)
	hs := out.data
	gates := tp.Buffer(bs * steps * gs) // after activation
	cs := tp.Buffer(bs * steps * hid)
	tcs := tp.Buffer(bs * steps * hid) // tanh(c)

	// Input projections for every step at once, plus both biases.
	for r := range bs * steps {
		row := gates[r*gs : (r+1)*gs]
		clear(row)
		for _, b := range []*Var[T]{bih, bhh} {
			if b != nil {
				for j, v := range b.data {
					row[j] += v
				}
			}
		}
	}
	gemm(false, true, bs*steps, gs, in, 1, x.data, in, wih.data, in, 1, gates, gs)

	order := func(k int) int { // the k-th step processed
		if reverse {
			return steps - 1 - k
		}
		return k
	}
	for k := range steps {
		t := order(k)
		if k > 0 {
			tp0 := order(k - 1)
			gemm(false, true, bs, gs, hid, 1, hs[tp0*hid:], steps*hid, whh.data, hid, 1, gates[t*gs:], steps*gs)
		}
		for b := range bs {
			r := b*steps + t
			gt := gates[r*gs : (r+1)*gs]
			c, tc, h := cs[r*hid:(r+1)*hid], tcs[r*hid:(r+1)*hid], hs[r*hid:(r+1)*hid]
			var cprev []T
			if k > 0 {
				rp := b*steps + order(k-1)
				cprev = cs[rp*hid : (rp+1)*hid]
			}
			sigmoidInto(gt[:2*hid], gt[:2*hid]) // i, f
			tanhInto(gt[2*hid:3*hid], gt[2*hid:3*hid])
			sigmoidInto(gt[3*hid:], gt[3*hid:]) // o
			ig, fg, gg, og := gt[:hid], gt[hid:2*hid], gt[2*hid:3*hid], gt[3*hid:4*hid]
			for j := range hid {
				cv := ig[j] * gg[j]
				if cprev != nil {
					cv += fg[j] * cprev[j]
				}
				c[j] = cv
			}
			tanhInto(tc, c)
			for j := range hid {
				h[j] = og[j] * tc[j]
			}
		}
	}
	tp.record(out, func(gy []T) {
		dg := tp.Buffer(bs * steps * gs) // gradients before activation
		dh := tp.allocZero(bs * hid)     // dL/dh from the later step
		dc := tp.allocZero(bs * hid)
		for k := steps - 1; k >= 0; k-- {
			t := order(k)
			for b := range bs {
				r := b*steps + t
				gt, d := gates[r*gs:(r+1)*gs], dg[r*gs:(r+1)*gs]
				tc := tcs[r*hid : (r+1)*hid]
				dhb, dcb := dh[b*hid:(b+1)*hid], dc[b*hid:(b+1)*hid]
				var cprev []T
				if k > 0 {
					rp := b*steps + order(k-1)
					cprev = cs[rp*hid : (rp+1)*hid]
				}
				for j := range hid {
					ig, fg, gg, og := gt[j], gt[hid+j], gt[2*hid+j], gt[3*hid+j]
					dhj := gy[r*hid+j] + dhb[j]
					dcj := dhj*og*(1-tc[j]*tc[j]) + dcb[j]
					var cp T
					if cprev != nil {
						cp = cprev[j]
					}
					d[j] = dcj * gg * ig * (1 - ig)
					d[hid+j] = dcj * cp * fg * (1 - fg)
					d[2*hid+j] = dcj * ig * (1 - gg*gg)
					d[3*hid+j] = dhj * tc[j] * og * (1 - og)
					dcb[j] = dcj * fg
				}
			}
			if k > 0 { // dh for the earlier step = dgatesₜ·W_hh
				gemm(false, false, bs, hid, gs, 1, dg[t*gs:], steps*gs, whh.data, hid, 0, dh, hid)
			}
		}
		if whh.needGrad && steps > 1 { // dW_hh += Σₜ dgatesₜᵀ·hₜ₋₁
			hprev := tp.allocZero(bs * steps * hid)
			for k := 1; k < steps; k++ {
				t, tp0 := order(k), order(k-1)
				for b := range bs {
					copy(hprev[(b*steps+t)*hid:(b*steps+t+1)*hid], hs[(b*steps+tp0)*hid:(b*steps+tp0+1)*hid])
				}
			}
			gemm(true, false, gs, hid, bs*steps, 1, dg, gs, hprev, hid, 1, tp.gradOf(whh), hid)
		}
		if wih.needGrad {
			gemm(true, false, gs, in, bs*steps, 1, dg, gs, x.data, in, 1, tp.gradOf(wih), in)
		}
		for _, b := range []*Var[T]{bih, bhh} {
			if b != nil && b.needGrad {
				gb := tp.gradOf(b)
				for r := range bs * steps {
					for j, v := range dg[r*gs : (r+1)*gs] {
						gb[j] += v
					}
				}
			}
		}
		if x.needGrad {
			gemm(false, false, bs*steps, in, gs, 1, dg, gs, wih.data, in, 1, tp.gradOf(x), in)
		}
	})
	return out
}
