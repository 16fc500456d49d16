package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// Vec is a vector over the ring Z_{2^Bits}. Values are kept in 32-bit
// words when Bits ≤ 32 and in 64-bit words otherwise; arithmetic wraps at
// the word size, which 2^Bits divides, and Pack reduces to Bits.
type Vec struct {
	Bits int
	w32  []uint32
	w64  []uint64
}

// NewVec returns the zero vector of n elements of Z_{2^bits} (1 ≤ bits ≤ 64).
func NewVec(bits, n int) Vec {
	if bits < 1 || bits > 64 {
		panic(fmt.Sprintf("secagg.NewVec: %d bits", bits))
	}
	if bits <= 32 {
		return Vec{Bits: bits, w32: make([]uint32, n)}
	}
	return Vec{Bits: bits, w64: make([]uint64, n)}
}

// Len returns the number of elements.
func (v Vec) Len() int {
	if v.w32 != nil {
		return len(v.w32)
	}
	return len(v.w64)
}

// At returns element i reduced modulo 2^Bits.
func (v Vec) At(i int) uint64 {
	var x uint64
	if v.w32 != nil {
		x = uint64(v.w32[i])
	} else {
		x = v.w64[i]
	}
	if v.Bits < 64 {
		x &= 1<<v.Bits - 1
	}
	return x
}

// Set sets element i to x modulo 2^Bits.
func (v Vec) Set(i int, x uint64) {
	if v.w32 != nil {
		v.w32[i] = uint32(x)
	} else {
		v.w64[i] = x
	}
}

// Add adds o into v element by element.
func (v Vec) Add(o Vec) {
	if v.w32 != nil {
		for i, x := range o.w32 {
			v.w32[i] += x
		}
		return
	}
	for i, x := range o.w64 {
		v.w64[i] += x
	}
}

// bytesPer is the number of bytes an element takes on the wire.
func (v Vec) bytesPer() int { return (v.Bits + 7) / 8 }

// PackedSize returns the size of Pack's output for n elements of bits.
func PackedSize(bits, n int) int { return n * ((bits + 7) / 8) }

// Pack appends the elements, reduced modulo 2^Bits, little-endian in
// ⌈Bits/8⌉ bytes each.
func (v Vec) Pack(dst []byte) []byte {
	per := v.bytesPer()
	n := v.Len()
	off := len(dst)
	dst = append(dst, make([]byte, n*per)...)
	out := dst[off:]
	if v.w32 != nil && per == 4 {
		for i, x := range v.w32 {
			binary.LittleEndian.PutUint32(out[4*i:], x)
		}
		return dst
	}
	var b [8]byte
	for i := range n {
		binary.LittleEndian.PutUint64(b[:], v.At(i))
		copy(out[i*per:], b[:per])
	}
	return dst
}

// AddPacked adds a packed vector (Pack's layout) into v.
func (v Vec) AddPacked(p []byte) error {
	per := v.bytesPer()
	if len(p) != v.Len()*per {
		return fmt.Errorf("secagg: a packed vector of %d bytes, want %d", len(p), v.Len()*per)
	}
	if v.w32 != nil && per == 4 {
		for i := range v.w32 {
			v.w32[i] += binary.LittleEndian.Uint32(p[4*i:])
		}
		return nil
	}
	var b [8]byte
	for i := range v.Len() {
		copy(b[:per], p[i*per:(i+1)*per])
		x := binary.LittleEndian.Uint64(b[:])
		if v.w32 != nil {
			v.w32[i] += uint32(x)
		} else {
			v.w64[i] += x
		}
	}
	return nil
}

// prgChunk is the keystream generated at a time: small enough to stay in
// the first-level cache while it is added.
const prgChunk = 16 << 10

// AddMask adds (or, with neg, subtracts) the pseudo-random vector that
// the 32-byte seed expands to: AES-256 in counter mode from a zero IV,
// one word of keystream per element, so that two parties with the same
// seed produce the same mask. Masks are uniform over the ring.
func (v Vec) AddMask(seed []byte, neg bool) { v.AddMasks([][]byte{seed}, []bool{neg}) }

// AddMasks adds the masks of several seeds (AddMask for each), a chunk of
// the vector at a time, so that each chunk stays in the cache while every
// mask is added to it: the vector is read and written once, not once per
// mask.
func (v Vec) AddMasks(seeds [][]byte, neg []bool) {
	streams := make([]cipher.Stream, len(seeds))
	for i, seed := range seeds {
		blk, err := aes.NewCipher(seed)
		if err != nil {
			panic(err) // 32-byte seeds only
		}
		var iv [aes.BlockSize]byte
		streams[i] = cipher.NewCTR(blk, iv[:])
	}
	buf := make([]byte, prgChunk)
	zero := make([]byte, prgChunk) // the keystream is the XOR of zeros
	if v.w32 != nil {
		for start := 0; start < len(v.w32); start += prgChunk / 4 {
			dst := v.w32[start:min(start+prgChunk/4, len(v.w32))]
			ks := buf[:4*len(dst)]
			for i, st := range streams {
				st.XORKeyStream(ks, zero[:len(ks)])
				addWords(dst, unsafe.Slice((*uint32)(unsafe.Pointer(&ks[0])), len(dst)), neg[i])
			}
		}
		return
	}
	for start := 0; start < len(v.w64); start += prgChunk / 8 {
		dst := v.w64[start:min(start+prgChunk/8, len(v.w64))]
		ks := buf[:8*len(dst)]
		for i, st := range streams {
			st.XORKeyStream(ks, zero[:len(ks)])
			addWords(dst, unsafe.Slice((*uint64)(unsafe.Pointer(&ks[0])), len(dst)), neg[i])
		}
	}
}

