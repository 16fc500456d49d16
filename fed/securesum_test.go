package fed_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/fed/sim"
)

// floatClient answers SecureFloats's tasks with its vector x: a Stats
// task carries a FloatStep as JSON.
func floatClient(sc *fed.SecureClient, x []float64) fed.Client {
	return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
		if t.Kind == fed.SecAgg {
			return sc.Execute(ctx, t)
		}
		var step fed.FloatStep
		if err := json.Unmarshal(t.Payload, &step); err != nil {
			return fed.Update{}, err
		}
		msg, err := sc.BeginFloats(t.Client, step, x)
		if err != nil {
			return fed.Update{}, err
		}
		return fed.Update{Kind: fed.Stats, Payload: msg}, nil
	})
}

// dropInPass makes a client fail its SecAgg step of the given message
// kind (as dropAt; 0: the first task) in the exponents (values false) or
// the values aggregation of SecureFloats.
func dropInPass(c fed.Client, values bool, kind byte) fed.Client {
	var inValues bool
	return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
		if t.Kind == fed.Stats {
			var step fed.FloatStep
			if err := json.Unmarshal(t.Payload, &step); err != nil {
				return fed.Update{}, err
			}
			inValues = step.Encoding != nil
		}
		if inValues == values && ((kind == 0 && t.Kind == fed.Stats) || (t.Kind == fed.SecAgg && t.Payload[0] == kind)) {
			return fed.Update{}, errors.New("dropped out")
		}
		return c.Execute(ctx, t)
	})
}

// floatVectors returns n clients' vectors of blocks at very different
// scales: counts, sums and sums of squares.
func floatVectors(n int, blocks []int, seed uint64) [][]float64 {
	r := rand.New(rand.NewPCG(seed, 5))
	scales := []float64{100, -3e4, 2e7, 1e-9}
	var out [][]float64
	for range n {
		var x []float64
		for b, l := range blocks {
			for range l {
				v := r.NormFloat64() * scales[b%len(scales)]
				if b%len(scales) == 0 {
					v = float64(r.IntN(200)) // a count
				}
				x = append(x, v)
			}
		}
		out = append(out, x)
	}
	return out
}

func floatConfig(f fed.Fleet) fed.FloatSumConfig {
	return fed.FloatSumConfig{
		Fleet: f, Secure: fed.SecureAggregation{Rand: keyRand(3)},
		Task: func(client string, step fed.FloatStep) (fed.Task, error) {
			b, err := json.Marshal(step)
			return fed.Task{Kind: fed.Stats, Payload: b}, err
		},
	}
}

// keyRand is a deterministic reader of key material.
func keyRand(seed byte) *chachaReader { return &chachaReader{rand.NewChaCha8([32]byte{seed})} }

type chachaReader struct{ r *rand.ChaCha8 }

func (c *chachaReader) Read(b []byte) (int, error) { return c.r.Read(b) }

