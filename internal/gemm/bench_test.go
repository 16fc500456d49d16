package gemm

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/gonum"
)

// benchShape is one GEMM the engine runs: op(A) m×k, op(B) k×n.
// Keep in sync with testdata/torch_bench.py.
type benchShape struct {
	use            string
	m, k, n        int
	transA, transB bool
	beta           float32
}

func (s benchShape) name() string {
	t := func(b bool) string {
		if b {
			return "T"
		}
		return "N"
	}
	return fmt.Sprintf("%s_%s%s_%dx%dx%d", s.use, t(s.transA), t(s.transB), s.m, s.k, s.n)
}

var benchShapes = []benchShape{
	// Dense forward y = x·Wᵀ (W is out×in).
	{"dense", 64, 700, 64, false, true, 0},
	{"dense", 32, 3072, 128, false, true, 0},
	{"dense", 32, 500, 128, false, true, 0},
	{"dense", 32, 32, 128, false, true, 0},
	{"dense", 32, 128, 128, false, true, 0},
	{"dense", 32, 384, 256, false, true, 0},
	{"dense", 32, 256, 128, false, true, 0},
	{"dense", 32, 128, 64, false, true, 0},
	{"dense", 64, 64, 8, false, true, 0},
	// Dense backward: dW += dyᵀ·x, dx = dy·W.
	{"dW", 128, 32, 3072, true, false, 1},
	{"dW", 64, 64, 700, true, false, 1},
	{"dx", 32, 128, 3072, false, false, 0},
	{"dx", 64, 64, 700, false, false, 0},
	// Convolution via im2col: W[outC, inC·kh·kw]·cols, and its backward
	// forms dW = dY·colsᵀ, dcols = Wᵀ·dY.
	{"conv", 32, 27, 1024, false, false, 0},
	{"conv", 32, 27, 32768, false, false, 0},
	{"conv", 64, 288, 256, false, false, 0},
	{"conv", 64, 288, 8192, false, false, 0},
	{"conv", 16, 7, 347, false, false, 0},
	{"conv", 32, 80, 172, false, false, 0},
	{"convdW", 32, 1024, 27, false, true, 0},
	{"convdW", 64, 256, 288, false, true, 0},
	{"convdW", 32, 172, 80, false, true, 0},
	{"convdX", 27, 32, 1024, true, false, 0},
	{"convdX", 288, 64, 256, true, false, 0},
	{"convdX", 80, 32, 172, true, false, 0},
	// LSTM: gates = h·Wᵀ, backward dh = dgates·W, dW += dgatesᵀ·h.
	{"lstm", 32, 64, 256, false, true, 0},
	{"lstm", 320, 50, 256, false, true, 0},
	{"lstm", 320, 128, 256, false, true, 0},
	{"lstmdh", 32, 256, 64, false, false, 0},
	{"lstmdW", 256, 32, 64, true, false, 1},
	{"lstmdW", 256, 320, 128, true, false, 1},
	// Square-ish reference points.
	{"mm", 64, 700, 64, false, false, 0},
	{"mm", 256, 700, 64, false, false, 0},
	{"mm", 1024, 1024, 1024, false, false, 0},
}

// BenchmarkSgemm reports GFLOP/s (2·m·n·k flops per call) for every
// engine shape on every Sgemm path this CPU has, and for gonum's blas32.
// Run single-threaded: go test -run - -bench Sgemm -cpu 1 ./internal/gemm
func BenchmarkSgemm(b *testing.B) {
	impls := sgemmPaths()
	impls = append(impls, sgemmPathCase{"gonum", gonumSgemm})
	for _, s := range benchShapes {
		rng := rand.New(rand.NewPCG(1, 1))
		p := problem{s.transA, s.transB, s.m, s.n, s.k, 1, float64(s.beta), 0}
		a, lda, bb, ldb, c, ldc := operands[float32](p, rng)
		for i := range c {
			c[i] = 0
		}
		for _, impl := range impls {
			b.Run(s.name()+"/"+impl.name, func(b *testing.B) {
				usePath(b, impl.fn)
				for b.Loop() {
					Sgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, s.beta, c, ldc)
				}
				b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
			})
		}
	}
}

func gonumSgemm(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int) {
	tA, tB := blas.NoTrans, blas.NoTrans
	if transA {
		tA = blas.Trans
	}
	if transB {
		tB = blas.Trans
	}
	gonum.Implementation{}.Sgemm(tA, tB, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc)
}

// BenchmarkDgemm reports GFLOP/s of the portable float64 path.
func BenchmarkDgemm(b *testing.B) {
	for _, s := range []benchShape{benchShapes[0], benchShapes[31], benchShapes[33]} {
		rng := rand.New(rand.NewPCG(1, 1))
		p := problem{s.transA, s.transB, s.m, s.n, s.k, 1, 0, 0}
		a, lda, bb, ldb, c, ldc := operands[float64](p, rng)
		b.Run(s.name(), func(b *testing.B) {
			for b.Loop() {
				Dgemm(s.transA, s.transB, s.m, s.n, s.k, 1, a, lda, bb, ldb, 0, c, ldc)
			}
			b.ReportMetric(2*float64(s.m)*float64(s.n)*float64(s.k)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
