package partition

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fdrmfl/fdrmfl/data"
)

// ByResponse splits the samples of ds into clients by the value of a
// response, the regression analogue of label skew.
//
// The samples are sorted by the response column named response (ties in
// sample order; "" names the only response of a one-response dataset) and
// cut into contiguous quantile bands of near-equal size, the lowest values
// going to client 0 and the first n mod clients bands holding one sample
// more. Then round(mix·n) sample positions, chosen uniformly at random
// with rng, are emptied and their samples put back into those positions in
// a uniformly random order. Every client keeps its band's size; a moved
// sample lands in each client with probability proportional to the
// positions that client gave up, about 1/clients, so it may land back in
// its own band.
//
// mix = 0 gives pure bands: every response value of client c is ≤ every
// value of client c+1. mix = 1 gives a uniformly random partition with the
// band sizes, the same distribution as IID. mix must lie in [0, 1]; with
// mix = 0 rng is not used and may be nil. A sample missing the response
// (NaN) sorts below every value, into the first band.
func ByResponse(ds *data.Dataset, response string, clients int, mix float64, rng *rand.Rand) ([][]int, error) {
	n := ds.Len()
	if err := checkClients(n, clients); err != nil {
		return nil, err
	}
	if !(mix >= 0 && mix <= 1) {
		return nil, fmt.Errorf("partition: mix = %v: want 0 ≤ mix ≤ 1", mix)
	}
	j, err := responseColumn(ds, response)
	if err != nil {
		return nil, err
	}
	y := ds.Response(j)
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(y[a], y[b]) })

	if m := int(math.Round(mix * float64(n))); m > 0 {
		mustRand(rng)
		pos := rng.Perm(n)[:m]
		moved := make([]int, m)
		for k, p := range pos {
			moved[k] = order[p]
		}
		rng.Shuffle(m, func(a, b int) { moved[a], moved[b] = moved[b], moved[a] })
		for k, p := range pos {
			order[p] = moved[k]
		}
	}
	return deal(order, equalSizes(n, clients)), nil
}

// responseColumn returns the column of ds's responses named name, or the
// only column when name is "".
func responseColumn(ds *data.Dataset, name string) (int, error) {
	names := ds.ResponseNames
	if name == "" {
		if len(names) != 1 {
			return 0, fmt.Errorf("partition: no response named and the dataset has %d (%v): name one", len(names), names)
		}
		return 0, nil
	}
	j := ds.ResponseIndex(name)
	if j < 0 {
		return 0, fmt.Errorf("partition: no response %q; the dataset has %v", name, names)
	}
	return j, nil
}