// addWords adds or subtracts src into dst. The keystream is read as
// native-endian words; every amd64 and arm64 target is little-endian, and
// both parties of a mask run the same expansion on their own machine, so
// a mixed-endian federation would only disagree on masks, which the sum
// check (a wrong sum) would show.
func addWords[T uint32 | uint64](dst, src []T, neg bool) {
	src = src[:len(dst)]
	if neg {
		for i, x := range src {
			dst[i] -= x
		}
		return
	}
	for i, x := range src {
		dst[i] += x
	}
}

// Block is a run of values that share one fixed-point scale: each value
// is clipped to [−Clip, Clip], and the sum of all parties' values is
// promised to stay within ±MaxSum (MaxSum ≥ Clip), which fixes the scale
// 2^Frac, the largest that cannot overflow the ring.
type Block struct {
	Len    int
	Clip   float64
	MaxSum float64
}

// Encoding maps real vectors to ring vectors by blocks of fixed point.
type Encoding struct {
	Bits   int
	Blocks []Block
}

// Len returns the total length of the blocks.
func (e Encoding) Len() int {
	n := 0
	for _, b := range e.Blocks {
		n += b.Len
	}
	return n
}

// Frac returns the number of fractional bits of block b: the largest f
// with MaxSum·2^f < 2^(Bits−1), so that a sum within ±MaxSum decodes
// without wrapping around.
func (e Encoding) Frac(b Block) int {
	return e.Bits - 2 - int(math.Ceil(math.Log2(b.MaxSum)))
}

// Step returns the quantisation step 2^−Frac of block b. Rounding to
// nearest puts every encoded value within Step/2 of its clipped value,
// so a sum of n parties' values decodes within n·Step/2 of their true
// (clipped) sum.
func (e Encoding) Step(b Block) float64 { return math.Ldexp(1, -e.Frac(b)) }

// Check reports an encoding that cannot work.
func (e Encoding) Check() error {
	if e.Bits < 8 || e.Bits > 64 {
		return fmt.Errorf("secagg: %d bits: want 8 to 64", e.Bits)
	}
	for i, b := range e.Blocks {
		switch {
		case b.Len < 0:
			return fmt.Errorf("secagg: block %d has length %d", i, b.Len)
		case !(b.Clip > 0) || math.IsInf(b.Clip, 0):
			return fmt.Errorf("secagg: block %d: clip %v must be positive and finite", i, b.Clip)
		case !(b.MaxSum >= b.Clip) || math.IsInf(b.MaxSum, 0):
			return fmt.Errorf("secagg: block %d: the sum bound %v must be finite and at least the clip %v", i, b.MaxSum, b.Clip)
		case e.Frac(b) < 1:
			return fmt.Errorf("secagg: block %d: a sum bound of %v leaves no fractional bit in %d bits", i, b.MaxSum, e.Bits)
		}
	}
	return nil
}

// Encode clips x (of length Len) block by block and rounds each value to
// the nearest multiple of its block's step, as a ring element. It
// returns the vector and the number of values that were clipped.
func (e Encoding) Encode(x []float64) (Vec, int, error) {
	if err := e.Check(); err != nil {
		return Vec{}, 0, err
	}
	if len(x) != e.Len() {
		return Vec{}, 0, fmt.Errorf("secagg: encoding %d values, the encoding has %d", len(x), e.Len())
	}
	v := NewVec(e.Bits, len(x))
	clipped, off := 0, 0
	for _, b := range e.Blocks {
		scale := math.Ldexp(1, e.Frac(b))
		for i, f := range x[off : off+b.Len] {
			if math.IsNaN(f) {
				return Vec{}, 0, fmt.Errorf("secagg: value %d is NaN", off+i)
			}
			if f > b.Clip {
				f, clipped = b.Clip, clipped+1
			} else if f < -b.Clip {
				f, clipped = -b.Clip, clipped+1
			}
			v.Set(off+i, uint64(int64(math.RoundToEven(f*scale))))
		}
		off += b.Len
	}
	return v, clipped, nil
}

// Decode turns a ring vector — typically a sum — back into reals, reading
// each element as a signed number of Bits bits.
func (e Encoding) Decode(v Vec) ([]float64, error) {
	if v.Len() != e.Len() {
		return nil, fmt.Errorf("secagg: decoding %d values, the encoding has %d", v.Len(), e.Len())
	}
	if v.Bits != e.Bits {
		return nil, errors.New("secagg: decoding a vector of another ring")
	}
	out := make([]float64, v.Len())
	off := 0
	for _, b := range e.Blocks {
		inv := math.Ldexp(1, -e.Frac(b))
		for i := off; i < off+b.Len; i++ {
			u := v.At(i)
			s := int64(u << (64 - e.Bits) >> 0)
			s >>= 64 - e.Bits // sign-extend from Bits
			out[i] = float64(s) * inv
		}
		off += b.Len
	}
	return out, nil
}
