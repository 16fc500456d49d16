package gemm

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

type sgemmFunc = func(transA, transB bool, m, n, k int, alpha float32, a []float32, lda int, b []float32, ldb int, beta float32, c []float32, ldc int)

type sgemmPathCase struct {
	name string
	fn   sgemmFunc
}

// usePath makes Sgemm run fn until the test ends (or the next usePath).
func usePath(t testing.TB, fn sgemmFunc) {
	old := sgemmImpl
	sgemmImpl = fn
	t.Cleanup(func() { sgemmImpl = old })
}

// problem is one GEMM call: op(A) m×k, op(B) k×n, C m×n, with row padding
// so that strides exceed row lengths.
type problem struct {
	transA, transB bool
	m, n, k        int
	alpha, beta    float64
	pad            int
}

func (p problem) String() string {
	return fmt.Sprintf("tA=%v,tB=%v,m=%d,n=%d,k=%d,alpha=%g,beta=%g,pad=%d", p.transA, p.transB, p.m, p.n, p.k, p.alpha, p.beta, p.pad)
}

// operands returns random A, B, C and strides for p. Padding elements of C
// hold a sentinel; with beta == 0 the m×n part of C holds NaN.
func operands[T float32 | float64](p problem, rng *rand.Rand) (a []T, lda int, b []T, ldb int, c []T, ldc int) {
	ra, ca := p.m, p.k
	if p.transA {
		ra, ca = p.k, p.m
	}
	rb, cb := p.k, p.n
	if p.transB {
		rb, cb = p.n, p.k
	}
	lda, ldb, ldc = max(1, ca+p.pad), max(1, cb+p.pad), max(1, p.n+p.pad)
	fill := func(n int) []T {
		s := make([]T, n)
		for i := range s {
			s[i] = T(rng.Float64()*2 - 1)
		}
		return s
	}
	a = fill(max(0, (ra-1)*lda+ca))
	b = fill(max(0, (rb-1)*ldb+cb))
	c = fill(max(0, (p.m-1)*ldc+p.n))
	for i := range c {
		if i%ldc >= p.n {
			c[i] = sentinel
		} else if p.beta == 0 {
			c[i] = T(math.NaN())
		}
	}
	return
}

const sentinel = 12345

// checkClose compares got with want = reference result, allowing
// tol·(|alpha|·Σ|a||b| + |beta·c|) per element with tol = 2(k+2)·eps, and
// checks that the padding of C was not written.
func checkClose[T float32 | float64](t *testing.T, name string, p problem, eps float64, got, want []T, bound []float64, ldc int) {
	t.Helper()
	tol := 2 * float64(p.k+2) * eps
	bad := 0
	for i := range got {
		if i%ldc >= p.n {
			if got[i] != sentinel {
				t.Errorf("%s %v: padding c[%d] = %v was written", name, p, i, got[i])
				return
			}
			continue
		}
		d := math.Abs(float64(got[i]) - float64(want[i]))
		if !(d <= tol*bound[i]+1e-30) {
			if bad++; bad <= 3 {
				t.Errorf("%s %v: c[%d,%d] = %v, want %v (diff %g, allowed %g)", name, p, i/ldc, i%ldc, got[i], want[i], d, tol*bound[i])
			}
		}
	}
}

// errorBound returns |alpha|·Σ_p|op(A)[i,p]|·|op(B)[p,j]| + |beta·C[i,j]|
// for every element of C (0 where beta == 0), the scale of the rounding
// error any summation order can make.
func errorBound[T float32 | float64](p problem, a []T, lda int, b []T, ldb int, c []T, ldc int) []float64 {
	bound := make([]float64, len(c))
	for i := 0; i < p.m; i++ {
		for j := 0; j < p.n; j++ {
			s := 0.0
			for q := 0; q < p.k; q++ {
				var av, bv T
				if p.transA {
					av = a[q*lda+i]
				} else {
					av = a[i*lda+q]
				}
				if p.transB {
					bv = b[j*ldb+q]
				} else {
					bv = b[q*ldb+j]
				}
				s += math.Abs(float64(av) * float64(bv))
			}
			s *= math.Abs(p.alpha)
			if p.beta != 0 {
				s += math.Abs(p.beta * float64(c[i*ldc+j]))
			}
			bound[i*ldc+j] = s
		}
	}
	return bound
}

