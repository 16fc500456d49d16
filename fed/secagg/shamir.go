package secagg

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
)

// prime is the Mersenne prime 2⁶¹ − 1, the modulus of the field Shamir's
// shares live in. A 32-byte secret is cut into five 7-byte limbs (56 bits
// each, below the prime) and each limb is shared with its own polynomial.
const prime = 1<<61 - 1

const (
	limbs     = 5 // ⌈32 / 7⌉
	limbBytes = 7
	// SecretSize is the size of a shared secret: an X25519 private key or
	// a self-mask seed.
	SecretSize = 32
	// shareSize is the encoded size of a share: its x-coordinate and one
	// field element per limb.
	shareSize = 4 + 8*limbs
)

// share is one point of the five polynomials: y_l = f_l(x).
type share struct {
	x uint32 // 1-based: the holder's index + 1
	y [limbs]uint64
}

func fadd(a, b uint64) uint64 {
	s := a + b
	if s >= prime {
		s -= prime
	}
	return s
}

func fsub(a, b uint64) uint64 {
	if a >= b {
		return a - b
	}
	return a + prime - b
}

func fmul(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	// a·b = hi·2⁶⁴ + lo; 2⁶¹ ≡ 1, so fold the bits above 61.
	r := (lo & prime) + (lo >> 61) + (hi << 3)
	for r >= prime {
		r -= prime
	}
	return r
}

func finv(a uint64) uint64 { // a^(p−2)
	r, e := uint64(1), uint64(prime-2)
	for ; e > 0; e >>= 1 {
		if e&1 == 1 {
			r = fmul(r, a)
		}
		a = fmul(a, a)
	}
	return r
}

// randField draws a uniform field element from r.
func randField(r io.Reader) (uint64, error) {
	var b [8]byte
	for {
		if _, err := io.ReadFull(r, b[:]); err != nil {
			return 0, err
		}
		v := binary.LittleEndian.Uint64(b[:]) & prime // 61 bits
		if v < prime {
			return v, nil
		}
	}
}

// split shares a 32-byte secret among the holders xs (distinct, non-zero
// x-coordinates) so that any t of the shares give it back and fewer tell
// nothing about it.
func split(secret []byte, t int, xs []uint32, r io.Reader) ([]share, error) {
	if len(secret) != SecretSize {
		return nil, fmt.Errorf("secagg: a secret has %d bytes, want %d", len(secret), SecretSize)
	}
	if t < 1 || t > len(xs) {
		return nil, fmt.Errorf("secagg: threshold %d with %d holders", t, len(xs))
	}
	var padded [limbs * limbBytes]byte
	copy(padded[:], secret)
	out := make([]share, len(xs))
	for i, x := range xs {
		out[i].x = x
	}
	coef := make([]uint64, t)
	for l := range limbs {
		var b [8]byte
		copy(b[:], padded[l*limbBytes:(l+1)*limbBytes])
		coef[0] = binary.LittleEndian.Uint64(b[:])
		for j := 1; j < t; j++ {
			c, err := randField(r)
			if err != nil {
				return nil, fmt.Errorf("secagg: drawing a share polynomial: %w", err)
			}
			coef[j] = c
		}
		for i := range out {
			x := uint64(out[i].x)
			var y uint64
			for j := t - 1; j >= 0; j-- { // Horner
				y = fadd(fmul(y, x), coef[j])
			}
			out[i].y[l] = y
		}
	}
	return out, nil
}

// combine returns the secret behind t or more shares (Lagrange
// interpolation at 0 of the first t). Shares with repeated x are an error.
func combine(shares []share, t int) ([]byte, error) {
	if len(shares) < t {
		return nil, fmt.Errorf("secagg: %d shares, %d needed", len(shares), t)
	}
	shares = shares[:t]
	seen := map[uint32]bool{}
	for _, s := range shares {
		if s.x == 0 || seen[s.x] {
			return nil, errors.New("secagg: shares with a zero or repeated x-coordinate")
		}
		seen[s.x] = true
	}
	// λ_i = Π_{j≠i} x_j / (x_j − x_i)
	lambda := make([]uint64, t)
	for i, si := range shares {
		num, den := uint64(1), uint64(1)
		for j, sj := range shares {
			if i == j {
				continue
			}
			num = fmul(num, uint64(sj.x))
			den = fmul(den, fsub(uint64(sj.x), uint64(si.x)))
		}
		lambda[i] = fmul(num, finv(den))
	}
	var padded [limbs * limbBytes]byte
	for l := range limbs {
		var v uint64
		for i, s := range shares {
			if s.y[l] >= prime {
				return nil, errors.New("secagg: a share value outside the field")
			}
			v = fadd(v, fmul(lambda[i], s.y[l]))
		}
		if v >= 1<<56 {
			return nil, errors.New("secagg: the shares do not fit together")
		}
		var b [8]byte
		binary.LittleEndian.PutUint64(b[:], v)
		copy(padded[l*limbBytes:], b[:limbBytes])
	}
	for _, b := range padded[SecretSize:] {
		if b != 0 {
			return nil, errors.New("secagg: the shares do not fit together")
		}
	}
	return padded[:SecretSize:SecretSize], nil
}

func (s share) append(b []byte) []byte {
	b = binary.LittleEndian.AppendUint32(b, s.x)
	for _, y := range s.y {
		b = binary.LittleEndian.AppendUint64(b, y)
	}
	return b
}

func readShare(b []byte) (share, error) {
	var s share
	if len(b) != shareSize {
		return s, fmt.Errorf("secagg: a share of %d bytes, want %d", len(b), shareSize)
	}
	s.x = binary.LittleEndian.Uint32(b)
	for l := range limbs {
		s.y[l] = binary.LittleEndian.Uint64(b[4+8*l:])
		if s.y[l] >= prime {
			return s, errors.New("secagg: a share value outside the field")
		}
	}
	return s, nil
}
