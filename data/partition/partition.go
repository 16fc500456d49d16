// Package partition splits a dataset's samples among federated clients,
// IID or not, for simulating federated training.
//
// Every partitioner returns one ascending list of sample indices per
// client; together the lists hold each sample exactly once. All randomness
// comes from the caller's *rand.Rand, so a seed gives the same partition
// on every run; a nil *rand.Rand is a programmer error and panics. Requests
// that cannot be met (more clients than samples, a parameter out of range)
// are errors naming the parameter and its allowed range.
//
// The non-IID schemes are those of method.md §6.4: clients by response
// quantile ([ByResponse]), skewed client sizes ([Dirichlet]) and clients
// that lack some modalities ([ByModality]), which composes with any index
// partition.
package partition

import (
	"fmt"
	"math/rand/v2"
	"slices"
)

// IID shuffles the samples 0..n−1 with rng and deals them into the given
// number of clients of near-equal size: the first n mod clients get one
// sample more than the others.
func IID(n, clients int, rng *rand.Rand) ([][]int, error) {
	if err := checkClients(n, clients); err != nil {
		return nil, err
	}
	mustRand(rng)
	return deal(rng.Perm(n), equalSizes(n, clients)), nil
}

// Check reports whether parts is a partition of the samples 0..n−1: every
// index lies in [0, n) and appears in exactly one part.
func Check(n int, parts [][]int) error {
	owner := make([]int, n)
	for c, p := range parts {
		for _, i := range p {
			if i < 0 || i >= n {
				return fmt.Errorf("partition: client %d holds sample %d, out of range [0, %d)", c, i, n)
			}
			if owner[i] != 0 {
				return fmt.Errorf("partition: sample %d is held by clients %d and %d", i, owner[i]-1, c)
			}
			owner[i] = c + 1
		}
	}
	if i := slices.Index(owner, 0); i >= 0 {
		return fmt.Errorf("partition: sample %d is held by no client", i)
	}
	return nil
}

// Sizes returns the number of samples of each client.
func Sizes(parts [][]int) []int {
	s := make([]int, len(parts))
	for c, p := range parts {
		s[c] = len(p)
	}
	return s
}

// checkClients checks that n samples can be split among clients, each
// getting at least one.
func checkClients(n, clients int) error {
	if clients < 1 {
		return fmt.Errorf("partition: clients = %d: want at least 1", clients)
	}
	if clients > n {
		return fmt.Errorf("partition: %d clients but %d samples: want at most one client per sample", clients, n)
	}
	return nil
}

func mustRand(rng *rand.Rand) {
	if rng == nil {
		panic("partition: nil *rand.Rand")
	}
}

// equalSizes returns clients sizes summing to n that differ by at most one,
// the larger first.
func equalSizes(n, clients int) []int {
	sizes := make([]int, clients)
	for c := range sizes {
		sizes[c] = n / clients
		if c < n%clients {
			sizes[c]++
		}
	}
	return sizes
}

// deal cuts order into consecutive runs of the given sizes, each returned
// sorted ascending.
func deal(order []int, sizes []int) [][]int {
	parts := make([][]int, len(sizes))
	start := 0
	for c, s := range sizes {
		parts[c] = slices.Clone(order[start : start+s])
		slices.Sort(parts[c])
		start += s
	}
	return parts
}
