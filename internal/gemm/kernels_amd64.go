//go:build amd64 && !purego

package gemm

//go:generate go run asmgen.go -out kernels_amd64.s

// Declarations of the generated microkernels in kernels_amd64.s; see
// asmgen.go for their contracts. Pointers must address valid elements for
// every access the kernel makes (the drivers guarantee this).

//go:noescape
func packBTAvx512(dst *float32, dstStride int, src *float32, ldb int, k int)

//go:noescape
func sgemmAvx512MR1NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR2NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR3NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR4NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR5NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR6NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR7NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR8NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR9NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR10NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR11NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR12NV1(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR1NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR2NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR3NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR4NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR5NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR6NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR7NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR8NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR9NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR10NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR11NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

//go:noescape
func sgemmAvx512MR12NV2(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32)

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
func sgemmAvx512MR1NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR2NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR3NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR4NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR5NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR6NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR7NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR8NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR9NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR10NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR11NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR12NV1Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR1NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR2NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR3NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR4NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR5NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR6NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR7NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR8NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR9NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR10NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR11NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)

//go:noescape
func sgemmAvx512MR12NV2Pack(k int, a *float32, rsA, csA int, b *float32, ldb int, c *float32, ldc int, mask uint32, alpha, beta float32, pk *float32)
