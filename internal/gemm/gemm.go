// Package gemm is the engine's general matrix multiply for row-major
// matrices: C = alpha·op(A)·op(B) + beta·C with op(X) = X or Xᵀ.
//
// Sgemm (float32) is the hot path of the engine. On amd64 it runs
// generated assembly microkernels (see asmgen.go), chosen once at
// start-up from the CPU features: AVX-512F+VL (12×32, 12×16 and 12×8
// register tiles with masked edges, plus a 4×4 dot-product tile for
// C = A·Bᵀ with long k) or AVX2+FMA (6×16 tiles). Everywhere else, and
// with the build tag purego, it runs a portable blocked Go kernel. Dgemm
// (float64) always runs the portable Go kernel. The design and its
// measurements are in docs/decisions/0001-gemm-kernel.md.
//
// All paths are single-threaded and deterministic: for given inputs and
// path the summation order is fixed, so repeated calls give bit-identical
// results. Different paths (AVX-512, AVX2, Go) may round differently from
// each other.
package gemm

import (
	"fmt"
	"strings"
)

// Sgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float32
// matrices, where op(X) is X when the trans flag is false and Xᵀ when it is
// true. op(A) is m×k, op(B) is k×n and C is m×n; lda, ldb and ldc are the
// row strides of the stored A, B and C.
//
// When beta == 0, C is not read, so NaN or Inf already in C does not reach
// the result. Bad dimensions (negative sizes, a row stride shorter than the
// stored row, a slice too short for its matrix) panic with a message that
// starts with "gemm: ".
func Sgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	sgemmImpl(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Dgemm computes C = alpha·op(A)·op(B) + beta·C for row-major float64
// matrices, with the same conventions as Sgemm: op(A) is m×k, op(B) is k×n,
// C is m×n, lda/ldb/ldc are row strides, and C is not read when beta == 0.
// It runs the portable Go kernel on every architecture.
func Dgemm(transA, transB bool, m, n, k int, alpha float64, a []float64, lda int, b []float64, ldb int, beta float64, c []float64, ldc int) {
	checkArgs(transA, transB, m, n, k, len(a), lda, len(b), ldb, len(c), ldc)
	if m == 0 || n == 0 {
		return
	}
	if k == 0 || alpha == 0 {
		scaleC(m, n, beta, c, ldc)
		return
	}
	gemmGo(transA, transB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// Gemm computes C = alpha·op(A)·op(B) + beta·C, dispatching to Sgemm for
// float32 and Dgemm for float64.
func Gemm[T float32 | float64](transA, transB bool, m, n, k int, alpha T, a []T, lda int, b []T, ldb int, beta T, c []T, ldc int) {
	switch a := any(a).(type) {
	case []float32:
		Sgemm(transA, transB, m, n, k, float32(alpha), a, lda, any(b).([]float32), ldb, float32(beta), any(c).([]float32), ldc)
	case []float64:
		Dgemm(transA, transB, m, n, k, float64(alpha), a, lda, any(b).([]float64), ldb, float64(beta), any(c).([]float64), ldc)
	}
}

// scaleC sets C = beta·C for the m×n matrix C; with beta == 0 it writes
// zeros without reading C.
func scaleC[T float32 | float64](m, n int, beta T, c []T, ldc int) {
	if beta == 1 {
		return
	}
	for i := 0; i < m; i++ {
		row := c[i*ldc : i*ldc+n]
		if beta == 0 {
			clear(row)
			continue
		}
		for j := range row {
			row[j] *= beta
		}
	}
}

// checkArgs panics if the dimensions do not describe valid matrices.
// op(A) is m×k, so the stored A is m×k (lda ≥ k) or k×m when transposed
// (lda ≥ m); likewise for B. Strides must be at least 1 as in BLAS.
func checkArgs(transA, transB bool, m, n, k, lenA, lda, lenB, ldb, lenC, ldc int) {
	if m < 0 || n < 0 || k < 0 {
		panic(fmt.Sprintf("gemm: negative size m=%d n=%d k=%d", m, n, k))
	}
	rowsA, colsA := m, k
	if transA {
		rowsA, colsA = k, m
	}
	rowsB, colsB := k, n
	if transB {
		rowsB, colsB = n, k
	}
	checkMatrix("A", transA, rowsA, colsA, lenA, lda)
	checkMatrix("B", transB, rowsB, colsB, lenB, ldb)
	checkMatrix("C", false, m, n, lenC, ldc)
}

func checkMatrix(name string, trans bool, rows, cols, length, ld int) {
	if ld < max(1, cols) {
		panic(fmt.Sprintf("gemm: ld%s=%d is less than the row length %d of %s",
			strings.ToLower(name), ld, cols, describe(name, trans, rows, cols)))
	}
	if rows == 0 || cols == 0 {
		return
	}
	if need := (rows-1)*ld + cols; length < need {
		panic(fmt.Sprintf("gemm: len(%s)=%d is too short for %s with ld%s=%d; need %d",
			strings.ToLower(name), length, describe(name, trans, rows, cols), strings.ToLower(name), ld, need))
	}
}

// describe names a stored operand and its shape for panic messages.
func describe(name string, trans bool, rows, cols int) string {
	s := fmt.Sprintf("the stored %d×%d %s", rows, cols, name)
	if name != "C" {
		s += fmt.Sprintf(" (trans%s=%v)", name, trans)
	}
	return s
}
