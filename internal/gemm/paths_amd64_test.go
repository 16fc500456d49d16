//go:build amd64 && !purego

package gemm

// sgemmPaths lists the Sgemm implementations this CPU can run. Besides
// the dispatched paths it forces each way of computing A·Bᵀ on AVX-512,
// so all of them meet every shape in the tests whatever the cost model
// would pick.
func sgemmPaths() []sgemmPathCase {
	ps := []sgemmPathCase{{"go", gemmGo[float32]}}
	if hasAVX2 {
		ps = append(ps, sgemmPathCase{"avx2", sgemmAvx2})
	}
	if hasAVX512 {
		ps = append(ps, sgemmPathCase{"avx512", sgemmAvx512})
	}
	return ps
}

// sgemmTestPaths adds the forced A·Bᵀ strategies to sgemmPaths.
func sgemmTestPaths() []sgemmPathCase {
	ps := sgemmPaths()
	if hasAVX2 {
		ps = append(ps, sgemmPathCase{"avx2-noswap", sgemmAvx2Blocked})
	}
	if !hasAVX512 {
		return ps
	}
	forceNT := func(strategy int) sgemmFunc {
		return func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
			switch {
			case !transB || transA || strategy == ntPackB:
			case strategy == ntDot:
				sgemmAvx512DotNT(m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
				return
			case beta == 0:
				sgemmAvx512SwappedNT(m, n, k, alpha, a, lda, b, ldb, c, ldc)
				return
			}
			sgemmAvx512Blocked(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
		}
	}
	return append(ps,
		sgemmPathCase{"avx512-nt-packB", forceNT(ntPackB)},
		sgemmPathCase{"avx512-nt-swapped", forceNT(ntSwapped)},
		sgemmPathCase{"avx512-nt-dot", forceNT(ntDot)},
	)
}
