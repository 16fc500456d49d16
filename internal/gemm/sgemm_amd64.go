//go:build amd64 && !purego

package gemm

// Drivers for the assembly microkernels. They follow the GotoBLAS loop
// order, with choices that keep packing off the critical path of the
// engine's small shapes:
//
//   - A is read in place: the kernels broadcast A elements straight from
//     the caller's matrix through (rsA, csA) strides, so op(A) = A and
//     op(A) = Aᵀ cost the same. Only rows whose stride is a multiple of
//     2 KiB (which collide in one L1 set) are first copied to a panel.
//   - A plain B is read in place by the first row tile, whose Pack kernel
//     also stores every B row it loads into the pack buffer, so later row
//     tiles read contiguous panels without a separate packing pass.
//   - For C = A·Bᵀ, where neither operand has contiguous columns, a cost
//     estimate picks between transposing Bᵀ into the pack buffer,
//     computing (B·Aᵀ)ᵀ (transposing the smaller Aᵀ and the result), and,
//     on AVX-512, a dot-product kernel that packs nothing.
//
// Loops: for each kc-block of k (beta applies to the first block only), for
// each nc-block of columns, for each MR-row tile of C (its A micro-panel
// stays in L1), for each NR-column panel: one kernel call computing the
// MR×NR tile over the whole kc-block.

const (
	mr512 = 12  // rows per AVX-512 tile
	nr512 = 32  // columns per AVX-512 tile (two zmm)
	kc512 = 256 // k-block: A micro-panel 12×256×4 B = 12 KiB stays in L1
	nc512 = 512 // column block: packed B block 256×512×4 B = 512 KiB in L2

	mr256 = 6   // rows per AVX2 tile
	nr256 = 16  // columns per AVX2 tile (two ymm)
	kc256 = 256 // as above
	nc256 = 512
)

