package secagg

import (
	"crypto/rand"
	"fmt"
	"io"
	"math"
)

// expSlots is the number of binary exponents a block's magnitude may
// take in SumFloats: 2^−64 to 2^63.
const expSlots = 128

// SumFloats returns the sum over parties of real vectors (parts[k] is
// party k's, all of one length, cut into blocks of the given lengths)
// computed by secure aggregation among parties held in this process, as a
// simulation or a study runs them: the server's side sees only what a
// remote server would. It takes two aggregations. First each party adds a
// one-hot vector marking, per block, the binary exponent of its largest
// magnitude, so the server learns how many parties fall in each power of
// two — not which — and so the largest, E. Then the values go in
// Z_{2^64} with 61 − E − ⌈log₂ n⌉ fractional bits per block, which no sum
// of n parties can overflow: each value of the result is within
// n·2^(E+⌈log₂ n⌉−62) of the exact sum (a relative error near 2⁻⁶⁰ of the
// block's largest value, float64's own precision). rng draws keys (nil:
// crypto/rand).
func SumFloats(parts [][]float64, blocks []int, rng io.Reader) ([]float64, error) {
	n := len(parts)
	if n < 2 {
		return nil, fmt.Errorf("secagg: %d parties: secure aggregation needs at least 2", n)
	}
	if rng == nil {
		rng = rand.Reader
	}
	total := 0
	for _, b := range blocks {
		total += b
	}
	for k, p := range parts {
		if len(p) != total {
			return nil, fmt.Errorf("secagg: party %d has %d values, the blocks %d", k, len(p), total)
		}
	}
	// Pass 1: the exponents.
	hist := make([]Vec, n)
	for k, p := range parts {
		hist[k] = NewVec(32, expSlots*len(blocks))
		off := 0
		for b, l := range blocks {
			var m float64
			for _, v := range p[off : off+l] {
				if math.IsNaN(v) || math.IsInf(v, 0) {
					return nil, fmt.Errorf("secagg: party %d: value %d is %v", k, off, v)
				}
				m = max(m, math.Abs(v))
			}
			hist[k].Set(b*expSlots+exponentSlot(m), 1)
			off += l
		}
	}
	h, err := sumInProcess(hist, 32, rng)
	if err != nil {
		return nil, err
	}
	logN := int(math.Ceil(math.Log2(float64(n))))
	enc := Encoding{Bits: 64}
	for b, l := range blocks {
		e := -64
		for s := expSlots - 1; s >= 0; s-- {
			if h.At(b*expSlots+s) != 0 {
				e = s - 64
				break
			}
		}
		bound := math.Ldexp(1, e)
		enc.Blocks = append(enc.Blocks, Block{Len: l, Clip: bound, MaxSum: math.Ldexp(1, e+logN)})
	}
	// Pass 2: the values.
	vals := make([]Vec, n)
	for k, p := range parts {
		if vals[k], _, err = enc.Encode(p); err != nil {
			return nil, err
		}
	}
	s, err := sumInProcess(vals, 64, rng)
	if err != nil {
		return nil, err
	}
	return enc.Decode(s)
}

// exponentSlot returns the slot of the smallest power of two 2^e ≥ m
// (e from −64 to 63).
func exponentSlot(m float64) int {
	if m == 0 {
		return 0
	}
	_, e := math.Frexp(m) // m = f·2^e, f in [0.5, 1): m ≤ 2^e
	return max(0, min(expSlots-1, e+64))
}

// sumInProcess runs one aggregation among parties in this process, on
// the complete graph with the default threshold.
func sumInProcess(inputs []Vec, bits int, rng io.Reader) (Vec, error) {
	n := len(inputs)
	p := Params{Parties: n, Degree: n - 1, Threshold: DefaultThreshold(n - 1), Bits: bits, Len: inputs[0].Len()}
	if _, err := io.ReadFull(rng, p.Session[:]); err != nil {
		return Vec{}, err
	}
	srv, err := NewServer(p)
	if err != nil {
		return Vec{}, err
	}
	cs := make([]*Client, n)
	for i := range cs {
		if cs[i], err = NewClient(p, i, inputs[i], rng); err != nil {
			return Vec{}, err
		}
		m, err := cs[i].Start()
		if err != nil {
			return Vec{}, err
		}
		if err := srv.Receive(i, m); err != nil {
			return Vec{}, err
		}
	}
	for {
		msgs, err := srv.Next()
		if err != nil {
			return Vec{}, err
		}
		if msgs == nil {
			break
		}
		for i, m := range msgs {
			out, err := cs[i].Step(m)
			if err != nil {
				return Vec{}, err
			}
			if err := srv.Receive(i, out); err != nil {
				return Vec{}, err
			}
		}
	}
	s, _, err := srv.Sum()
	return s, err
}
