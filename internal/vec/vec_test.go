package vec

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestKernelsMatchLoops runs each kernel with and without the vector path
// on lengths around the vector width and compares with the formula.
func TestKernelsMatchLoops(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	rnd := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(r.NormFloat64())
		}
		return s
	}
	for _, vector := range []bool{false, true} {
		saved := useAVX2
		useAVX2 = useAVX2 && vector
		for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 100} {
			x, g, h, acc := rnd(n), rnd(n), rnd(n), rnd(n)
			y := make([]float32, n)
			ReLU(y, x)
			for i := range y {
				if y[i] != max(x[i], 0) {
					t.Fatalf("ReLU n=%d: %v at %d", n, y[i], i)
				}
			}
			gx := append([]float32(nil), acc...)
			ReLUBackward(gx, g, y)
			for i := range gx {
				want := acc[i]
				if y[i] > 0 {
					want += g[i]
				}
				if gx[i] != want {
					t.Fatalf("ReLUBackward n=%d: %v at %d, want %v", n, gx[i], i, want)
				}
			}
			d := append([]float32(nil), acc...)
			Add(d, x)
			for i := range d {
				if d[i] != acc[i]+x[i] {
					t.Fatalf("Add n=%d", n)
				}
			}
			Affine(y, x, 1.5, -0.25)
			for i := range y {
				if !near(y[i], 1.5*x[i]-0.25) {
					t.Fatalf("Affine n=%d: %v, want %v", n, y[i], 1.5*x[i]-0.25)
				}
			}
			st := append([]float32(nil), x...)
			SoftThreshold(st, 0.5)
			for i := range st {
				want := float32(0) // |x| ≤ 0.5 lands on zero, the rest moves 0.5 towards it
				if x[i] > 0.5 {
					want = x[i] - 0.5
				} else if x[i] < -0.5 {
					want = x[i] + 0.5
				}
				if st[i] != want {
					t.Fatalf("SoftThreshold n=%d: %v at %d from %v, want %v", n, st[i], i, x[i], want)
				}
			}
			if got := Sum(g); math.Abs(float64(got)-sumOf(g)) > 1e-4 {
				t.Fatalf("Sum n=%d: %v, want %v", n, got, sumOf(g))
			}
			s, dot := SumDot(g, h)
			var ws, wd float64
			for i := range g {
				ws += float64(g[i])
				wd += float64(g[i]) * float64(h[i])
			}
			if math.Abs(float64(s)-ws) > 1e-4 || math.Abs(float64(dot)-wd) > 1e-4 {
				t.Fatalf("SumDot n=%d: %v %v, want %v %v", n, s, dot, ws, wd)
			}
			gx = append([]float32(nil), acc...)
			NormBackward(gx, g, h, 0.7, 0.1, -0.2)
			for i := range gx {
				if want := acc[i] + 0.7*(g[i]-0.1-h[i]*-0.2); !near(gx[i], want) {
					t.Fatalf("NormBackward n=%d: %v, want %v", n, gx[i], want)
				}
			}
		}
		useAVX2 = saved
	}
}

func near(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-5*max(1, math.Abs(float64(b))) }

func sumOf(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s
}

// TestTranscendentals compares the vector exp, sigmoid and tanh with the
// float64 library functions over the range networks use.
func TestTranscendentals(t *testing.T) {
	n := 4000
	x := make([]float32, n)
	for i := range x {
		x[i] = -100 + 200*float32(i)/float32(n-1)
	}
	x = append(x, 0, 1e-7, -1e-7, 0.5, -0.5, 30, -30)
	y := make([]float32, len(x))
	for _, c := range []struct {
		name string
		f    func(y, x []float32)
		ref  func(float64) float64
	}{
		{"Exp", Exp, math.Exp},
		{"Sigmoid", Sigmoid, func(v float64) float64 { return 1 / (1 + math.Exp(-v)) }},
		{"Tanh", Tanh, math.Tanh},
	} {
		c.f(y, x)
		for i, v := range x {
			want := c.ref(float64(v))
			if c.name == "Exp" && (v > 88 || v < -87.3) {
				continue // saturated
			}
			tol := 4e-7 * math.Abs(want)
			if c.name != "Exp" {
				tol = max(tol, 1.2e-7) // absolute near zero
			}
			if d := math.Abs(float64(y[i]) - want); d > tol || math.IsNaN(float64(y[i])) {
				t.Fatalf("%s(%v) = %v, want %v (error %.3g)", c.name, v, y[i], want, d)
			}
		}
	}
}

// TestFirstNonFiniteAndAddScaled64 checks the finite scan at every
// position around the vector width and the float64 accumulation bit for
// bit against the plain loop.
func TestFirstNonFiniteAndAddScaled64(t *testing.T) {
	for _, vector := range []bool{false, true} {
		saved := useAVX2
		useAVX2 = useAVX2 && vector
		for _, n := range []int{0, 1, 7, 8, 9, 16, 31, 100} {
			x := make([]float32, n)
			for i := range x {
				x[i] = float32(i) - 3.5
			}
			if got := FirstNonFinite(x); got != -1 {
				t.Fatalf("n=%d finite: %d, want -1", n, got)
			}
			for _, bad := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
				for at := range n {
					y := append([]float32(nil), x...)
					y[at] = bad
					if at+2 < n {
						y[at+2] = bad
					}
					if got := FirstNonFinite(y); got != at {
						t.Fatalf("n=%d, %v at %d: found %d", n, bad, at, got)
					}
				}
			}
			dst, want := make([]float64, n), make([]float64, n)
			for i := range dst {
				dst[i] = 0.1 * float64(i)
				want[i] = dst[i] + 1.7*float64(x[i])
			}
			AddScaled64(dst, x, 1.7)
			for i := range dst {
				if dst[i] != want[i] {
					t.Fatalf("AddScaled64 n=%d: %v at %d, want %v", n, dst[i], i, want[i])
				}
			}
		}
		useAVX2 = saved
	}
}
