package site_test

import (
	"encoding/binary"
	"math"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/site"
)

// FuzzScreen hands Screen a client's moments of arbitrary values beside
// three honest clients': it never panics, and the statistics of the
// clients it keeps always pool, so that no client can stop the setup.
func FuzzScreen(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8}, 3, 10)
	f.Add(make([]byte, 48), 0, -1)
	f.Fuzz(func(t *testing.T, b []byte, width, declared int) {
		honest := func(shift float64) []site.Moments {
			return []site.Moments{
				{Name: "x", Mode: data.PerFeature, N: []float64{10, 10}, Sum: []float64{5 + shift, 1}, Sum2: []float64{30, 20}},
				{Name: "y", Mode: data.PerFeature, N: []float64{10}, Sum: []float64{2 + shift}, Sum2: []float64{9}},
			}
		}
		width = (width%4+4)%4 + 1
		vals := func() []float64 {
			out := make([]float64, width)
			for i := range out {
				if len(b) >= 8 {
					out[i] = math.Float64frombits(binary.LittleEndian.Uint64(b))
					b = b[8:]
				}
			}
			return out
		}
		evil := []site.Moments{
			{Name: "x", Mode: data.PerFeature, N: vals(), Sum: vals(), Sum2: vals()},
			{Name: "y", Mode: data.PerFeature, N: vals()[:1], Sum: vals()[:1], Sum2: vals()[:1]},
		}
		parts := [][]site.Moments{honest(0), honest(0.5), honest(-0.5), evil}
		out := site.Screen(parts, []int{10, 10, 10, declared}, site.DefaultScreenLimit)
		for k := range 3 {
			if _, gone := out[k]; gone {
				t.Fatalf("honest client %d left out: %v", k, out)
			}
		}
		var kept [][]site.Moments
		for k, p := range parts {
			if _, gone := out[k]; !gone {
				kept = append(kept, p)
			}
		}
		if _, err := site.Pooled([]string{"y"}, kept); err != nil {
			t.Fatalf("the kept statistics do not pool: %v (left out %v)", err, out)
		}
	})
}