// problems returns the shape table: every combination of small awkward
// sizes around the register-tile edges (12×32, 6×16, 2×4), plus larger
// shapes that cross the k-block (256), the column block (512) and the B
// packing threshold (m ≥ 64).
func problems() []problem {
	sizes := []int{1, 2, 3, 7, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 129}
	ks := []int{0, 1, 2, 3, 7, 16, 17, 31, 33, 64, 65, 129}
	alphas := []float64{1, 0.5, -2}
	betas := []float64{0, 1, 0.3}
	pads := []int{0, 1, 5}
	var ps []problem
	i := 0
	add := func(tA, tB bool, m, n, k int) {
		p := problem{tA, tB, m, n, k, alphas[i%3], betas[(i/3)%3], pads[(i/9)%3]}
		i++
		// Under -race, which runs these products about ten times slower
		// and finds nothing concurrent in them (TestConcurrentCalls is
		// the concurrent test), every fifth shape: each path still meets
		// small, edge and large shapes. The plain run checks them all.
		if raceEnabled && i%5 != 1 {
			return
		}
		ps = append(ps, p)
	}
	for _, tA := range []bool{false, true} {
		for _, tB := range []bool{false, true} {
			for _, m := range sizes {
				for _, n := range sizes {
					for _, k := range ks {
						add(tA, tB, m, n, k)
					}
				}
			}
			for _, s := range [][3]int{{300, 200, 260}, {70, 600, 520}, {129, 1100, 40}, {12, 40, 1000}, {300, 17, 257}, {64, 64, 700}} {
				add(tA, tB, s[0], s[1], s[2])
			}
		}
	}
	return ps
}

func TestSgemmMatchesReference(t *testing.T) {
	paths := sgemmTestPaths()
	rng := rand.New(rand.NewPCG(1, 2))
	for _, p := range problems() {
		a, lda, b, ldb, c, ldc := operands[float32](p, rng)
		want := append([]float32(nil), c...)
		sgemmRef(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), a, lda, b, ldb, float32(p.beta), want, ldc)
		bound := errorBound(p, a, lda, b, ldb, c, ldc)
		for _, path := range paths {
			got := append([]float32(nil), c...)
			path := path
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s %v: panic: %v", path.name, p, r)
					}
				}()
				usePath(t, path.fn)
				Sgemm(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), a, lda, b, ldb, float32(p.beta), got, ldc)
			}()
			checkClose(t, path.name, p, 0x1p-24, got, want, bound, ldc)
		}
		if t.Failed() {
			return
		}
	}
}

func TestDgemmMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range problems() {
		a, lda, b, ldb, c, ldc := operands[float64](p, rng)
		want := append([]float64(nil), c...)
		dgemmRef(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a, lda, b, ldb, p.beta, want, ldc)
		bound := errorBound(p, a, lda, b, ldb, c, ldc)
		Dgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a, lda, b, ldb, p.beta, c, ldc)
		checkClose(t, "dgemm", p, 0x1p-53, c, want, bound, ldc)
		if t.Failed() {
			return
		}
	}
}

// TestGemmDispatch checks that Gemm reaches Sgemm and Dgemm bit for bit.
func TestGemmDispatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	p := problem{false, true, 37, 45, 53, 0.5, 0.3, 2}
	a, lda, b, ldb, c, ldc := operands[float32](p, rng)
	c2 := append([]float32(nil), c...)
	Gemm(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), a, lda, b, ldb, float32(p.beta), c, ldc)
	Sgemm(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), a, lda, b, ldb, float32(p.beta), c2, ldc)
	if !bitsEqual(c, c2) {
		t.Error("Gemm[float32] differs from Sgemm")
	}
	da, _, db, _, dc, _ := operands[float64](p, rng)
	dc2 := append([]float64(nil), dc...)
	Gemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, da, lda, db, ldb, p.beta, dc, ldc)
	Dgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, da, lda, db, ldb, p.beta, dc2, ldc)
	if !bitsEqual(dc, dc2) {
		t.Error("Gemm[float64] differs from Dgemm")
	}
}

