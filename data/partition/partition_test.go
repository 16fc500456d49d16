package partition

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
)

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 0x853c49e6748fea9b)) }

// withY returns a dataset of n samples with a vector modality "v" (the
// sample index) and responses "y" (pseudo-random, with ties) and "z".
func withY(n int) *data.Dataset {
	rng := newRand(99)
	v := make([]float32, n)
	y := make([]float32, 2*n)
	for i := range n {
		v[i] = float32(i)
		y[2*i] = float32(rng.IntN(n / 2))
		y[2*i+1] = float32(i)
	}
	ds, err := data.New(n, []data.Modality{{Name: "v", Kind: data.Vector, Shape: []int{1}, Data: v}}, []string{"y", "z"}, y)
	if err != nil {
		panic(err)
	}
	return ds
}

// TestPartitioners checks, for each partitioner and parameter set, that
// the result is a partition of the samples into ascending lists, that the
// same seed gives the same result, and the sizes the scheme promises.
func TestPartitioners(t *testing.T) {
	type run func(rng *rand.Rand) ([][]int, error)
	tests := []struct {
		name    string
		n       int
		run     run
		sizes   []int // exact sizes, if the scheme fixes them
		minSize int
		spread  int // largest allowed difference of sizes; 0: not checked
	}{
		{"IID 10/3", 10, func(r *rand.Rand) ([][]int, error) { return IID(10, 3, r) }, []int{4, 3, 3}, 0, 0},
		{"IID 2000/3", 2000, func(r *rand.Rand) ([][]int, error) { return IID(2000, 3, r) }, []int{667, 667, 666}, 0, 0},
		{"IID 5/5", 5, func(r *rand.Rand) ([][]int, error) { return IID(5, 5, r) }, []int{1, 1, 1, 1, 1}, 0, 0},
		{"IID 7/1", 7, func(r *rand.Rand) ([][]int, error) { return IID(7, 1, r) }, []int{7}, 0, 0},
		{"ByResponse mix 0", 101, func(r *rand.Rand) ([][]int, error) { return ByResponse(withY(101), "y", 4, 0, r) }, []int{26, 25, 25, 25}, 0, 0},
		{"ByResponse mix 0.3", 101, func(r *rand.Rand) ([][]int, error) { return ByResponse(withY(101), "y", 4, 0.3, r) }, []int{26, 25, 25, 25}, 0, 0},
		{"ByResponse mix 1", 101, func(r *rand.Rand) ([][]int, error) { return ByResponse(withY(101), "z", 4, 1, r) }, []int{26, 25, 25, 25}, 0, 0},
		{"Dirichlet β 0.1", 200, func(r *rand.Rand) ([][]int, error) { return Dirichlet(200, 10, 0.1, 0, r) }, nil, DefaultMinSize, 0},
		{"Dirichlet β 0.01 tight", 30, func(r *rand.Rand) ([][]int, error) { return Dirichlet(30, 10, 0.01, 3, r) }, []int{3, 3, 3, 3, 3, 3, 3, 3, 3, 3}, 3, 0},
		{"Dirichlet β 1", 100, func(r *rand.Rand) ([][]int, error) { return Dirichlet(100, 3, 1, 5, r) }, nil, 5, 0},
		{"Dirichlet β 1e6", 100, func(r *rand.Rand) ([][]int, error) { return Dirichlet(100, 3, 1e6, 1, r) }, nil, 1, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for seed := range uint64(5) {
				parts, err := tt.run(newRand(seed))
				if err != nil {
					t.Fatal(err)
				}
				if err := Check(tt.n, parts); err != nil {
					t.Fatal(err)
				}
				for c, p := range parts {
					if !slices.IsSorted(p) {
						t.Errorf("client %d not sorted: %v", c, p)
					}
					if len(p) < max(tt.minSize, 1) {
						t.Errorf("seed %d: client %d has %d samples, want at least %d", seed, c, len(p), max(tt.minSize, 1))
					}
				}
				sizes := Sizes(parts)
				if tt.sizes != nil && !slices.Equal(sizes, tt.sizes) {
					t.Errorf("seed %d: sizes %v, want %v", seed, sizes, tt.sizes)
				}
				if d := slices.Max(sizes) - slices.Min(sizes); tt.spread > 0 && d > tt.spread {
					t.Errorf("seed %d: sizes %v differ by %d, want at most %d", seed, sizes, d, tt.spread)
				}
				again, _ := tt.run(newRand(seed))
				if !slices.EqualFunc(parts, again, slices.Equal) {
					t.Errorf("seed %d: a second run differs", seed)
				}
			}
		})
	}
}

