//go:build goexperiment.simd && amd64

package gemm

// An experiment kept for the kernel decision record: the same register
// tile as the AVX-512 assembly, written with Go 1.26's experimental
// simd/archsimd, on L1-resident packed panels. Run with
//
//	GOEXPERIMENT=simd go test -run - -bench ArchSIMD -cpu 1 ./internal/gemm

import (
	"simd/archsimd"
	"testing"
)

// archsimdKernel8x32 computes the 8×32 tile Σ_p a[p][r]·b[p][0:32] for a
// packed [k][8] and b [k][32] and stores it to c (row stride 32).
func archsimdKernel8x32(k int, a, b, c []float32) {
	var c00, c01, c10, c11, c20, c21, c30, c31 archsimd.Float32x16
	var c40, c41, c50, c51, c60, c61, c70, c71 archsimd.Float32x16
	for p := 0; p < k; p++ {
		b0 := archsimd.LoadFloat32x16Slice(b[p*32:])
		b1 := archsimd.LoadFloat32x16Slice(b[p*32+16:])
		ap := a[p*8 : p*8+8 : p*8+8]
		x := archsimd.BroadcastFloat32x16(ap[0])
		c00, c01 = x.MulAdd(b0, c00), x.MulAdd(b1, c01)
		x = archsimd.BroadcastFloat32x16(ap[1])
		c10, c11 = x.MulAdd(b0, c10), x.MulAdd(b1, c11)
		x = archsimd.BroadcastFloat32x16(ap[2])
		c20, c21 = x.MulAdd(b0, c20), x.MulAdd(b1, c21)
		x = archsimd.BroadcastFloat32x16(ap[3])
		c30, c31 = x.MulAdd(b0, c30), x.MulAdd(b1, c31)
		x = archsimd.BroadcastFloat32x16(ap[4])
		c40, c41 = x.MulAdd(b0, c40), x.MulAdd(b1, c41)
		x = archsimd.BroadcastFloat32x16(ap[5])
		c50, c51 = x.MulAdd(b0, c50), x.MulAdd(b1, c51)
		x = archsimd.BroadcastFloat32x16(ap[6])
		c60, c61 = x.MulAdd(b0, c60), x.MulAdd(b1, c61)
		x = archsimd.BroadcastFloat32x16(ap[7])
		c70, c71 = x.MulAdd(b0, c70), x.MulAdd(b1, c71)
	}
	for r, v := range [8][2]archsimd.Float32x16{{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}} {
		v[0].StoreSlice(c[r*32:])
		v[1].StoreSlice(c[r*32+16:])
	}
}

func BenchmarkArchSIMD(b *testing.B) {
	const k = 256
	a := make([]float32, 12*k)
	bp := make([]float32, 32*k)
	c := make([]float32, 12*32)
	b.Run("archsimd_8x32", func(b *testing.B) {
		for b.Loop() {
			archsimdKernel8x32(k, a, bp, c)
		}
		b.ReportMetric(2*8*32*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("asm_avx512_8x32", func(b *testing.B) {
		for b.Loop() {
			sgemmAvx512MR8N32(k, &a[0], 1, 8, &bp[0], 32, &c[0], 32, 0xffffffff, 1, 0)
		}
		b.ReportMetric(2*8*32*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
