package gemm

// sgemmRef is the algorithmic reference for Sgemm: the naive triple loop
// C[i,j] = alpha·Σ_p op(A)[i,p]·op(B)[p,j] + beta·C[i,j], summed in p order.
// The tests compare every fast path against it.
func sgemmRef(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// dgemmRef is the algorithmic reference for Dgemm; see sgemmRef.
func dgemmRef(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	gemmRef(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

func gemmRef[T float32 | float64](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var sum T
			for p := 0; p < k; p++ {
				var av, bv T
				if transA {
					av = a[p*lda+i] // op(A)[i,p] = A[p,i]
				} else {
					av = a[i*lda+p] // op(A)[i,p] = A[i,p]
				}
				if transB {
					bv = b[j*ldb+p] // op(B)[p,j] = B[j,p]
				} else {
					bv = b[p*ldb+j] // op(B)[p,j] = B[p,j]
				}
				sum += av * bv
			}
			if beta == 0 {
				c[i*ldc+j] = alpha * sum
			} else {
				c[i*ldc+j] = alpha*sum + beta*c[i*ldc+j]
			}
		}
	}
}