func TestIIDShuffles(t *testing.T) {
	a, _ := IID(100, 2, newRand(1))
	b, _ := IID(100, 2, newRand(2))
	if slices.Equal(a[0], b[0]) {
		t.Error("two seeds gave the same partition")
	}
	if a[0][len(a[0])-1] == len(a[0])-1 {
		t.Errorf("IID did not shuffle: client 0 holds %v", a[0])
	}
}

// TestByResponseBands checks the band property at mix 0 and that mixing
// moves about mix·(1−1/K) of the samples out of their bands.
func TestByResponseBands(t *testing.T) {
	const n, k = 400, 4
	ds := withY(n)
	y := ds.Response(0)
	band, err := ByResponse(ds, "y", k, 0, nil) // mix 0 needs no rng
	if err != nil {
		t.Fatal(err)
	}
	for c := range k - 1 {
		hi := slices.Max(values(y, band[c]))
		lo := slices.Min(values(y, band[c+1]))
		if hi > lo {
			t.Errorf("mix 0: client %d has y up to %v, client %d from %v", c, hi, c+1, lo)
		}
	}
	home := make([]int, n)
	for c, p := range band {
		for _, i := range p {
			home[i] = c
		}
	}
	for _, mix := range []float64{0.2, 0.5, 1} {
		var moved float64
		const reps = 20
		for seed := range uint64(reps) {
			parts, err := ByResponse(ds, "y", k, mix, newRand(seed))
			if err != nil {
				t.Fatal(err)
			}
			for c, p := range parts {
				for _, i := range p {
					if home[i] != c {
						moved++
					}
				}
			}
		}
		got, want := moved/(reps*n), mix*(1-1.0/k)
		if math.Abs(got-want) > 0.03 {
			t.Errorf("mix %v: %.3f of samples left their band, want about %.3f", mix, got, want)
		}
	}
}

func values(y []float32, idx []int) []float32 {
	v := make([]float32, len(idx))
	for k, i := range idx {
		v[k] = y[i]
	}
	return v
}

// TestDirichletSkew checks that small β skews client sizes and large β
// evens them, and that the mean proportion is 1/K.
func TestDirichletSkew(t *testing.T) {
	const n, k, reps = 1000, 5, 200
	spread := func(beta float64) (meanMaxShare, meanShare0 float64) {
		for seed := range uint64(reps) {
			parts, err := Dirichlet(n, k, beta, 1, newRand(seed))
			if err != nil {
				t.Fatal(err)
			}
			s := Sizes(parts)
			meanMaxShare += float64(slices.Max(s)) / n
			meanShare0 += float64(s[0]) / n
		}
		return meanMaxShare / reps, meanShare0 / reps
	}
	small, share0 := spread(0.1)
	large, _ := spread(100)
	if small < 0.7 || large > 0.25 {
		t.Errorf("mean largest share: β 0.1 → %.2f (want > 0.7), β 100 → %.2f (want < 0.25)", small, large)
	}
	if math.Abs(share0-1.0/k) > 0.07 {
		t.Errorf("mean share of client 0 at β 0.1 = %.3f, want about %.2f", share0, 1.0/k)
	}
}

