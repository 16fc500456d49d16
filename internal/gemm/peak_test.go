//go:build amd64 && !purego

package gemm

import "testing"

// BenchmarkKernelPeak runs one microkernel on L1-resident packed panels:
// the ceiling the drivers can reach on this CPU.
func BenchmarkKernelPeak(b *testing.B) {
	const k = 256
	a := make([]float32, 12*k)
	bp := make([]float32, 32*k)
	c := make([]float32, 12*32)
	for i := range a {
		a[i] = 1
	}
	b.Run("avx512_12x32", func(b *testing.B) {
		if !hasAVX512 {
			b.Skip("no AVX-512")
		}
		for b.Loop() {
			sgemmAvx512MR12N32(k, &a[0], 1, 12, &bp[0], 32, &c[0], 32, 0xffffffff, 1, 0)
		}
		b.ReportMetric(2*12*32*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("avx2_6x16", func(b *testing.B) {
		for b.Loop() {
			sgemmAvx2MR6(k, &a[0], 1, 6, &bp[0], 16, &c[0], 16, 1, 0)
		}
		b.ReportMetric(2*6*16*k*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
