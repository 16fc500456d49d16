package strategy

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
)

// stateWriter and stateReader encode a strategy's state for checkpoints:
// little-endian fields, each vector and byte string preceded by its
// length, so that a reader refuses truncated or padded input.
type stateWriter struct{ b []byte }

func (w *stateWriter) bytes(p []byte) {
	w.b = binary.LittleEndian.AppendUint64(w.b, uint64(len(p)))
	w.b = append(w.b, p...)
}

func (w *stateWriter) str(s string) { w.bytes([]byte(s)) }

func (w *stateWriter) f64(v float64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, math.Float64bits(v))
}

func (w *stateWriter) vec(v []float64) {
	w.b = binary.LittleEndian.AppendUint64(w.b, uint64(len(v)))
	for _, x := range v {
		w.f64(x)
	}
}

// counts writes a client → count map in name order.
func (w *stateWriter) counts(m map[string]int) {
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	w.b = binary.LittleEndian.AppendUint64(w.b, uint64(len(names)))
	for _, k := range names {
		w.str(k)
		w.b = binary.LittleEndian.AppendUint64(w.b, uint64(m[k]))
	}
}

type stateReader struct {
	b   []byte
	err error
}

var errTruncated = errors.New("truncated state")

func (r *stateReader) u64() uint64 {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 8 {
		r.err = errTruncated
		return 0
	}
	v := binary.LittleEndian.Uint64(r.b)
	r.b = r.b[8:]
	return v
}

func (r *stateReader) bytes() []byte {
	n := r.u64()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b)) {
		r.err = errTruncated
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *stateReader) str() string { return string(r.bytes()) }

func (r *stateReader) f64() float64 { return math.Float64frombits(r.u64()) }

func (r *stateReader) vec() []float64 {
	n := r.u64()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b))/8 {
		r.err = errTruncated
		return nil
	}
	if n == 0 {
		return nil
	}
	v := make([]float64, n)
	for i := range v {
		v[i] = r.f64()
		if x := v[i]; x-x != 0 && r.err == nil {
			r.err = fmt.Errorf("value %d is %v", i, x)
		}
	}
	return v
}

func (r *stateReader) counts() map[string]int {
	n := r.u64()
	if r.err != nil {
		return nil
	}
	if n > uint64(len(r.b))/16 {
		r.err = errTruncated
		return nil
	}
	m := make(map[string]int, n)
	for range n {
		k := r.str()
		m[k] = int(r.u64())
	}
	return m
}

// done reports the first error, or input left over.
func (r *stateReader) done() error {
	if r.err == nil && len(r.b) > 0 {
		r.err = fmt.Errorf("%d bytes left over", len(r.b))
	}
	return r.err
}

// baseState returns the FedAvg state (its random source) for embedding.
func (s *FedAvg) baseState() ([]byte, error) { return s.MarshalBinary() }
