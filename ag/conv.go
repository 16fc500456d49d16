package ag

import "fmt"

// ConvParams are the geometry of a convolution along one spatial axis.
type ConvParams struct {
	Stride, Padding, Dilation int // zero values mean 1, 0, 1
}

func (p ConvParams) norm() ConvParams {
	if p.Stride == 0 {
		p.Stride = 1
	}
	if p.Dilation == 0 {
		p.Dilation = 1
	}
	return p
}

// outLen returns the output length of a convolution or pooling window of
// size k over n positions.
func (p ConvParams) outLen(n, k int) int {
	return (n+2*p.Padding-p.Dilation*(k-1)-1)/p.Stride + 1
}

// Conv1d returns the cross-correlation of x (B×Cin×L) with w (Cout×Cin×K)
// plus b (Cout, or nil), as torch.nn.functional.conv1d: the result is
// B×Cout×Lout with Lout = ⌊(L + 2·padding − dilation·(K−1) − 1)/stride⌋ + 1.
func (tp *Tape[T]) Conv1d(x, w, b *Var[T], p ConvParams) *Var[T] {
	if x.Rank() != 3 || w.Rank() != 3 {
		panic(fmt.Sprintf("ag.Conv1d: input %v and weight %v must be B×Cin×L and Cout×Cin×K", x.shape, w.shape))
	}
	g := convGeom{
		b: x.shape[0], cin: x.shape[1], h: 1, w: x.shape[2],
		cout: w.shape[0], kh: 1, kw: w.shape[2],
		ph: ConvParams{}.norm(), pw: p.norm(),
	}
	return tp.conv("Conv1d", x, w, b, g, []int{g.b, g.cout, g.outW()})
}

// Conv2d returns the cross-correlation of x (B×Cin×H×W) with w
// (Cout×Cin×KH×KW) plus b (Cout, or nil), as torch.nn.functional.conv2d,
// with the same geometry on both spatial axes; the result is
// B×Cout×Hout×Wout.
func (tp *Tape[T]) Conv2d(x, w, b *Var[T], p ConvParams) *Var[T] {
	if x.Rank() != 4 || w.Rank() != 4 {
		panic(fmt.Sprintf("ag.Conv2d: input %v and weight %v must be B×Cin×H×W and Cout×Cin×KH×KW", x.shape, w.shape))
	}
	g := convGeom{
		b: x.shape[0], cin: x.shape[1], h: x.shape[2], w: x.shape[3],
		cout: w.shape[0], kh: w.shape[2], kw: w.shape[3],
		ph: p.norm(), pw: p.norm(),
	}
	return tp.conv("Conv2d", x, w, b, g, []int{g.b, g.cout, g.outH(), g.outW()})
}

// convGeom is the geometry of a 2-D convolution (1-D uses h = kh = 1).
type convGeom struct {
	b, cin, h, w int
	cout, kh, kw int
	ph, pw       ConvParams
}

func (g convGeom) outH() int { return g.ph.outLen(g.h, g.kh) }
func (g convGeom) outW() int { return g.pw.outLen(g.w, g.kw) }

