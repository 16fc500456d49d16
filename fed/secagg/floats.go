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
// magnitude (Exponents), so the server learns how many parties fall in
// each power of two — not which — and so the largest, E. Then the values
// go in Z_{2^64} with 62 − E − ⌈log₂ n⌉ fractional bits per block
// (FloatEncoding), which no sum of n parties can overflow: each value of
// the result is within n·2^(E+⌈log₂ n⌉−63) of the exact sum (a relative
// error near 2⁻⁶⁰ of the block's largest value, float64's own precision).
// A deployment runs the same two aggregations over its transport
// (fed.SecureFloats). rng draws keys (nil: crypto/rand).
func SumFloats(parts [][]float64, blocks []int, rng io.Reader) ([]float64, error) {
	n := len(parts)
	if n < 2 {
		return nil, fmt.Errorf("secagg: %d parties: secure aggregation needs at least 2", n)
	}
	if rng == nil {
		rng = rand.Reader
	}
	// Pass 1: the exponents.
	hist := make([]Vec, n)
	for k, p := range parts {
		var err error
		if hist[k], err = Exponents(p, blocks); err != nil {
			return nil, fmt.Errorf("secagg: party %d: %w", k, err)
		}
	}
	h, err := sumInProcess(hist, ExponentBits, rng)
	if err != nil {
		return nil, err
	}
	enc, err := FloatEncoding(h, blocks, n)
	if err != nil {
		return nil, err
	}
	// Pass 2: the values.
	vals := make([]Vec, n)
	for k, p := range parts {
		if vals[k], _, err = enc.Encode(p); err != nil {
			return nil, err
		}
	}
	s, err := sumInProcess(vals, FloatBits, rng)
	if err != nil {
		return nil, err
	}
	return enc.Decode(s)
}

// ExponentBits and FloatBits are the rings of SumFloats's two
// aggregations: the exponent counts (at most the number of parties) and
// the values.
const (
	ExponentBits = 32
	FloatBits    = 64
)

// ExponentLen returns the length of the exponent vector of a layout of
// the given number of blocks.
func ExponentLen(blocks int) int { return expSlots * blocks }

// Exponents returns a party's input to the first aggregation of
// SumFloats: for each block of x (of the given lengths), a one-hot run of
// ExponentLen(1) slots in Z_{2^32} marking the binary exponent e of its
// largest magnitude m, the least with m < 2^e (e from −64 to 63; an
// all-zero block marks −64).
func Exponents(x []float64, blocks []int) (Vec, error) {
	total := 0
	for _, b := range blocks {
		if b < 0 {
			return Vec{}, fmt.Errorf("secagg: a block of length %d", b)
		}
		total += b
	}
	if len(x) != total {
		return Vec{}, fmt.Errorf("secagg: %d values, the blocks hold %d", len(x), total)
	}
	v := NewVec(ExponentBits, ExponentLen(len(blocks)))
	off := 0
	for b, l := range blocks {
		var m float64
		for i, f := range x[off : off+l] {
			if math.IsNaN(f) || math.IsInf(f, 0) {
				return Vec{}, fmt.Errorf("secagg: value %d is %v", off+i, f)
			}
			m = max(m, math.Abs(f))
		}
		v.Set(b*expSlots+exponentSlot(m), 1)
		off += l
	}
	return v, nil
}

// FloatEncoding returns the fixed point of SumFloats's second
// aggregation among n parties from hist, the sum of their Exponents: for
// each block, with E the largest exponent any party marked, values
// clipped to ±2^E (which clips none of theirs) and sums bounded by
// 2^(E+⌈log₂ n⌉), so 62 − E − ⌈log₂ n⌉ fractional bits in Z_{2^64}. A sum
// of n parties' values decodes within n·Step/2 of the exact sum.
func FloatEncoding(hist Vec, blocks []int, n int) (Encoding, error) {
	if n < 1 {
		return Encoding{}, fmt.Errorf("secagg: an encoding for %d parties", n)
	}
	if hist.Len() != ExponentLen(len(blocks)) || hist.Bits != ExponentBits {
		return Encoding{}, fmt.Errorf("secagg: an exponent sum of %d values in %d bits for %d blocks", hist.Len(), hist.Bits, len(blocks))
	}
	logN := int(math.Ceil(math.Log2(float64(n))))
	enc := Encoding{Bits: FloatBits}
	for b, l := range blocks {
		e := -64
		for s := expSlots - 1; s >= 0; s-- {
			if hist.At(b*expSlots+s) != 0 {
				e = s - 64
				break
			}
		}
		enc.Blocks = append(enc.Blocks, Block{Len: l, Clip: math.Ldexp(1, e), MaxSum: math.Ldexp(1, e+logN)})
	}
	return enc, enc.Check()
}

// exponentSlot returns the slot of the smallest power of two 2^e > m
// (e from −64 to 63).
func exponentSlot(m float64) int {
	if m == 0 {
		return 0
	}
	_, e := math.Frexp(m) // m = f·2^e, f in [0.5, 1): m < 2^e
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
