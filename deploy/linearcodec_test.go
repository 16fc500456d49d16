package deploy

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
)

// foldStats returns the statistics of k folds of n random rows of p
// inputs and q responses.
func foldStats(t testing.TB, n, p, q, k int) []*baseline.SuffStats {
	rng := rand.New(rand.NewPCG(1, 2))
	x, y := mat.NewDense(n, p, nil), mat.NewDense(n, q, nil)
	for i := range n {
		for j := range p {
			x.Set(i, j, rng.NormFloat64()*float64(j+1)+3)
		}
		for j := range q {
			y.Set(i, j, rng.NormFloat64()+x.At(i, 0))
		}
	}
	st, err := baseline.FoldStats(x, y, baseline.KFold(n, k, 7))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func sameStats(a, b *baseline.SuffStats) bool {
	if a.N != b.N || len(a.MeanX) != len(b.MeanX) || len(a.MeanY) != len(b.MeanY) {
		return false
	}
	eq := func(u, v float64) bool { return math.Float64bits(u) == math.Float64bits(v) }
	for j := range a.MeanX {
		if !eq(a.MeanX[j], b.MeanX[j]) {
			return false
		}
	}
	for j := range a.MeanY {
		if !eq(a.MeanY[j], b.MeanY[j]) {
			return false
		}
	}
	for _, m := range [][2]mat.Matrix{{a.Sxx, b.Sxx}, {a.Sxy, b.Sxy}, {a.Syy, b.Syy}} {
		r, c := m[0].Dims()
		for i := range r {
			for j := range c {
				if !eq(m[0].At(i, j), m[1].At(i, j)) {
					return false
				}
			}
		}
	}
	return true
}

// TestLinearStatsRoundTrip: decoding the encoding gives the statistics
// back bit for bit, in statsSize bytes.
func TestLinearStatsRoundTrip(t *testing.T) {
	for _, c := range []struct{ n, p, q, k int }{{10, 3, 1, 2}, {40, 17, 2, 5}, {9, 1, 3, 4}} {
		st := foldStats(t, c.n, c.p, c.q, c.k)
		b, err := encodeLinearStats(st, c.p, c.q)
		if err != nil {
			t.Fatal(err)
		}
		if len(b) != statsSize(c.p, c.q, c.k) {
			t.Fatalf("%+v: %d bytes, statsSize says %d", c, len(b), statsSize(c.p, c.q, c.k))
		}
		got, err := decodeLinearStats(b, c.p, c.q, c.k)
		if err != nil {
			t.Fatal(err)
		}
		for f := range st {
			if !sameStats(got[f], st[f]) {
				t.Fatalf("%+v: fold %d differs after the round trip", c, f)
			}
		}
	}
}

// TestLinearStatsDecodeErrors: every malformation is an error that says
// what is wrong.
func TestLinearStatsDecodeErrors(t *testing.T) {
	const p, q, k = 4, 1, 3
	good, err := encodeLinearStats(foldStats(t, 12, p, q, k), p, q)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(f func(b []byte) []byte) []byte { return f(append([]byte(nil), good...)) }
	cases := []struct {
		name string
		b    []byte
		p, q int
		want string
	}{
		{"empty", nil, p, q, "no FDLS header"},
		{"magic", edit(func(b []byte) []byte { b[0] = 'X'; return b }), p, q, "no FDLS header"},
		{"version", edit(func(b []byte) []byte { b[4] = 9; return b }), p, q, "version 9"},
		{"inputs", good, p + 1, q, "statistics of 4 inputs and 1 responses, the model has 5 and 1"},
		{"folds", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], 9); return b }), p, q, "9 folds of statistics, between 1 and 3"},
		{"no folds", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[16:], 0); return b }), p, q, "0 folds"},
		{"short", good[:len(good)-8], p, q, "bytes of statistics"},
		{"long", append(append([]byte(nil), good...), 0), p, q, "bytes of statistics"},
		{"count", edit(func(b []byte) []byte { binary.LittleEndian.PutUint64(b[statsHeader:], 1<<40); return b }), p, q, "a count of"},
		{"nan", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[statsHeader+8:], math.Float64bits(math.NaN()))
			return b
		}), p, q, "fold 1: a value NaN"},
		{"inf", edit(func(b []byte) []byte {
			binary.LittleEndian.PutUint64(b[len(b)-8:], math.Float64bits(math.Inf(1)))
			return b
		}), p, q, "fold 3: a value +Inf"},
	}
	for _, c := range cases {
		_, err := decodeLinearStats(c.b, c.p, c.q, k)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}

// FuzzDecodeLinearStats: the decoder never panics, and what it accepts
// has the asked sizes and finite values and encodes to the same bytes
// (folds of rows) or decodes again to the same (empty folds).
func FuzzDecodeLinearStats(f *testing.F) {
	for _, c := range []struct{ n, p, q, k int }{{6, 2, 1, 2}, {9, 1, 2, 3}} {
		b, err := encodeLinearStats(foldStats(f, c.n, c.p, c.q, c.k), c.p, c.q)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint8(c.p), uint8(c.q))
	}
	f.Fuzz(func(t *testing.T, b []byte, p, q uint8) {
		np, nq := int(p%8)+1, int(q%3)+1
		st, err := decodeLinearStats(b, np, nq, 5)
		if err != nil {
			return
		}
		for f, s := range st {
			if s.N == 0 {
				continue
			}
			if len(s.MeanX) != np || len(s.MeanY) != nq || s.Sxx.SymmetricDim() != np {
				t.Fatalf("fold %d: sizes %d, %d", f, len(s.MeanX), len(s.MeanY))
			}
		}
		again, err := encodeLinearStats(st, np, nq)
		if err != nil {
			t.Fatal(err)
		}
		st2, err := decodeLinearStats(again, np, nq, 5)
		if err != nil {
			t.Fatalf("re-encoded statistics do not decode: %v", err)
		}
		for f := range st {
			if st[f].N > 0 && !sameStats(st[f], st2[f]) {
				t.Fatalf("fold %d changed in a second round trip", f)
			}
		}
	})
}
