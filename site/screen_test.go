package site_test

import (
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/data/partition"
	"github.com/fdrmfl/fdrmfl/site"
)

var (
	simOnce sync.Once
	simData *data.Dataset
	simErr  error
)

// clientStats returns the moments and sizes of the clients of a
// partition of simulated data (function 1, 1200 samples).
func clientStats(t *testing.T, split string, clients int) ([][]site.Moments, []int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(3, 4))
	simOnce.Do(func() { simData, simErr = data.Simulate(1, 1200, rand.New(rand.NewPCG(5, 6))) })
	ds, err := simData, simErr
	if err != nil {
		t.Fatal(err)
	}
	var parts [][]int
	switch split {
	case "iid":
		parts, err = partition.IID(ds.Len(), clients, rng)
	case "response":
		parts, err = partition.ByResponse(ds, "", clients, 0, rng)
	case "dirichlet":
		parts, err = partition.Dirichlet(ds.Len(), clients, 0.5, 2, rng)
	}
	if err != nil {
		t.Fatal(err)
	}
	modes := map[string]data.Mode{"text": data.Global}
	var ms [][]site.Moments
	var sizes []int
	for _, idx := range parts {
		ms = append(ms, site.ClientMoments(ds.Subset(idx), modes))
		sizes = append(sizes, len(idx))
	}
	return ms, sizes
}

func scaled(m []site.Moments, sum, sum2 float64) []site.Moments {
	out := make([]site.Moments, len(m))
	for i, g := range m {
		out[i] = site.Moments{Name: g.Name, Mode: g.Mode, N: slices.Clone(g.N), Sum: slices.Clone(g.Sum), Sum2: slices.Clone(g.Sum2)}
		for j := range g.N {
			out[i].Sum[j] *= sum
			out[i].Sum2[j] *= sum2
		}
	}
	return out
}

// TestScreenLeavesHonestClientsIn: clients that hold an iid share, a
// band of the response each, or very unequal Dirichlet shares (some of
// a couple of samples) are all kept.
func TestScreenLeavesHonestClientsIn(t *testing.T) {
	for _, c := range []struct {
		split   string
		clients int
	}{{"iid", 3}, {"iid", 10}, {"response", 3}, {"response", 10}, {"dirichlet", 10}, {"dirichlet", 30}} {
		ms, sizes := clientStats(t, c.split, c.clients)
		if out := site.Screen(ms, sizes, site.DefaultScreenLimit); len(out) > 0 {
			t.Errorf("%s, %d clients (sizes %v): left out %v", c.split, c.clients, sizes, out)
		}
	}
}

// TestScreenLeavesPoisonersOut has one client send statistics that
// would poison the pooled standardisation or stop the federation.
func TestScreenLeavesPoisonersOut(t *testing.T) {
	cases := []struct {
		name    string
		clients int
		poison  func(m []site.Moments, n int) ([]site.Moments, int)
		want    string
	}{
		{"sums scaled by 1e6", 10, func(m []site.Moments, n int) ([]site.Moments, int) { return scaled(m, 1e6, 1e6), n }, "sent statistics no data can have"},
		{"sums scaled by 1e6, 3 clients", 3, func(m []site.Moments, n int) ([]site.Moments, int) { return scaled(m, 1e6, 1e6), n }, "sent statistics no data can have"},
		{"data scaled by 1e6", 10, func(m []site.Moments, n int) ([]site.Moments, int) { return scaled(m, 1e6, 1e12), n }, "stand out"},
		{"data scaled by 30", 10, func(m []site.Moments, n int) ([]site.Moments, int) { return scaled(m, 30, 900), n }, "stand out"},
		{"data shifted", 10, func(m []site.Moments, n int) ([]site.Moments, int) {
			out := scaled(m, 1, 1)
			for j := range out[0].N {
				out[0].Sum2[j] += 2*1e3*out[0].Sum[j] + 1e6*out[0].N[j]
				out[0].Sum[j] += 1e3 * out[0].N[j]
			}
			return out, n
		}, "its means lie"},
		{"count inflated, sums consistent", 10, func(m []site.Moments, n int) ([]site.Moments, int) {
			k := float64(1 << 20)
			out := scaled(m, k, k)
			for i := range out {
				for j := range out[i].N {
					out[i].N[j] *= k
				}
			}
			return out, n << 20
		}, "declares"},
		{"responses counted twice", 10, func(m []site.Moments, n int) ([]site.Moments, int) { return m, n / 2 }, "declared"},
		{"torn moments", 10, func(m []site.Moments, n int) ([]site.Moments, int) {
			out := scaled(m, 1, 1)
			out[0].Sum = out[0].Sum[:1]
			return out, n
		}, "another layout"},
		{"negative count", 10, func(m []site.Moments, n int) ([]site.Moments, int) {
			out := scaled(m, 1, 1)
			out[0].N[0] = -5
			return out, n
		}, "count -5"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ms, sizes := clientStats(t, "iid", c.clients)
			bad := c.clients - 1
			ms[bad], sizes[bad] = c.poison(ms[bad], sizes[bad])
			out := site.Screen(ms, sizes, site.DefaultScreenLimit)
			if len(out) != 1 || !strings.Contains(out[bad], c.want) {
				t.Fatalf("left out %v; want only client %d, for %q", out, bad, c.want)
			}
			var kept [][]site.Moments
			for k, m := range ms {
				if _, gone := out[k]; !gone {
					kept = append(kept, m)
				}
			}
			if _, err := site.Pooled([]string{"y"}, kept); err != nil {
				t.Fatalf("the others' statistics do not pool: %v", err)
			}
		})
	}
}

// TestScreenNeedsThreeClients: two clients cannot outvote each other, so
// only the checks against possible data run.
func TestScreenNeedsThreeClients(t *testing.T) {
	ms, sizes := clientStats(t, "iid", 2)
	ms[1] = scaled(ms[1], 30, 900)
	if out := site.Screen(ms, sizes, site.DefaultScreenLimit); len(out) != 0 {
		t.Fatalf("left out %v with two clients", out)
	}
	if out := site.Screen(ms, sizes, -1); len(out) != 0 {
		t.Fatalf("left out %v with the limit off", out)
	}
}
