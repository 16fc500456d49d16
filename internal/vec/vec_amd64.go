package vec

import "golang.org/x/sys/cpu"

// useAVX2 selects the assembly kernels; tests turn it off to check the
// loops they fall back to.
var useAVX2 = cpu.X86.HasAVX2 && cpu.X86.HasFMA

//go:noescape
func reluAVX2(y, x *float32, n int)

//go:noescape
func reluBackAVX2(gx, gr, y *float32, n int)

//go:noescape
func addAVX2(dst, x *float32, n int)

//go:noescape
func affineAVX2(y, x *float32, n int, a, b float32)

//go:noescape
func sumDotAVX2(gr, h *float32, n int) (sum, dot float32)

//go:noescape
func normBackAVX2(gx, gr, h *float32, n int, k, mg, mgh float32)

func reluVec(y, x []float32) int {
	n := len(y) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	reluAVX2(&y[0], &x[0], n)
	return n
}

func reluBackVec(gx, g, y []float32) int {
	n := len(gx) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	reluBackAVX2(&gx[0], &g[0], &y[0], n)
	return n
}

func addVec(dst, x []float32) int {
	n := len(dst) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	addAVX2(&dst[0], &x[0], n)
	return n
}

//go:noescape
func softThresholdAVX2(x *float32, n int, t float32)

func softThresholdVec(x []float32, t float32) int {
	n := len(x) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	softThresholdAVX2(&x[0], n, t)
	return n
}

//go:noescape
func firstNonFiniteAVX2(x *float32, n int, mask uint32) int

// firstNonFiniteVec scans whole blocks of 8: it returns the start of the
// first block that holds a non-finite value (found), or the end of the
// blocks it scanned.
func firstNonFiniteVec(x []float32) (int, bool) {
	n := len(x) &^ 7
	if !useAVX2 || n == 0 {
		return 0, false
	}
	i := firstNonFiniteAVX2(&x[0], n, 0x7f800000)
	return i, i < n
}

//go:noescape
func addScaled64AVX2(dst *float64, x *float32, n int, w float64)

func addScaled64Vec(dst []float64, x []float32, w float64) int {
	n := len(dst) &^ 3
	if !useAVX2 || n == 0 {
		return 0
	}
	addScaled64AVX2(&dst[0], &x[0], n, w)
	return n
}

func affineVec(y, x []float32, a, b float32) int {
	n := len(y) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	affineAVX2(&y[0], &x[0], n, a, b)
	return n
}

func sumDotVec(g, h []float32) (int, float32, float32) {
	n := len(g) &^ 7
	if !useAVX2 || n == 0 {
		return 0, 0, 0
	}
	s, d := sumDotAVX2(&g[0], &h[0], n)
	return n, s, d
}

func normBackVec(gx, g, h []float32, k, mg, mgh float32) int {
	n := len(gx) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	normBackAVX2(&gx[0], &g[0], &h[0], n, k, mg, mgh)
	return n
}

//go:noescape
func sumAVX2(x *float32, n int) float32

func sumVec(x []float32) (int, float32) {
	n := len(x) &^ 7
	if !useAVX2 || n == 0 {
		return 0, 0
	}
	return n, sumAVX2(&x[0], n)
}

//go:noescape
func expAVX2(y, x *float32, n int)

//go:noescape
func sigmoidAVX2(y, x *float32, n int)

//go:noescape
func tanhAVX2(y, x *float32, n int)

// mapVec applies an 8-lane kernel to the first multiple of 8 elements.
func mapVec(k func(y, x *float32, n int), y, x []float32) int {
	n := len(y) &^ 7
	if !useAVX2 || n == 0 {
		return 0
	}
	k(&y[0], &x[0], n)
	return n
}

func expVec(y, x []float32) int     { return mapVec(expAVX2, y, x) }
func sigmoidVec(y, x []float32) int { return mapVec(sigmoidAVX2, y, x) }
func tanhVec(y, x []float32) int    { return mapVec(tanhAVX2, y, x) }