func bitsEqual[T float32 | float64](x, y []T) bool {
	if len(x) != len(y) {
		return false
	}
	for i := range x {
		if math.Float64bits(float64(x[i])) != math.Float64bits(float64(y[i])) && !(x[i] != x[i] && y[i] != y[i]) {
			return false
		}
	}
	return true
}

// TestDeterministic runs the same calls twice on every path and requires
// bit-identical results.
func TestDeterministic(t *testing.T) {
	shapes := []problem{
		{false, true, 64, 64, 700, 1, 0, 0},
		{true, false, 128, 300, 32, 1, 1, 0},
		{false, false, 300, 520, 300, 0.5, 0.3, 3},
		{true, true, 33, 65, 257, -2, 1, 1},
	}
	for _, path := range sgemmTestPaths() {
		usePath(t, path.fn)
		for _, p := range shapes {
			rng := rand.New(rand.NewPCG(7, 8))
			a, lda, b, ldb, c, ldc := operands[float32](p, rng)
			c1 := append([]float32(nil), c...)
			c2 := append([]float32(nil), c...)
			Sgemm(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), a, lda, b, ldb, float32(p.beta), c1, ldc)
			Sgemm(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), a, lda, b, ldb, float32(p.beta), c2, ldc)
			if !bitsEqual(c1, c2) {
				t.Errorf("%s %v: two identical calls differ", path.name, p)
			}
		}
	}
	p := shapes[2]
	rng := rand.New(rand.NewPCG(7, 8))
	a, lda, b, ldb, c, ldc := operands[float64](p, rng)
	c1 := append([]float64(nil), c...)
	c2 := append([]float64(nil), c...)
	Dgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a, lda, b, ldb, p.beta, c1, ldc)
	Dgemm(p.transA, p.transB, p.m, p.n, p.k, p.alpha, a, lda, b, ldb, p.beta, c2, ldc)
	if !bitsEqual(c1, c2) {
		t.Errorf("dgemm %v: two identical calls differ", p)
	}
}

func TestBadArgumentsPanic(t *testing.T) {
	s := make([]float32, 100)
	tests := []struct {
		name           string
		transA, transB bool
		m, n, k        int
		a              []float32
		lda            int
		b              []float32
		ldb            int
		c              []float32
		ldc            int
		want           string
	}{
		{"negative m", false, false, -1, 2, 2, s, 2, s, 2, s, 2, "gemm: negative size m=-1"},
		{"negative k", false, false, 2, 2, -3, s, 2, s, 2, s, 2, "k=-3"},
		{"lda short", false, false, 4, 4, 5, s, 4, s, 4, s, 4, "gemm: lda=4 is less than the row length 5 of the stored 4×5 A (transA=false)"},
		{"lda short transposed", true, false, 5, 4, 4, s, 4, s, 4, s, 4, "gemm: lda=4 is less than the row length 5 of the stored 4×5 A (transA=true)"},
		{"ldb short", false, true, 4, 4, 6, s, 6, s, 5, s, 4, "gemm: ldb=5 is less than the row length 6 of the stored 4×6 B (transB=true)"},
		{"ldc short", false, false, 4, 5, 4, s, 4, s, 5, s, 4, "gemm: ldc=4 is less than the row length 5 of the stored 4×5 C"},
		{"a too short", false, false, 10, 2, 11, s, 11, s, 2, s, 2, "gemm: len(a)=100 is too short for the stored 10×11 A (transA=false) with lda=11; need 110"},
		{"b too short", false, false, 2, 20, 6, s, 6, s, 20, s, 20, "gemm: len(b)=100 is too short for the stored 6×20 B (transB=false) with ldb=20; need 120"},
		{"c too short", false, false, 11, 10, 1, s, 1, s, 10, s, 10, "gemm: len(c)=100 is too short for the stored 11×10 C with ldc=10; need 110"},
		{"zero stride", false, false, 0, 0, 0, s, 0, s, 1, s, 1, "gemm: lda=0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, tt.want) {
					t.Errorf("panic %q, want it to contain %q", r, tt.want)
				}
			}()
			Sgemm(tt.transA, tt.transB, tt.m, tt.n, tt.k, 1, tt.a, tt.lda, tt.b, tt.ldb, 0, tt.c, tt.ldc)
		})
	}
}