type kernel512 func(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

type kernel512Pack func(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

type kernel256 func(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

type kernel256Pack func(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pk *float32)

// avx512Kernels[w][mr] computes an mr×nr tile with nr ≤ 8 (w = 0, one ymm),
// nr ≤ 16 (w = 1, one zmm) or nr ≤ 32 (w = 2, two zmm); see avx512Width.
var avx512Kernels = [3][mr512 + 1]kernel512{
	{nil, sgemmAvx512MR1N8, sgemmAvx512MR2N8, sgemmAvx512MR3N8, sgemmAvx512MR4N8, sgemmAvx512MR5N8, sgemmAvx512MR6N8, sgemmAvx512MR7N8, sgemmAvx512MR8N8, sgemmAvx512MR9N8, sgemmAvx512MR10N8, sgemmAvx512MR11N8, sgemmAvx512MR12N8},
	{nil, sgemmAvx512MR1N16, sgemmAvx512MR2N16, sgemmAvx512MR3N16, sgemmAvx512MR4N16, sgemmAvx512MR5N16, sgemmAvx512MR6N16, sgemmAvx512MR7N16, sgemmAvx512MR8N16, sgemmAvx512MR9N16, sgemmAvx512MR10N16, sgemmAvx512MR11N16, sgemmAvx512MR12N16},
	{nil, sgemmAvx512MR1N32, sgemmAvx512MR2N32, sgemmAvx512MR3N32, sgemmAvx512MR4N32, sgemmAvx512MR5N32, sgemmAvx512MR6N32, sgemmAvx512MR7N32, sgemmAvx512MR8N32, sgemmAvx512MR9N32, sgemmAvx512MR10N32, sgemmAvx512MR11N32, sgemmAvx512MR12N32},
}

// avx512PackKernels[w][mr] is avx512Kernels[w][mr] that also packs B.
var avx512PackKernels = [3][mr512 + 1]kernel512Pack{
	{nil, sgemmAvx512MR1N8Pack, sgemmAvx512MR2N8Pack, sgemmAvx512MR3N8Pack, sgemmAvx512MR4N8Pack, sgemmAvx512MR5N8Pack, sgemmAvx512MR6N8Pack, sgemmAvx512MR7N8Pack, sgemmAvx512MR8N8Pack, sgemmAvx512MR9N8Pack, sgemmAvx512MR10N8Pack, sgemmAvx512MR11N8Pack, sgemmAvx512MR12N8Pack},
	{nil, sgemmAvx512MR1N16Pack, sgemmAvx512MR2N16Pack, sgemmAvx512MR3N16Pack, sgemmAvx512MR4N16Pack, sgemmAvx512MR5N16Pack, sgemmAvx512MR6N16Pack, sgemmAvx512MR7N16Pack, sgemmAvx512MR8N16Pack, sgemmAvx512MR9N16Pack, sgemmAvx512MR10N16Pack, sgemmAvx512MR11N16Pack, sgemmAvx512MR12N16Pack},
	{nil, sgemmAvx512MR1N32Pack, sgemmAvx512MR2N32Pack, sgemmAvx512MR3N32Pack, sgemmAvx512MR4N32Pack, sgemmAvx512MR5N32Pack, sgemmAvx512MR6N32Pack, sgemmAvx512MR7N32Pack, sgemmAvx512MR8N32Pack, sgemmAvx512MR9N32Pack, sgemmAvx512MR10N32Pack, sgemmAvx512MR11N32Pack, sgemmAvx512MR12N32Pack},
}

// avx512Width is the kernel width index for an nr-column tile.
func avx512Width(nr int) int {
	switch {
	case nr <= 8:
		return 0
	case nr <= 16:
		return 1
	}
	return 2
}

// avx2Kernels[mr] computes an mr×16 tile.
var avx2Kernels = [mr256 + 1]kernel256{nil, sgemmAvx2MR1, sgemmAvx2MR2, sgemmAvx2MR3, sgemmAvx2MR4, sgemmAvx2MR5, sgemmAvx2MR6}

// avx2PackKernels[mr] is avx2Kernels[mr] that also packs B.
var avx2PackKernels = [mr256 + 1]kernel256Pack{nil, sgemmAvx2MR1Pack, sgemmAvx2MR2Pack, sgemmAvx2MR3Pack, sgemmAvx2MR4Pack, sgemmAvx2MR5Pack, sgemmAvx2MR6Pack}

// aStrides returns the element strides (rsA, csA) of op(A)[i,p] in a.
func aStrides(transA bool, lda int) (rsA, csA int) {
	if transA {
		return 1, lda // op(A)[i,p] = A[p,i]
	}
	return lda, 1
}

// sgemmAvx512 computes C = alpha·op(A)·op(B) + beta·C with the AVX-512
// kernels. Arguments are validated; m, n, k > 0.
//
// B panels: when op(B) = Bᵀ they are transposed into the pack buffer before
// use. Otherwise the first row tile reads B in place and, when more row
// tiles follow, its kernel stores each B row it loads into the pack buffer
// (the Pack kernels), so the other tiles read contiguous panels without a
// separate packing pass.
func sgemmAvx512(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transB && !transA {
		switch ntStrategy(m, n, k, beta) {
		case ntDot:
			sgemmAvx512DotNT(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
			return
		case ntSwapped:
			sgemmAvx512SwappedNT(m, n, k, alpha, a, lda, b, ldb, c, ldc)
			return
		}
	}
	sgemmAvx512Blocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Ways to compute C = A·Bᵀ, whose B columns are not contiguous.
const (
	ntPackB   = iota // transpose Bᵀ into the pack buffer (sgemmAvx512Blocked)
	ntSwapped        // Cᵀ = B·Aᵀ: transpose Aᵀ and the result instead
	ntDot            // dot products of rows of A and B, no packing
)

// ntStrategy picks the cheapest way to compute C = A·Bᵀ from a cycle
// estimate: FMA cycles (one zmm FMA per cycle; lanes are spent in
// multiples of 16, or 8 below 9 columns) plus transposing the packed
// operand (≈0.45 cycle per element) — Bᵀ (n·k elements), or Aᵀ (m·k) and
// the m×n result when swapped — against the dot kernel, which wastes no
// lanes and packs nothing but pays ≈70 cycles per 4×4 tile to reduce its
// accumulators. Dense layers (batch m = 32 < n outputs) swap; long-k
// convolution weight gradients (k = H·W) take dot products.
func ntStrategy(m, n, k int, beta float32) int {
	lanes := func(x int) int {
		if x <= 8 {
			return 8
		}
		return (x + 15) / 16 * 16
	}
	const transposeCost = 0.45
	best, cost := ntPackB, float64(m*lanes(n)*k)/16+transposeCost*float64(lanes(n)*k)
	if beta == 0 {
		swapped := float64(n*lanes(m)*k)/16 + transposeCost*float64(lanes(m)*k+m*n)
		if swapped < cost {
			best, cost = ntSwapped, swapped
		}
	}
	dot := float64((m+3)/4*((n+3)/4)) * float64(16*((k+15)/16)+70)
	if dot < cost {
		best = ntDot
	}
	return best
}

// sgemmAvx512DotNT computes C = alpha·A·Bᵀ + beta·C in 4×4 tiles, each
// the 16 dot products of four rows of A with four rows of B (both
// contiguous in k). Rows past m or n repeat the last row; the kernel does
// not store them.
func sgemmAvx512DotNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	for j0 := 0; j0 < n; j0 += 4 {
		nr := min(4, n-j0)
		row := func(j int) *float32 { return &b[(j0+min(j, nr-1))*ldb] }
		b0, b1, b2, b3 := row(0), row(1), row(2), row(3)
		for i0 := 0; i0 < m; i0 += 4 {
			mr := min(4, m-i0)
			row := func(i int) *float32 { return &a[(i0+min(i, mr-1))*lda] }
			sgemmDotAvx512(k, row(0), row(1), row(2), row(3), b0, b1, b2, b3, &c[i0*ldc+j0], ldc, mr, nr, alpha, beta)
		}
	}
}

// sgemmAvx512SwappedNT computes C = alpha·A·Bᵀ (beta = 0) as
// T = alpha·B·Aᵀ into scratch (n×m), then C = Tᵀ.
func sgemmAvx512SwappedNT(m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, c []float32, ldc int) {
	tp := getScratch(n * m)
	t := *tp
	sgemmAvx512Blocked(false, true, n, m, k, alpha, b, ldb, a, lda, 0, t, m)
	transposeInto(m, n, t, c, ldc, packBTAvx512, 16)
	putScratch(tp)
}

// sgemmAvx512Blocked is sgemmAvx512 without the operand swap.
func sgemmAvx512Blocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	rsA, csA := aStrides(transA, lda)
	pack := transB || m > mr512
	// Rows of A whose stride is a multiple of 2 KiB fall into one or two
	// L1 sets, so a 12-row micro-panel evicts itself while it is read
	// (1024³: ~90 vs ~102 GFLOP/s with a padded stride). Such panels are
	// transposed into a [kc][16] buffer first when several column panels
	// will reuse them.
	packA := !transA && lda%512 == 0 && m > mr512 && n > 2*nr512
	var bufp *[]float32
	var bp, abuf []float32
	if pack || packA {
		bufp = getBuf[float32](kc512*nc512 + 16*kc512)
		bp, abuf = (*bufp)[:kc512*nc512], (*bufp)[kc512*nc512:]
	}
	for pc := 0; pc < k; pc += kc512 {
		kb := min(kc512, k-pc)
		be := beta
		if pc > 0 {
			be = 1
		}
		for jc := 0; jc < n; jc += nc512 {
			nb := min(nc512, n-jc)
			if transB {
				packBT512(kb, nb, b, ldb, pc, jc, bp)
			}
			for ic := 0; ic < m; ic += mr512 {
				mr := min(mr512, m-ic)
				ap, rs, cs := &a[ic*rsA+pc*csA], rsA, csA
				if packA {
					packBTAvx512(&abuf[0], 16, ap, lda, kb, mr)
					ap, rs, cs = &abuf[0], 1, 16
				}
				for jr := 0; jr < nb; jr += nr512 {
					nr := min(nr512, nb-jr)
					mask := uint32(uint64(1)<<nr - 1)
					nv := avx512Width(nr)
					cp := &c[ic*ldc+jc+jr]
					switch {
					case transB || (pack && ic > 0):
						avx512Kernels[nv][mr](kb, ap, rs, cs, &bp[jr*kb], nr512, cp, ldc, mask, alpha, be)
					case pack:
						avx512PackKernels[nv][mr](kb, ap, rs, cs, &b[pc*ldb+jc+jr], ldb, cp, ldc, mask, alpha, be, &bp[jr*kb])
					default:
						avx512Kernels[nv][mr](kb, ap, rs, cs, &b[pc*ldb+jc+jr], ldb, cp, ldc, mask, alpha, be)
					}
				}
			}
		}
	}
	if bufp != nil {
		putBuf(bufp)
	}
}

// packBT512 packs op(B)[pc:pc+kb, jc:jc+nb] = Bᵀ into 32-column panels:
// panel q (columns jc+32q..) is dst[32q·kb + p·32 + j], transposed 16 rows
// of B at a time. Columns past nb are left as they are: the kernels mask
// them.
func packBT512(kb, nb int, b []float32, ldb, pc, jc int, dst []float32) {
	for q := 0; q < nb; q += nr512 {
		pan := dst[q*kb : q*kb+nr512*kb]
		nr := min(nr512, nb-q)
		for h := 0; h < nr; h += 16 {
			j0 := jc + q + h
			packBTAvx512(&pan[h], nr512, &b[j0*ldb+pc], ldb, kb, min(16, nr-h))
		}
	}
}

// sgemmAvx2 computes C = alpha·op(A)·op(B) + beta·C with the AVX2+FMA
// kernels, with the same B policy as sgemmAvx512 (transpose Bᵀ, or pack
// plain B inside the first row tile) and the same swap of C = A·Bᵀ to
// (B·Aᵀ)ᵀ when that transposes less. The kernels have no lane masks, so
// the partial last column panel is always packed zero-padded to 16 and a
// partial C tile goes through a 6×16 scratch tile.
func sgemmAvx2(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	if transB && !transA && beta == 0 && swapNTAvx2(m, n, k) {
		tp := getScratch(n * m)
		t := *tp
		sgemmAvx2Blocked(false, true, n, m, k, alpha, b, ldb, a, lda, 0, t, m)
		transposeInto(m, n, t, c, ldc, packBTAvx2, 8)
		putScratch(tp)
		return
	}
	sgemmAvx2Blocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// swapNTAvx2 is ntStrategy's packing-versus-swapping estimate for the
// 16-column AVX2 tiles: FMA lanes in multiples of 16 plus ≈0.5 cycle per
// transposed element.
func swapNTAvx2(m, n, k int) bool {
	lanes := func(x int) int { return (x + 15) / 16 * 16 }
	const transposeCost = 0.5
	direct := float64(m*lanes(n)*k)/16 + transposeCost*float64(lanes(n)*k)
	swapped := float64(n*lanes(m)*k)/16 + transposeCost*float64(lanes(m)*k+m*n)
	return swapped < direct
}

// transposeInto sets C = Tᵀ for the n×m matrix T (row stride m) with a
// transposer that writes w-column strips of C; the last partial strip is
// copied element-wise so nothing past column n is written.
func transposeInto(m, n int, t, c []float32, ldc int, transpose func(dst *float32, dstStride int, src *float32, ldb, k, rows int), w int) {
	mw := m
	if w == 8 { // the AVX2 transposer takes whole 8-column blocks of T
		mw = m / 8 * 8
	}
	j0 := 0
	for ; j0+w <= n; j0 += w {
		if mw > 0 {
			transpose(&c[j0], ldc, &t[j0*m], m, mw, w)
		}
		for i := mw; i < m; i++ {
			for j := j0; j < j0+w; j++ {
				c[i*ldc+j] = t[j*m+i]
			}
		}
	}
	for j := j0; j < n; j++ {
		for i, v := range t[j*m : j*m+m] {
			c[i*ldc+j] = v
		}
	}
}

// sgemmAvx2Blocked is sgemmAvx2 without the operand swap.
func sgemmAvx2Blocked(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	rsA, csA := aStrides(transA, lda)
	pack := transB || m > mr256
	bufp := getBuf[float32](kc256*nc256 + mr256*nr256)
	bp := *bufp
	tile := bp[kc256*nc256:]
	for pc := 0; pc < k; pc += kc256 {
		kb := min(kc256, k-pc)
		be := beta
		if pc > 0 {
			be = 1
		}
		for jc := 0; jc < n; jc += nc256 {
			nb := min(nc256, n-jc)
			full := nb / nr256 * nr256 // panels before this one are full
			if transB {
				packBT256(kb, nb, b, ldb, pc, jc, bp)
			} else {
				packBGeneric(false, kb, nb, b, ldb, pc, jc, full, nr256, bp)
			}
			for ic := 0; ic < m; ic += mr256 {
				mr := min(mr256, m-ic)
				ap := &a[ic*rsA+pc*csA]
				for jr := 0; jr < nb; jr += nr256 {
					nr := min(nr256, nb-jr)
					if nr < nr256 {
						// Partial tile: compute into the scratch tile, copy back nr columns.
						if be != 0 {
							for r := 0; r < mr; r++ {
								copy(tile[r*nr256:r*nr256+nr], c[(ic+r)*ldc+jc+jr:])
							}
						}
						avx2Kernels[mr](kb, ap, rsA, csA, &bp[jr*kb], nr256, &tile[0], nr256, alpha, be)
						for r := 0; r < mr; r++ {
							copy(c[(ic+r)*ldc+jc+jr:(ic+r)*ldc+jc+jr+nr], tile[r*nr256:])
						}
						continue
					}
					cp := &c[ic*ldc+jc+jr]
					switch {
					case transB || (pack && ic > 0):
						avx2Kernels[mr](kb, ap, rsA, csA, &bp[jr*kb], nr256, cp, ldc, alpha, be)
					case pack:
						avx2PackKernels[mr](kb, ap, rsA, csA, &b[pc*ldb+jc+jr], ldb, cp, ldc, alpha, be, &bp[jr*kb])
					default:
						avx2Kernels[mr](kb, ap, rsA, csA, &b[pc*ldb+jc+jr], ldb, cp, ldc, alpha, be)
					}
				}
			}
		}
	}
	putBuf(bufp)
}

// packBT256 packs op(B)[pc:pc+kb, jc:jc+nb] = Bᵀ into 16-column panels
// (panel q is dst[16q·kb + p·16 + j]), 8 rows of B at a time; columns past
// nb are zero. The last kb%8 values of each row are copied element-wise.
func packBT256(kb, nb int, b []float32, ldb, pc, jc int, dst []float32) {
	kb8 := kb / 8 * 8
	for q := 0; q < nb; q += nr256 {
		pan := dst[q*kb : q*kb+nr256*kb]
		nr := min(nr256, nb-q)
		for h := 0; h < nr256; h += 8 {
			rows := min(8, nr-h)
			if rows <= 0 {
				for p := 0; p < kb; p++ {
					clear(pan[p*nr256+h : p*nr256+h+8])
				}
				continue
			}
			j0 := jc + q + h
			if kb8 > 0 {
				packBTAvx2(&pan[h], nr256, &b[j0*ldb+pc], ldb, kb8, rows)
			}
			for p := kb8; p < kb; p++ {
				d := pan[p*nr256+h : p*nr256+h+8]
				for j := range d {
					if j < rows {
						d[j] = b[(j0+j)*ldb+pc+p]
					} else {
						d[j] = 0
					}
				}
			}
		}
	}
}

// packBGeneric packs the panels from column `from` on of
// op(B)[pc:pc+kb, jc:jc+nb] into nrp-wide zero-padded panels: the panel at
// column q is dst[q·kb + p·nrp + j].
func packBGeneric(transB bool, kb, nb int, b []float32, ldb, pc, jc, from, nrp int, dst []float32) {
	for q := from; q < nb; q += nrp {
		pan := dst[q*kb : q*kb+nrp*kb]
		nr := min(nrp, nb-q)
		if transB { // op(B)[p,j] = B[j,p]
			for j := 0; j < nr; j++ {
				src := b[(jc+q+j)*ldb+pc : (jc+q+j)*ldb+pc+kb]
				for p, v := range src {
					pan[p*nrp+j] = v
				}
			}
			if nr < nrp {
				for p := 0; p < kb; p++ {
					clear(pan[p*nrp+nr : p*nrp+nrp])
				}
			}
			continue
		}
		for p := 0; p < kb; p++ {
			d := pan[p*nrp : p*nrp+nrp]
			copy(d[:nr], b[(pc+p)*ldb+jc+q:])
			clear(d[nr:])
		}
	}
}