func (tp *Tape[T]) conv(op string, x, w, b *Var[T], g convGeom, oshape []int) *Var[T] {
	if w.shape[1] != g.cin {
		panic(fmt.Sprintf("ag.%s: input %v has %d channels, weight %v expects %d", op, x.shape, g.cin, w.shape, w.shape[1]))
	}
	if b != nil && b.Len() != g.cout {
		panic(fmt.Sprintf("ag.%s: bias %v does not fit weight %v", op, b.shape, w.shape))
	}
	oh, ow := g.outH(), g.outW()
	if oh <= 0 || ow <= 0 {
		panic(fmt.Sprintf("ag.%s: input %v is too small for weight %v", op, x.shape, w.shape))
	}
	need := x.needGrad || w.needGrad || (b != nil && b.needGrad)
	out := tp.newVar(oshape, need)
	k := g.cin * g.kh * g.kw // rows of a column matrix
	n := oh * ow             // columns: output positions
	in := g.cin * g.h * g.w  // input elements per sample
	cols := tp.Buffer(g.b * k * n)
	var ph []T // phases of a strided input row (see splitPhases)
	if g.pw.Stride > 1 {
		ph = tp.Buffer(g.phaseLen())
	}
	for s := range g.b {
		col := cols[s*k*n : (s+1)*k*n]
		im2col(col, x.data[s*in:(s+1)*in], ph, g)
		y := out.data[s*g.cout*n : (s+1)*g.cout*n]
		beta := T(0)
		if b != nil {
			for c := range g.cout {
				bc := b.data[c]
				row := y[c*n : (c+1)*n]
				for i := range row {
					row[i] = bc
				}
			}
			beta = 1
		}
		gemm(false, false, g.cout, n, k, 1, w.data, k, col, n, beta, y, n) // y = W·cols (+ b)
	}
	tp.record(out, func(gy []T) {
		var dcol, dph []T
		if x.needGrad {
			dcol = tp.Buffer(k * n)
			if g.pw.Stride > 1 {
				dph = tp.Buffer(g.phaseLen())
			}
		}
		for s := range g.b {
			col := cols[s*k*n : (s+1)*k*n]
			gs := gy[s*g.cout*n : (s+1)*g.cout*n]
			if w.needGrad { // dW += dY·colsᵀ
				gemm(false, true, g.cout, k, n, 1, gs, n, col, n, 1, tp.gradOf(w), k)
			}
			if b != nil && b.needGrad {
				gb := tp.gradOf(b)
				for c := range g.cout {
					gb[c] += sum(gs[c*n : (c+1)*n])
				}
			}
			if x.needGrad { // dcols = Wᵀ·dY, scattered back onto dx
				gemm(true, false, k, n, g.cout, 1, w.data, k, gs, n, 0, dcol, n)
				col2im(tp.gradOf(x)[s*in:(s+1)*in], dcol, dph, g)
			}
		}
	})
	return out
}

// im2col writes the k×n column matrix of one sample: row (c, i, j) holds
// the input value under kernel tap (i, j) of channel c for every output
// position, 0 where the tap falls in the padding.
func im2col[T Float](col, x, ph []T, g convGeom) {
	if g.pw.Stride > 1 {
		splitPhases(ph, x, g)
	}
	oh, ow := g.outH(), g.outW()
	n := oh * ow
	r := 0
	for c := range g.cin {
		xc := x[c*g.h*g.w : (c+1)*g.h*g.w]
		for i := range g.kh {
			for j := range g.kw {
				dst := col[r*n : (r+1)*n]
				r++
				for oy := range oh {
					iy := oy*g.ph.Stride - g.ph.Padding + i*g.ph.Dilation
					row := dst[oy*ow : (oy+1)*ow]
					if iy < 0 || iy >= g.h {
						clear(row)
						continue
					}
					xr := xc[iy*g.w : (iy+1)*g.w]
					ix := j*g.pw.Dilation - g.pw.Padding
					if g.pw.Stride == 1 { // a shifted copy with zeros where the tap is in the padding
						lo, hi := max(0, -ix), min(ow, g.w-ix)
						if hi <= lo {
							clear(row)
							continue
						}
						clear(row[:lo])
						copy(row[lo:hi], xr[ix+lo:ix+hi])
						clear(row[hi:])
						continue
					}
					// Strided: a copy out of the phase that holds this tap's inputs.
					st := g.pw.Stride
					lo, hi := validRange(ix, st, ow, g.w)
					clear(row[:lo])
					if lo < hi {
						pr, t0 := phaseOf(ph, g, c, iy, ix)
						copy(row[lo:hi], pr[t0+lo:t0+hi])
					}
					clear(row[hi:])
				}
			}
		}
	}
}