// TestEmptyShapes: m or n zero leaves C alone; k == 0 gives C = beta·C.
func TestEmptyShapes(t *testing.T) {
	c := []float32{1, 2, 3, 4}
	Sgemm(false, false, 0, 2, 3, 1, nil, 3, make([]float32, 6), 2, 0, c, 2)
	Sgemm(false, false, 2, 0, 3, 1, make([]float32, 6), 3, nil, 1, 0, c, 2)
	if c[0] != 1 || c[3] != 4 {
		t.Errorf("m or n = 0 changed C: %v", c)
	}
	Sgemm(false, false, 2, 2, 0, 1, nil, 1, nil, 2, 0.5, c, 2)
	if c[0] != 0.5 || c[3] != 2 {
		t.Errorf("k = 0, beta = 0.5: C = %v, want [0.5 1 1.5 2]", c)
	}
	c = []float32{float32(math.NaN()), 1}
	Sgemm(false, false, 1, 2, 0, 1, nil, 1, nil, 2, 0, c, 2)
	if c[0] != 0 || c[1] != 0 {
		t.Errorf("k = 0, beta = 0: C = %v, want zeros", c)
	}
}

// TestSteadyStateNoAlloc: repeated calls reuse their pack buffers.
func TestSteadyStateNoAlloc(t *testing.T) {
	if raceEnabled {
		t.Skip("skipped under -race only: the race detector allocates by itself, so allocation counts say nothing; the plain run checks them")
	}
	p := problem{false, true, 64, 64, 700, 1, 0, 0}
	rng := rand.New(rand.NewPCG(9, 10))
	a, lda, b, ldb, c, ldc := operands[float32](p, rng)
	for _, path := range sgemmPaths() {
		usePath(t, path.fn)
		allocs := testing.AllocsPerRun(20, func() {
			Sgemm(p.transA, p.transB, p.m, p.n, p.k, 1, a, lda, b, ldb, 0, c, ldc)
		})
		if allocs > 0.5 {
			t.Errorf("%s: %v allocations per call", path.name, allocs)
		}
	}
}

// TestConcurrentCalls: callers parallelise above Sgemm, so concurrent
// calls must not share scratch state.
func TestConcurrentCalls(t *testing.T) {
	shapes := []problem{
		{false, true, 32, 128, 128, 1, 0, 0},
		{false, false, 70, 600, 300, 1, 0.5, 1},
		{true, false, 64, 64, 700, 1, 1, 0},
		{false, true, 32, 27, 1024, 1, 0, 0},
	}
	type job struct {
		p          problem
		a, b, want []float32
		c          []float32
		lda, ldb   int
		ldc        int
	}
	var jobs []job
	rng := rand.New(rand.NewPCG(11, 12))
	for _, p := range shapes {
		a, lda, b, ldb, c, ldc := operands[float32](p, rng)
		want := append([]float32(nil), c...)
		Sgemm(p.transA, p.transB, p.m, p.n, p.k, float32(p.alpha), a, lda, b, ldb, float32(p.beta), want, ldc)
		jobs = append(jobs, job{p, a, b, want, c, lda, ldb, ldc})
	}
	errs := make(chan string, 64)
	done := make(chan struct{})
	for g := 0; g < 8; g++ {
		go func() {
			defer func() { done <- struct{}{} }()
			for r := 0; r < 20; r++ {
				j := jobs[(g+r)%len(jobs)]
				got := append([]float32(nil), j.c...)
				Sgemm(j.p.transA, j.p.transB, j.p.m, j.p.n, j.p.k, float32(j.p.alpha), j.a, j.lda, j.b, j.ldb, float32(j.p.beta), got, j.ldc)
				if !bitsEqual(got, j.want) {
					errs <- fmt.Sprintf("%v: concurrent result differs from sequential", j.p)
					return
				}
			}
		}()
	}
	for g := 0; g < 8; g++ {
		<-done
	}
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