// TestLogGamma checks the mean and variance of Gamma(a, 1) draws, both a.
func TestLogGamma(t *testing.T) {
	const draws = 40000
	for _, a := range []float64{0.05, 0.5, 1, 3.7} {
		rng := newRand(uint64(a * 100))
		var m, m2 float64
		for range draws {
			x := math.Exp(logGamma(rng, a))
			m += x
			m2 += x * x
		}
		m /= draws
		v := m2/draws - m*m
		// sd of the mean is √(a/draws); of the variance, roughly
		// √((μ4 − a²)/draws) with μ4 = 3a² + 6a for a gamma.
		if seM, seV := math.Sqrt(a/draws), math.Sqrt((3*a*a+6*a)/draws); math.Abs(m-a) > 5*seM || math.Abs(v-a) > 5*seV {
			t.Errorf("Gamma(%v): mean %.4f ± %.4f, variance %.4f ± %.4f; want both %v", a, m, 5*seM, v, 5*seV, a)
		}
	}
	// Tiny shapes must not underflow to an all-zero Dirichlet draw.
	p := dirichlet(newRand(1), 1e-3, 4)
	var sum float64
	for _, x := range p {
		sum += x
	}
	if math.IsNaN(sum) || math.Abs(sum-1) > 1e-12 {
		t.Errorf("Dir(1e-3) draw %v sums to %v", p, sum)
	}
}

func TestErrors(t *testing.T) {
	ds := withY(10)
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"IID no clients", func() error { _, err := IID(10, 0, newRand(1)); return err }, "partition: clients = 0: want at least 1"},
		{"IID too many clients", func() error { _, err := IID(3, 4, newRand(1)); return err }, "partition: 4 clients but 3 samples: want at most one client per sample"},
		{"ByResponse mix < 0", func() error { _, err := ByResponse(ds, "y", 2, -0.1, newRand(1)); return err }, "partition: mix = -0.1: want 0 ≤ mix ≤ 1"},
		{"ByResponse mix NaN", func() error { _, err := ByResponse(ds, "y", 2, math.NaN(), newRand(1)); return err }, "partition: mix = NaN: want 0 ≤ mix ≤ 1"},
		{"ByResponse unknown", func() error { _, err := ByResponse(ds, "fat", 2, 0, nil); return err }, `partition: no response "fat"; the dataset has [y z]`},
		{"ByResponse unnamed", func() error { _, err := ByResponse(ds, "", 2, 0, nil); return err }, "partition: no response named and the dataset has 2 ([y z]): name one"},
		{"ByResponse too many clients", func() error { _, err := ByResponse(ds, "y", 11, 0, nil); return err }, "partition: 11 clients but 10 samples: want at most one client per sample"},
		{"Dirichlet β 0", func() error { _, err := Dirichlet(10, 2, 0, 0, newRand(1)); return err }, "partition: beta = 0: want a finite number > 0"},
		{"Dirichlet β Inf", func() error { _, err := Dirichlet(10, 2, math.Inf(1), 0, newRand(1)); return err }, "partition: beta = +Inf: want a finite number > 0"},
		{"Dirichlet negative minimum", func() error { _, err := Dirichlet(10, 2, 1, -1, newRand(1)); return err }, "partition: minimum client size -1: want ≥ 0 (0 for the default, 2)"},
		{"Dirichlet minimum too large", func() error { _, err := Dirichlet(10, 4, 1, 3, newRand(1)); return err }, "partition: 4 clients × minimum size 3 = 12 samples, have 10"},
		{"Dirichlet default minimum too large", func() error { _, err := Dirichlet(5, 3, 1, 0, newRand(1)); return err }, "partition: 3 clients × minimum size 2 = 6 samples, have 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
	defer func() {
		if r := recover(); r != "partition: nil *rand.Rand" {
			t.Errorf("IID with a nil rng: recovered %v", r)
		}
	}()
	IID(10, 2, nil)
}

func TestCheck(t *testing.T) {
	tests := []struct {
		parts [][]int
		want  string
	}{
		{[][]int{{0, 2}, {1}}, ""},
		{[][]int{{0, 3}, {1, 2}}, "partition: client 0 holds sample 3, out of range [0, 3)"},
		{[][]int{{0, 1}, {1, 2}}, "partition: sample 1 is held by clients 0 and 1"},
		{[][]int{{0}, {2}}, "partition: sample 1 is held by no client"},
	}
	for _, tt := range tests {
		err := Check(3, tt.parts)
		if (tt.want == "" && err != nil) || (tt.want != "" && (err == nil || err.Error() != tt.want)) {
			t.Errorf("Check(%v) = %v, want %q", tt.parts, err, tt.want)
		}
	}
}
