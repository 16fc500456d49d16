package data

import (
	"math"
	"slices"
	"testing"
)

// TestSimulateMoments checks the response distribution of each simulation
// function against the Monte-Carlo values in paper-digest.md §5.1 (from
// 200k draws, given to 3 decimals): the sample variance of 20k draws must
// be within 4 standard errors, plus the rounding of the reference.
func TestSimulateMoments(t *testing.T) {
	tests := []struct {
		fn             int
		seed           uint64
		mean, variance float64
	}{
		{1, 11, 0.000, 0.377},
		{2, 12, 1.039, 1.076},
		{3, 13, 7.503, 0.378},
	}
	for _, tt := range tests {
		t.Run("f"+string(rune('0'+tt.fn)), func(t *testing.T) {
			t.Parallel()
			const n = 20000
			ds, err := Simulate(tt.fn, n, newRand(tt.seed))
			if err != nil {
				t.Fatal(err)
			}
			var mean, m2, m4 float64
			for _, v := range ds.Y {
				mean += float64(v)
			}
			mean /= n
			for _, v := range ds.Y {
				d := float64(v) - mean
				m2 += d * d
				m4 += d * d * d * d
			}
			m2 /= n
			m4 /= n
			seMean := math.Sqrt(m2 / n)
			seVar := math.Sqrt((m4 - m2*m2) / n)
			if math.Abs(mean-tt.mean) > 4*seMean+0.0005 {
				t.Errorf("mean %.4f, want %.3f ± %.4f", mean, tt.mean, 4*seMean)
			}
			if math.Abs(m2-tt.variance) > 4*seVar+0.0005 {
				t.Errorf("variance %.4f, want %.3f ± %.4f", m2, tt.variance, 4*seVar)
			}
		})
	}
}

// TestSimulateResponse recomputes y from the stored inputs for each
// function.
func TestSimulateResponse(t *testing.T) {
	const n = 5
	for fn := 1; fn <= 3; fn++ {
		ds, err := Simulate(fn, n, newRand(7))
		if err != nil {
			t.Fatal(err)
		}
		shapes := map[string][]int{"image": {3, 32, 32}, "text": {10, 50}, "vector": {32}}
		for _, m := range ds.Modalities {
			if !slices.Equal(m.Shape, shapes[m.Name]) {
				t.Errorf("%s shape %v, want %v", m.Name, m.Shape, shapes[m.Name])
			}
		}
		for i := range n {
			every10 := func(x []float32) (s float64) {
				for j := 0; j < len(x); j += 10 {
					s += float64(x[j])
				}
				return s
			}
			sI := every10(ds.Modality("image").Sample(i))
			sT := every10(ds.Modality("text").Sample(i))
			v := ds.Modality("vector").Sample(i)
			sV := float64(v[0]) + float64(v[10]) + float64(v[20]) + float64(v[30])
			s := sI + sT + sV
			want := map[int]float64{
				1: math.Tanh(0.05 * s),
				2: math.Log(1 + math.Exp(0.1*s+1e-4*sI*sT)),
				3: 16 / (math.Exp(0.02*s) + math.Exp(-0.02*s)),
			}[fn]
			if got := float64(ds.Y[i]); math.Abs(got-want) > 1e-6*math.Max(1, math.Abs(want)) {
				t.Errorf("f%d sample %d: y = %v, want %v", fn, i, got, want)
			}
		}
	}
}

func TestSimulateIsPrefixStable(t *testing.T) {
	a, _ := Simulate(2, 3, newRand(5))
	b, _ := Simulate(2, 6, newRand(5))
	if !slices.Equal(a.Y, b.Y[:3]) || !slices.Equal(a.Modalities[2].Data, b.Modalities[2].Data[:3*32]) {
		t.Error("the first 3 of 6 samples differ from a draw of 3 with the same seed")
	}
	c, _ := Simulate(2, 3, newRand(6))
	if slices.Equal(a.Y, c.Y) {
		t.Error("different seeds gave the same responses")
	}
}

func TestSoftplus(t *testing.T) {
	for _, x := range []float64{-800, -30, -1, 0, 1, 30, 800} {
		want := math.Log1p(math.Exp(x))
		if x > 700 {
			want = x
		}
		if got := softplus(x); math.Abs(got-want) > 1e-12*math.Max(1, want) || math.IsInf(got, 0) {
			t.Errorf("softplus(%v) = %v, want %v", x, got, want)
		}
	}
}

func TestSimulateErrors(t *testing.T) {
	for _, tt := range []struct {
		fn, n int
		want  string
	}{
		{0, 10, "simulate: function 0: want 1, 2 or 3"},
		{4, 10, "simulate: function 4: want 1, 2 or 3"},
		{1, 0, "simulate: 0 samples: want at least 1"},
	} {
		if _, err := Simulate(tt.fn, tt.n, newRand(1)); err == nil || err.Error() != tt.want {
			t.Errorf("Simulate(%d, %d): error %v, want %s", tt.fn, tt.n, err, tt.want)
		}
	}
}

func BenchmarkSimulate(b *testing.B) {
	rng := newRand(1)
	for b.Loop() {
		if _, err := Simulate(1, 100, rng); err != nil {
			b.Fatal(err)
		}
	}
}
