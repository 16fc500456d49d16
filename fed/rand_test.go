package fed_test

import "math/rand/v2"

func newRand(seed uint64) *rand.PCG { return rand.NewPCG(seed, 0) }
