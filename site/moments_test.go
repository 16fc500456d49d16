package site_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/site"
)

// TestPooledEqualsCentral checks that summed client moments
// give the statistics of the pooled data.
func TestPooledEqualsCentral(t *testing.T) {
	ds, err := data.Simulate(2, 90, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]data.Mode{"text": data.Global}
	var parts [][]site.Moments
	for _, idx := range [][]int{seq(0, 20), seq(20, 70), seq(70, 90)} {
		parts = append(parts, site.ClientMoments(ds.Subset(idx), modes))
	}
	got, err := site.Pooled(ds.ResponseNames, parts)
	if err != nil {
		t.Fatal(err)
	}
	want, err := data.FitStandardizer(ds, &data.StandardizeOptions{Modes: modes})
	if err != nil {
		t.Fatal(err)
	}
	for i := range want.Modalities {
		for j := range want.Modalities[i].Mean {
			if math.Abs(got.Modalities[i].Mean[j]-want.Modalities[i].Mean[j]) > 1e-9 ||
				math.Abs(got.Modalities[i].Std[j]-want.Modalities[i].Std[j]) > 1e-9 {
				t.Fatalf("%s feature %d: pooled %v/%v, central %v/%v", want.Modalities[i].Name, j,
					got.Modalities[i].Mean[j], got.Modalities[i].Std[j], want.Modalities[i].Mean[j], want.Modalities[i].Std[j])
			}
		}
	}
	if math.Abs(got.Y.Mean[0]-want.Y.Mean[0]) > 1e-9 || math.Abs(got.Y.Std[0]-want.Y.Std[0]) > 1e-9 {
		t.Fatalf("y: pooled %v/%v, central %v/%v", got.Y.Mean, got.Y.Std, want.Y.Mean, want.Y.Std)
	}
}

func seq(a, b int) []int {
	var s []int
	for i := a; i < b; i++ {
		s = append(s, i)
	}
	return s
}

// TestFlatMomentsRoundTrip lays statistics out as a vector and back —
// per feature, global and unscaled modalities, and the responses — and
// checks that a sum of two clients' vectors gives their added moments,
// with counts that a fixed-point sum left a hair off made whole again.
func TestFlatMomentsRoundTrip(t *testing.T) {
	a := []site.Moments{
		{Name: "m", Mode: data.PerFeature, N: []float64{3, 2}, Sum: []float64{1.5, -2}, Sum2: []float64{4, 9}},
		{Name: "g", Mode: data.Global, N: []float64{6}, Sum: []float64{0.25}, Sum2: []float64{7}},
		{Name: "none", Mode: data.None},
		{Name: "y", Mode: data.PerFeature, N: []float64{3}, Sum: []float64{30}, Sum2: []float64{310}},
	}
	b := []site.Moments{
		{Name: "m", Mode: data.PerFeature, N: []float64{1, 1}, Sum: []float64{0.5, 1}, Sum2: []float64{1, 1}},
		{Name: "g", Mode: data.Global, N: []float64{2}, Sum: []float64{-1}, Sum2: []float64{2}},
		{Name: "none", Mode: data.None},
		{Name: "y", Mode: data.PerFeature, N: []float64{1}, Sum: []float64{5}, Sum2: []float64{25}},
	}
	xa, blocks := site.FlatMoments(a)
	xb, blocksB := site.FlatMoments(b)
	if len(blocks) != 12 || len(xa) != 12 || !slices.Equal(blocks, blocksB) {
		t.Fatalf("%d values in blocks %v", len(xa), blocks)
	}
	sum := make([]float64, len(xa))
	for i := range sum {
		sum[i] = xa[i] + xb[i]
	}
	sum[0] += 1e-9 // a count as a fixed-point sum may give it
	got, err := site.UnflatMoments(a, sum)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(a)
	for i := range want {
		want[i] = site.Moments{Name: a[i].Name, Mode: a[i].Mode}
		if len(a[i].N) > 0 {
			want[i].Add(a[i])
			want[i].Add(b[i])
		}
	}
	for i := range want {
		if got[i].Name != want[i].Name || got[i].Mode != want[i].Mode || !slices.Equal(got[i].N, want[i].N) ||
			!slices.Equal(got[i].Sum, want[i].Sum) || !slices.Equal(got[i].Sum2, want[i].Sum2) {
			t.Fatalf("moments %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	for _, bad := range [][]float64{sum[:11], append(slices.Clone(sum), 1)} {
		if _, err := site.UnflatMoments(a, bad); err == nil {
			t.Fatalf("%d values for a layout of 12 accepted", len(bad))
		}
	}
}
