package secagg

import (
	"fmt"
	"testing"
)

// BenchmarkMask times what dominates a party's cost: adding one mask of a
// 1 M-element vector (AES-CTR keystream added into the ring vector). A
// party adds k+1 of them; the server adds one per survivor.
func BenchmarkMask(b *testing.B) {
	for _, bits := range []int{32, 64} {
		b.Run(fmt.Sprintf("bits=%d", bits), func(b *testing.B) {
			v := NewVec(bits, 1<<20)
			seed := make([]byte, 32)
			b.SetBytes(int64(PackedSize(bits, 1<<20)))
			for b.Loop() {
				v.AddMask(seed, false)
			}
		})
	}
}

// BenchmarkAggregation runs a whole aggregation of n parties with 100 000
// elements each in one goroutine: every party's work and the server's.
func BenchmarkAggregation(b *testing.B) {
	for _, n := range []int{10, 100} {
		b.Run(fmt.Sprintf("parties=%d", n), func(b *testing.B) {
			k := DefaultDegree(n)
			p := testParams(n, k, DefaultThreshold(k), 32, 100_000)
			in := randomInputs(n, 32, 100_000, 1)
			t := &testing.T{}
			for b.Loop() {
				run(t, p, in, nil)
			}
		})
	}
}
