package gemm

// Portable blocked kernel, used by Dgemm everywhere and by Sgemm on CPUs
// without AVX2+FMA, on other architectures, and with the purego build tag.
//
// Blocking (GotoBLAS order): for each kc-block of the k dimension and each
// nc-block of columns, op(B)[kc×nc] is packed into goNR-wide panels
// (panel layout [p][goNR]); for each mc-block of rows, op(A)[mc×kc] is
// packed into goMR-tall panels (layout [p][goMR]); then a goMR×goNR register
// tile accumulates Σ_p a[p][r]·b[p][j] in p order and C += alpha·tile.
// C is pre-scaled by beta once, so beta == 0 never reads C.
const (
	goMR = 2
	goNR = 4
	goKC = 256
	goMC = 64
	goNC = 512
)

// goBufLen is the pack space the Go path needs: an A block and a B block.
const goBufLen = goKC*goMC + goKC*goNC

// gemmGo computes C = alpha·op(A)·op(B) + beta·C with the portable kernel.
// Arguments are already validated; m, n, k > 0.
func gemmGo[T float32 | float64](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	scaleC(m, n, beta, c, ldc)
	bufp := getBuf[T](goBufLen)
	buf := *bufp
	ap, bp := buf[:goKC*goMC], buf[goKC*goMC:]
	for pc := 0; pc < k; pc += goKC {
		kb := min(goKC, k-pc)
		for jc := 0; jc < n; jc += goNC {
			nb := min(goNC, n-jc)
			packBGo(transB, kb, nb, b, ldb, pc, jc, bp)
			for ic := 0; ic < m; ic += goMC {
				mb := min(goMC, m-ic)
				packAGo(transA, mb, kb, a, lda, ic, pc, ap)
				for jr := 0; jr < nb; jr += goNR {
					nr := min(goNR, nb-jr)
					bpan := bp[jr*kb : jr*kb+goNR*kb]
					for ir := 0; ir < mb; ir += goMR {
						mr := min(goMR, mb-ir)
						acc := kernelGo(kb, ap[ir*kb:ir*kb+goMR*kb], bpan)
						for r := 0; r < mr; r++ {
							crow := c[(ic+ir+r)*ldc+jc+jr : (ic+ir+r)*ldc+jc+jr+nr]
							for j := range crow {
								crow[j] += alpha * acc[r*goNR+j]
							}
						}
					}
				}
			}
		}
	}
	putBuf(bufp)
}

// kernelGo returns the goMR×goNR tile Σ_p a[p][r]·b[p][j] for packed
// panels a [k][goMR] and b [k][goNR]. The tile is 2×4 so that its eight
// accumulators and six operands stay in the 15 SSE registers Go can use.
func kernelGo[T float32 | float64](k int, a, b []T) [goMR * goNR]T {
	var c00, c01, c02, c03 T
	var c10, c11, c12, c13 T
	a = a[:goMR*k]
	b = b[:goNR*k]
	for p := 0; p < k; p++ {
		av := a[p*goMR : p*goMR+goMR : p*goMR+goMR]
		bv := b[p*goNR : p*goNR+goNR : p*goNR+goNR]
		b0, b1, b2, b3 := bv[0], bv[1], bv[2], bv[3]
		a0 := av[0]
		c00 += a0 * b0
		c01 += a0 * b1
		c02 += a0 * b2
		c03 += a0 * b3
		a1 := av[1]
		c10 += a1 * b0
		c11 += a1 * b1
		c12 += a1 * b2
		c13 += a1 * b3
	}
	return [goMR * goNR]T{
		c00, c01, c02, c03,
		c10, c11, c12, c13,
	}
}

// packAGo packs op(A)[ic:ic+mb, pc:pc+kb] into goMR-tall panels: panel q
// holds rows ic+q·goMR.. as dst[q·goMR·kb + p·goMR + r], zero-padded.
func packAGo[T float32 | float64](transA bool, mb, kb int, a []T, lda, ic, pc int, dst []T) {
	for q := 0; q < mb; q += goMR {
		pan := dst[q*kb : q*kb+goMR*kb]
		for r := 0; r < goMR; r++ {
			i := ic + q + r
			if q+r >= mb {
				for p := 0; p < kb; p++ {
					pan[p*goMR+r] = 0
				}
				continue
			}
			if transA { // op(A)[i,p] = A[p,i]
				for p := 0; p < kb; p++ {
					pan[p*goMR+r] = a[(pc+p)*lda+i]
				}
			} else {
				row := a[i*lda+pc : i*lda+pc+kb]
				for p, v := range row {
					pan[p*goMR+r] = v
				}
			}
		}
	}
}

// packBGo packs op(B)[pc:pc+kb, jc:jc+nb] into goNR-wide panels: panel q
// holds columns jc+q·goNR.. as dst[q·goNR·kb + p·goNR + j], zero-padded.
func packBGo[T float32 | float64](transB bool, kb, nb int, b []T, ldb, pc, jc int, dst []T) {
	for q := 0; q < nb; q += goNR {
		pan := dst[q*kb : q*kb+goNR*kb]
		nr := min(goNR, nb-q)
		if transB { // op(B)[p,j] = B[j,p]
			for j := 0; j < goNR; j++ {
				if j >= nr {
					for p := 0; p < kb; p++ {
						pan[p*goNR+j] = 0
					}
					continue
				}
				row := b[(jc+q+j)*ldb+pc : (jc+q+j)*ldb+pc+kb]
				for p, v := range row {
					pan[p*goNR+j] = v
				}
			}
			continue
		}
		for p := 0; p < kb; p++ {
			src := b[(pc+p)*ldb+jc+q : (pc+p)*ldb+jc+q+nr]
			d := pan[p*goNR : p*goNR+goNR]
			copy(d, src)
			clear(d[nr:])
		}
	}
}
