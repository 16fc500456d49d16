package site_test

import (
	"math"
	"math/rand/v2"
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
