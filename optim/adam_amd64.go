package optim

import "golang.org/x/sys/cpu"

var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func adamAVX2(w, grad, m, v *float32, n int, c *adamConsts)

// adamVector updates the first n elements (a multiple of 8) with AVX2 and
// FMA when the CPU has them and returns how many it did.
func adamVector(w, g, m, v []float32, c *adamConsts) int {
	n := len(w) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	adamAVX2(&w[0], &g[0], &m[0], &v[0], n, c)
	return n
}