// TestSecureFloatsOverAFleet sums clients' vectors by SecureFloats over
// an in-process fleet, with clients dropping out at every phase of both
// aggregations: the sum is that of the clients left in (all but the
// dropped ones) within the stated bound, and with no dropout it is
// secagg.SumFloats's to the bit. Dropping more than n − t ends in an
// error naming the aggregation and the phase.
func TestSecureFloatsOverAFleet(t *testing.T) {
	const n = 5
	blocks := []int{4, 7, 7, 3, 0}
	xs := floatVectors(n, blocks, 1)
	for _, c := range []struct {
		name   string
		drop   map[int][2]int // client → {values pass?, message kind}
		gone   []int          // clients whose vectors are not in the sum
		failed string         // the error, if too few are left
	}{
		{name: "no dropout"},
		{name: "exponents: fails its task", drop: map[int][2]int{1: {0, 0}}, gone: []int{1}},
		{name: "exponents: before its input", drop: map[int][2]int{2: {0, 4}}, gone: []int{2}},
		{name: "values: before sharing keys", drop: map[int][2]int{0: {1, 2}}, gone: []int{0}},
		{name: "values: before its input", drop: map[int][2]int{3: {1, 4}}, gone: []int{3}},
		{name: "values: while unmasking", drop: map[int][2]int{4: {1, 6}}},
		{name: "one in each", drop: map[int][2]int{1: {0, 2}, 3: {1, 4}}, gone: []int{1, 3}},
		{name: "too many", drop: map[int][2]int{0: {1, 4}, 1: {1, 4}, 2: {1, 4}}, failed: "values: too few clients left: phase masked input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cs := map[string]fed.Client{}
			var names []string
			for i, x := range xs {
				name := fmt.Sprintf("c%d", i)
				var cl fed.Client = floatClient(&fed.SecureClient{Rand: keyRand(byte(10 + i))}, x)
				if d, ok := c.drop[i]; ok {
					cl = dropInPass(cl, d[0] == 1, byte(d[1]))
				}
				cs[name], names = cl, append(names, name)
			}
			got, err := fed.SecureFloats(context.Background(), floatConfig(sim.New(cs)), names, blocks)
			if c.failed != "" {
				t.Log(err)
				if !errors.Is(err, fed.ErrTooFewLeft) || !strings.Contains(err.Error(), "secure aggregation of the "+c.failed) {
					t.Fatalf("got %v, want an error about %q", err, c.failed)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var in []string
			exact := make([]float64, len(xs[0]))
			for i, x := range xs {
				if slices.Contains(c.gone, i) {
					if !strings.Contains(got.Dropped[names[i]], "secure aggregation") {
						t.Errorf("%s dropped: %q", names[i], got.Dropped[names[i]])
					}
					continue
				}
				in = append(in, names[i])
				for j, v := range x {
					exact[j] += v
				}
			}
			if !slices.Equal(got.Clients, in) || len(got.Dropped) != len(c.gone) {
				t.Fatalf("sum of %v (dropped %v), want %v", got.Clients, got.Dropped, in)
			}
			off := 0
			for b, l := range blocks {
				bound := got.Bound(b)
				for j := off; j < off+l; j++ {
					// The reference sum itself rounds in float64.
					if d := math.Abs(got.Sum[j] - exact[j]); d > bound+4*n*math.Abs(exact[j])*0x1p-52 {
						t.Fatalf("block %d value %d: off by %g, bound %g", b, j, d, bound)
					}
				}
				off += l
			}
			if len(c.drop) == 0 {
				want, err := secagg.SumFloats(xs, blocks, nil)
				if err != nil {
					t.Fatal(err)
				}
				for j := range want {
					if math.Float64bits(want[j]) != math.Float64bits(got.Sum[j]) {
						t.Fatalf("value %d: %v over the fleet, %v in process", j, got.Sum[j], want[j])
					}
				}
			}
		})
	}
}

// TestBeginFloatsRefuses checks that a client refuses an aggregation
// whose layout is not its vector's, and a scale that would clip its values.
func TestBeginFloatsRefuses(t *testing.T) {
	x := []float64{3, 1000, -2}
	blocks := []int{1, 2}
	p := secagg.Params{Parties: 2, Degree: 1, Threshold: 2, Bits: secagg.ExponentBits, Len: secagg.ExponentLen(2)}
	pb, _ := p.MarshalBinary()
	sc := &fed.SecureClient{}
	if _, err := sc.BeginFloats("c", fed.FloatStep{Params: pb, Blocks: blocks}, x); err != nil {
		t.Fatalf("a good exponent step: %v", err)
	}
	if _, err := sc.BeginFloats("c", fed.FloatStep{Params: pb, Blocks: []int{2, 2}}, x); err == nil {
		t.Fatal("a layout of 4 values for 3 accepted")
	}
	enc := secagg.Encoding{Bits: 64, Blocks: []secagg.Block{{Len: 1, Clip: 4, MaxSum: 8}, {Len: 2, Clip: 16, MaxSum: 32}}}
	p.Bits, p.Len = 64, 3
	pb, _ = p.MarshalBinary()
	_, err := sc.BeginFloats("c", fed.FloatStep{Params: pb, Blocks: blocks, Encoding: &enc}, x)
	if err == nil || !strings.Contains(err.Error(), "exceed the bounds") {
		t.Fatalf("a scale that clips 1000 to 16: %v", err)
	}
	enc.Blocks[1].Clip, enc.Blocks[1].MaxSum = 1024, 2048
	if _, err := sc.BeginFloats("c", fed.FloatStep{Params: pb, Blocks: blocks, Encoding: &enc}, x); err != nil {
		t.Fatalf("a scale that holds every value: %v", err)
	}
}
