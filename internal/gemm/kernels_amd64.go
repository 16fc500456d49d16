//go:build amd64 && !purego

package gemm

//go:generate go run asmgen.go -out kernels_amd64.s

// Declarations of the generated microkernels in kernels_amd64.s; see
// asmgen.go for their contracts. Pointers must address valid elements for
// every access the kernel makes (the drivers guarantee this).

//go:noescape
func sgemmDotAvx512(k int, a0, a1, a2, a3, b0, b1, b2, b3 *float32, c *float32, ldc int, mr, nr int, alpha, beta float32)

//go:noescape
func packBTAvx512(dst *float32, dstStride int, src *float32, ldb int, k int, rows int)

//go:noescape
func sgemmAvx2MR1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmAvx2MR2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmAvx2MR3(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmAvx2MR4(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmAvx2MR5(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmAvx2MR6(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32)

//go:noescape
func sgemmAvx512MR1N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR2N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR3N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR4N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR5N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR6N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR7N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR8N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR9N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR10N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR11N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR12N8(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR1N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR2N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR3N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR4N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR5N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR6N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR7N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR8N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR9N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR10N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR11N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR12N16(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR1N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR2N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR3N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR4N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR5N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR6N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR7N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR8N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR9N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR10N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR11N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR12N32(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR1N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR2N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR3N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR4N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR5N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR6N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR7N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR8N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR9N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR10N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR11N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR12N8Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR1N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR2N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR3N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR4N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR5N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR6N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR7N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR8N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR9N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR10N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR11N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR12N16Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR1N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR2N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR3N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR4N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR5N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR6N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR7N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR8N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR9N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR10N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR11N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR12N32Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx2MR1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx2MR2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx2MR3Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx2MR4Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx2MR5Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx2MR6Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, alpha, beta float32, pk *float32)

//go:noescape
func packBTAvx2(dst *float32, dstStride int, src *float32, ldb int, k int, rows int)
