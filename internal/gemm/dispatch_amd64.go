//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// sgemmImpl is the Sgemm path for this CPU, chosen once at start-up:
// AVX-512F+VL, else AVX2+FMA, else the portable Go kernel. Arguments reaching
// it are validated; m, n, k > 0 and alpha != 0.
var sgemmImpl = chooseSgemm()

func chooseSgemm() func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	switch {
	case hasAVX512:
		return sgemmAvx512
	case hasAVX2:
		return sgemmAvx2
	}
	return gemmGo[float32]
}

var (
	hasAVX512 = cpu.X86.HasAVX512F && cpu.X86.HasAVX512VL
	hasAVX2   = cpu.X86.HasAVX2 && cpu.X86.HasFMA
)