// col2im adds the column-matrix gradient dcol back onto the input gradient
// dx of one sample (the adjoint of im2col).
func col2im[T Float](dx, dcol, dph []T, g convGeom) {
	if g.pw.Stride > 1 {
		clear(dph)
		defer mergePhases(dx, dph, g)
	}
	oh, ow := g.outH(), g.outW()
	n := oh * ow
	r := 0
	for c := range g.cin {
		dxc := dx[c*g.h*g.w : (c+1)*g.h*g.w]
		for i := range g.kh {
			for j := range g.kw {
				src := dcol[r*n : (r+1)*n]
				r++
				for oy := range oh {
					iy := oy*g.ph.Stride - g.ph.Padding + i*g.ph.Dilation
					if iy < 0 || iy >= g.h {
						continue
					}
					dr := dxc[iy*g.w : (iy+1)*g.w]
					row := src[oy*ow : (oy+1)*ow]
					ix := j*g.pw.Dilation - g.pw.Padding
					if g.pw.Stride == 1 {
						if lo, hi := max(0, -ix), min(ow, g.w-ix); lo < hi {
							addTo(dr[ix+lo:ix+hi], row[lo:hi])
						}
						continue
					}
					if lo, hi := validRange(ix, g.pw.Stride, ow, g.w); lo < hi {
						pr, t0 := phaseOf(dph, g, c, iy, ix)
						addTo(pr[t0+lo:t0+hi], row[lo:hi])
					}
				}
			}
		}
	}
}

// A strided convolution reads every st-th input of a row. im2col first
// splits each input row into its st phases (phase q holds inputs q, q+st,
// q+2st, …), so that every kernel tap's row of the column matrix is a
// contiguous copy out of one phase rather than a strided gather (and
// col2im adds into phases contiguously, then merges them back once).

// phaseRow is the length of one phase of a row, ⌈w/st⌉.
func (g convGeom) phaseRow() int { return (g.w + g.pw.Stride - 1) / g.pw.Stride }

// phaseLen is the length of the phase buffer of one sample.
func (g convGeom) phaseLen() int { return g.cin * g.h * g.pw.Stride * g.phaseRow() }

// phaseOf returns the phase of channel c, row iy that holds the inputs of a
// tap starting at column ix (ix may be negative, in the padding), and the
// index t0 in it of input ix: input ix + ox·st is at t0 + ox.
func phaseOf[T Float](ph []T, g convGeom, c, iy, ix int) ([]T, int) {
	st, l := g.pw.Stride, g.phaseRow()
	q := ((ix % st) + st) % st
	off := ((c*g.h+iy)*st + q) * l
	return ph[off : off+l], (ix - q) / st
}

// splitPhases writes the phases of every row of x into ph.
func splitPhases[T Float](ph, x []T, g convGeom) {
	st, l := g.pw.Stride, g.phaseRow()
	for r := range g.cin * g.h {
		xr := x[r*g.w : (r+1)*g.w]
		for q := range min(st, g.w) {
			m := (g.w - q + st - 1) / st
			gatherStrided(ph[(r*st+q)*l:(r*st+q)*l+m], xr[q:], st)
		}
	}
}

// mergePhases adds the phases in dph back onto the rows of dx, the adjoint
// of splitPhases.
func mergePhases[T Float](dx, dph []T, g convGeom) {
	st, l := g.pw.Stride, g.phaseRow()
	for r := range g.cin * g.h {
		dr := dx[r*g.w : (r+1)*g.w]
		for q := range min(st, g.w) {
			m := (g.w - q + st - 1) / st
			scatterAddStrided(dr[q:], dph[(r*st+q)*l:(r*st+q)*l+m], st)
		}
	}
}

// gatherStrided sets dst[i] = src[i·st] for every i; src holds at least
// (len(dst)−1)·st + 1 values. The loops walk src by its own index so that
// the compiler can drop the bounds checks.
func gatherStrided[T Float](dst, src []T, st int) {
	src = src[:(len(dst)-1)*st+1]
	i := 0
	for p := 0; p < len(src); p += st {
		dst[i] = src[p]
		i++
	}
}

// scatterAddStrided adds src[i] to dst[i·st] for every i, the adjoint of
// gatherStrided.
func scatterAddStrided[T Float](dst, src []T, st int) {
	dst = dst[:(len(src)-1)*st+1]
	i := 0
	for p := 0; p < len(dst); p += st {
		dst[p] += src[i]
		i++
	}
}

// validRange returns the output positions lo ≤ ox < hi whose input index
// ix + ox·stride lies in [0, w), for ow outputs.
func validRange(ix, stride, ow, w int) (lo, hi int) {
	if ix < 0 {
		lo = (-ix + stride - 1) / stride
	}
	if last := w - 1 - ix; last < 0 {
		hi = 0
	} else {
		hi = min(ow, last/stride+1)
	}
	return min(lo, ow), max(min(lo, ow), hi)
}
