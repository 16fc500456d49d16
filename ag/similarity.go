package ag

import (
	"fmt"
	"math"
)

// L2Normalize returns x / max(‖x‖₂, eps) along axis (like
// torch.nn.functional.normalize), so rows of a matrix become unit vectors
// when axis is 1.
func (tp *Tape[T]) L2Normalize(x *Var[T], axis int, eps T) *Var[T] {
	_, outer, d, inner := axisSplit("L2Normalize", x.shape, axis)
	out := tp.newVar(x.shape, x.needGrad)
	y, xs := out.data, x.data
	norms := tp.Buffer(outer * inner)
	for o := range outer {
		for i := range inner {
			base := o*d*inner + i
			var s float64
			for j := range d {
				v := float64(xs[base+j*inner])
				s += v * v
			}
			nrm := T(math.Sqrt(s))
			norms[o*inner+i] = nrm
			den := max(nrm, eps)
			for j := range d {
				y[base+j*inner] = xs[base+j*inner] / den
			}
		}
	}
	tp.record(out, func(g []T) {
		// For ‖x‖ > eps: dx = (g − y·⟨g, y⟩)/‖x‖; otherwise dx = g/eps.
		gx := tp.gradOf(x)
		for o := range outer {
			for i := range inner {
				base := o*d*inner + i
				nrm := norms[o*inner+i]
				if nrm <= eps {
					for j := range d {
						gx[base+j*inner] += g[base+j*inner] / eps
					}
					continue
				}
				var dot T
				for j := range d {
					k := base + j*inner
					dot += g[k] * y[k]
				}
				for j := range d {
					k := base + j*inner
					gx[k] += (g[k] - y[k]*dot) / nrm
				}
			}
		}
	})
	return out
}

// CosineSimilarity returns ⟨a, b⟩ / (max(‖a‖, eps)·max(‖b‖, eps)) along
// axis, keeping the axis with size 1: for two B×d matrices and axis 1 the
// result is B×1.
func (tp *Tape[T]) CosineSimilarity(a, b *Var[T], axis int, eps T) *Var[T] {
	sameShape("CosineSimilarity", a.shape, b.shape)
	return tp.Sum(tp.Mul(tp.L2Normalize(a, axis, eps), tp.L2Normalize(b, axis, eps)), axis)
}

// Pearson returns the sample correlation of the elements of a and b (any
// shapes with the same number of elements), as a one-element variable:
//
//	ρ = Σ(aᵢ−ā)(bᵢ−b̄) / (√(Σ(aᵢ−ā)²·Σ(bᵢ−b̄)²) + eps)
//
// eps keeps ρ finite when either input is constant.
func (tp *Tape[T]) Pearson(a, b *Var[T], eps T) *Var[T] {
	if a.Len() != b.Len() || a.Len() < 2 {
		panic(fmt.Sprintf("ag.Pearson: shapes %v and %v must have the same number (≥ 2) of elements", a.shape, b.shape))
	}
	n := a.Len()
	out := tp.newVar([]int{1}, a.needGrad || b.needGrad)
	var ma, mb float64
	for i := range n {
		ma += float64(a.data[i])
		mb += float64(b.data[i])
	}
	ma /= float64(n)
	mb /= float64(n)
	var sab, saa, sbb float64
	for i := range n {
		da, db := float64(a.data[i])-ma, float64(b.data[i])-mb
		sab += da * db
		saa += da * da
		sbb += db * db
	}
	d := math.Sqrt(saa * sbb)
	den := d + float64(eps)
	out.data[0] = T(sab / den)
	tp.record(out, func(g []T) {
		// ∂ρ/∂aᵢ = (bᵢ−b̄)/den − sab·(∂d/∂aᵢ)/den², ∂d/∂aᵢ = sbb·(aᵢ−ā)/d.
		gg := float64(g[0])
		grad := func(v, w *Var[T], mv, mw, svv, sww float64) {
			gv := tp.gradOf(v)
			for i := range n {
				dv, dw := float64(v.data[i])-mv, float64(w.data[i])-mw
				dd := 0.0
				if d > 0 {
					dd = sww * dv / d
				}
				gv[i] += T(gg * (dw/den - sab*dd/(den*den)))
			}
		}
		if a.needGrad {
			grad(a, b, ma, mb, saa, sbb)
		}
		if b.needGrad {
			grad(b, a, mb, ma, sbb, saa)
		}
	})
	return out
}

// Dropout zeroes each element with probability p and scales the rest by
// 1/(1−p) in training mode; in evaluation mode, or with p = 0, it returns x.
func (tp *Tape[T]) Dropout(x *Var[T], p float64) *Var[T] {
	if !tp.Train || p == 0 {
		return x
	}
	if p < 0 || p >= 1 {
		panic(fmt.Sprintf("ag.Dropout: probability %v not in [0, 1)", p))
	}
	if tp.Rand == nil {
		panic("ag.Dropout: the tape has no random source (set Tape.Rand)")
	}
	out := tp.newVar(x.shape, x.needGrad)
	mask := tp.Buffer(x.Len())
	scale := T(1 / (1 - p))
	for i, v := range x.data {
		if tp.Rand.Float64() < p {
			mask[i] = 0
		} else {
			mask[i] = scale
		}
		out.data[i] = v * mask[i]
	}
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		for i, v := range g {
			gx[i] += v * mask[i]
		}
	})
	return out
}
