package deploy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
)

// The fold statistics of a linear federation travel in a binary form,
// little-endian, lossless (float64):
//
//	"FDLS" | version u32 = 1 | p u32 | q u32 | folds u32
//	per fold: N u64 | MeanX p×f64 | MeanY q×f64 |
//	          Sxx upper triangle, row by row, p(p+1)/2×f64 | Sxy p×q f64, row-major |
//	          Syy upper triangle q(q+1)/2×f64
//
// Sending only the upper triangles of the symmetric blocks halves the
// bytes; decoding rebuilds the full matrices bit for bit.

const (
	statsMagic   = "FDLS"
	statsVersion = 1
	statsHeader  = 4 + 4*4
)

// foldBytes is the size of one fold's statistics of p inputs and q
// responses.
func foldBytes(p, q int) int {
	return 8 * (1 + p + q + p*(p+1)/2 + p*q + q*(q+1)/2)
}

// statsSize is the size of the encoding of folds folds.
func statsSize(p, q, folds int) int { return statsHeader + folds*foldBytes(p, q) }

// encodeLinearStats returns the binary form of a client's fold
// statistics of p inputs and q responses (a fold of no rows has nil
// matrices and is written as zeros).
func encodeLinearStats(folds []*baseline.SuffStats, p, q int) ([]byte, error) {
	b := make([]byte, 0, statsSize(p, q, len(folds)))
	b = append(b, statsMagic...)
	for _, v := range []int{statsVersion, p, q, len(folds)} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	f64 := func(v float64) { b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v)) }
	at := func(m mat.Matrix, i, j int) float64 {
		if m == nil {
			return 0
		}
		return m.At(i, j)
	}
	for f, s := range folds {
		if s.N > 0 && (len(s.MeanX) != p || len(s.MeanY) != q || s.Sxx == nil || s.Sxy == nil || s.Syy == nil) {
			return nil, fmt.Errorf("fold %d: statistics of %d inputs and %d responses, want %d and %d", f+1, len(s.MeanX), len(s.MeanY), p, q)
		}
		b = binary.LittleEndian.AppendUint64(b, uint64(s.N))
		for j := range p {
			f64(at0(s.MeanX, j))
		}
		for j := range q {
			f64(at0(s.MeanY, j))
		}
		var sxx, sxy, syy mat.Matrix
		if s.N > 0 {
			sxx, sxy, syy = s.Sxx, s.Sxy, s.Syy
		}
		for i := range p {
			for j := i; j < p; j++ {
				f64(at(sxx, i, j))
			}
		}
		for i := range p {
			for j := range q {
				f64(at(sxy, i, j))
			}
		}
		for i := range q {
			for j := i; j < q; j++ {
				f64(at(syy, i, j))
			}
		}
	}
	return b, nil
}

func at0(v []float64, j int) float64 {
	if j < len(v) {
		return v[j]
	}
	return 0
}

// decodeLinearStats reads fold statistics of p inputs and q responses,
// at most maxFolds folds, from their binary form. Anything else — another
// size, a length that does not match, a count that is negative or past
// 2³¹, a value that is not finite — is an error saying what; nothing is
// allocated before the length is checked.
func decodeLinearStats(b []byte, p, q, maxFolds int) ([]*baseline.SuffStats, error) {
	if len(b) < statsHeader || string(b[:4]) != statsMagic {
		return nil, errors.New("not fold statistics (no FDLS header)")
	}
	u32 := func(off int) int { return int(binary.LittleEndian.Uint32(b[off:])) }
	if v := u32(4); v != statsVersion {
		return nil, fmt.Errorf("fold statistics of version %d, this version reads %d", v, statsVersion)
	}
	gp, gq, folds := u32(8), u32(12), u32(16)
	if gp != p || gq != q {
		return nil, fmt.Errorf("statistics of %d inputs and %d responses, the model has %d and %d", gp, gq, p, q)
	}
	if folds < 1 || folds > maxFolds {
		return nil, fmt.Errorf("%d folds of statistics, between 1 and %d were asked for", folds, maxFolds)
	}
	if want := statsSize(p, q, folds); len(b) != want {
		return nil, fmt.Errorf("%d bytes of statistics, %d folds of %d inputs and %d responses take %d", len(b), folds, p, q, want)
	}
	off := statsHeader
	var bad error
	f64 := func() float64 {
		v := math.Float64frombits(binary.LittleEndian.Uint64(b[off:]))
		off += 8
		if bad == nil && (math.IsNaN(v) || math.IsInf(v, 0)) {
			bad = fmt.Errorf("a value %v at byte %d", v, off-8)
		}
		return v
	}
	out := make([]*baseline.SuffStats, folds)
	for f := range out {
		n := binary.LittleEndian.Uint64(b[off:])
		off += 8
		if n > math.MaxInt32 {
			return nil, fmt.Errorf("fold %d: a count of %d rows", f+1, int64(n))
		}
		s := &baseline.SuffStats{N: int(n), MeanX: make([]float64, p), MeanY: make([]float64, q),
			Sxx: mat.NewSymDense(p, nil), Sxy: mat.NewDense(p, q, nil), Syy: mat.NewSymDense(q, nil)}
		for j := range p {
			s.MeanX[j] = f64()
		}
		for j := range q {
			s.MeanY[j] = f64()
		}
		for i := range p {
			for j := i; j < p; j++ {
				s.Sxx.SetSym(i, j, f64())
			}
		}
		for i := range p {
			for j := range q {
				s.Sxy.Set(i, j, f64())
			}
		}
		for i := range q {
			for j := i; j < q; j++ {
				s.Syy.SetSym(i, j, f64())
			}
		}
		if bad != nil {
			return nil, fmt.Errorf("fold %d: %w", f+1, bad)
		}
		if s.N == 0 {
			out[f] = &baseline.SuffStats{}
			continue
		}
		out[f] = s
	}
	return out, nil
}
