package fedgrpc

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"unsafe"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
	"github.com/fdrmfl/fdrmfl/internal/vec"
)

// DefaultChunkBytes is the size of the model chunks on the wire: well
// under gRPC's default 4 MiB message limit, large enough that per-message
// framing is lost in the noise (under 0.01 %).
const DefaultChunkBytes = 1 << 20

// TensorSpec names a tensor of the model and gives its shape.
type TensorSpec struct {
	Name  string
	Shape []int
}

// Layout lists a model's tensors in the order they lie in its flat weight
// vector. Every model on the wire is checked against it: the same names
// and shapes, in the same order.
type Layout []TensorSpec

// Values returns the length of the flat vector: the sum of the tensors'
// sizes.
func (l Layout) Values() int {
	n := 0
	for _, t := range l {
		n += size(t.Shape)
	}
	return n
}

func size(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// header returns the protocol's description of l.
func (l Layout) header() *fedpb.ModelHeader {
	h := &fedpb.ModelHeader{Values: uint64(l.Values())}
	for _, t := range l {
		s := make([]int64, len(t.Shape))
		for i, d := range t.Shape {
			s[i] = int64(d)
		}
		h.Tensors = append(h.Tensors, &fedpb.TensorSpec{Name: t.Name, Shape: s})
	}
	return h
}

// layoutOf turns a received header into a Layout, rejecting negative or
// absurd shapes.
func layoutOf(h *fedpb.ModelHeader) (Layout, error) {
	if h == nil {
		return nil, errors.New("no model header")
	}
	var l Layout
	var total uint64
	for i, t := range h.Tensors {
		spec := TensorSpec{Name: t.Name, Shape: make([]int, len(t.Shape))}
		n := uint64(1)
		for j, d := range t.Shape {
			if d < 0 || d > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %d (%q) has dimension %d", i, t.Name, d)
			}
			spec.Shape[j] = int(d)
			n *= uint64(d)
			if n > math.MaxInt32 {
				return nil, fmt.Errorf("tensor %d (%q) is too large", i, t.Name)
			}
		}
		total += n
		if total > math.MaxInt32 {
			return nil, errors.New("the model is too large")
		}
		l = append(l, spec)
	}
	if total != h.Values {
		return nil, fmt.Errorf("the header says %d values, its tensors hold %d", h.Values, total)
	}
	return l, nil
}

// match reports the first difference between a received layout and the
// expected one.
func (l Layout) match(got Layout) error {
	if len(got) != len(l) {
		return fmt.Errorf("the model has %d tensors, the federation's has %d", len(got), len(l))
	}
	for i, t := range got {
		if t.Name != l[i].Name {
			return fmt.Errorf("tensor %d is named %q, the federation's is %q", i, t.Name, l[i].Name)
		}
		if !slices.Equal(t.Shape, l[i].Shape) {
			return fmt.Errorf("tensor %q has shape %v, the federation's has %v", t.Name, t.Shape, l[i].Shape)
		}
	}
	return nil
}

// tensorAt returns the name of the tensor holding value i.
func (l Layout) tensorAt(i int) string {
	for _, t := range l {
		n := size(t.Shape)
		if i < n {
			return t.Name
		}
		i -= n
	}
	return "?"
}

// littleEndian reports whether this machine stores float32 as the wire
// does, so that decoding is a copy.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// decode fills dst with the little-endian float32 values held by src, a
// sequence of buffers that may split a value anywhere
// (the buffers' lengths sum to 4·len(dst)).
func decode(dst []float32, src [][]byte) {
	if len(dst) == 0 {
		return
	}
	if littleEndian {
		b := unsafe.Slice((*byte)(unsafe.Pointer(&dst[0])), 4*len(dst))
		for _, s := range src {
			b = b[copy(b, s):]
		}
		return
	}
	joined := slices.Concat(src...)
	for i := range dst {
		dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(joined[4*i:]))
	}
}

// encode returns w as little-endian float32 bytes.
func encode(w fed.Weights) []byte {
	b := make([]byte, 4*len(w))
	encodeTo(b, w)
	return b
}

// encodeTo writes w into b as little-endian float32 values
// (len(b) == 4·len(w)): on a little-endian machine, a copy.
func encodeTo(b []byte, w []float32) {
	if littleEndian && len(w) > 0 {
		copy(b, unsafe.Slice((*byte)(unsafe.Pointer(&w[0])), 4*len(w)))
		return
	}
	for i, v := range w {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
}

// chunks calls send with consecutive chunks of the encoded vector b, each
// at most max bytes (a whole number of values): the offset of its first
// value and its bytes, a slice of b.
func chunks(b []byte, max int, send func(offset uint64, data []byte) error) error {
	max -= max % 4
	if max <= 0 {
		max = DefaultChunkBytes
	}
	for off := 0; off < len(b); off += max {
		end := min(off+max, len(b))
		if err := send(uint64(off/4), b[off:end]); err != nil {
			return err
		}
	}
	return nil
}

// assembler rebuilds a flat weight vector from a header and its chunks,
// checking everything a peer could get wrong: the names and shapes, that
// chunks come in order without gaps or overlap, that each holds whole
// values within the model and no more than the agreed chunk size, and
// that every value is finite. Memory is one vector of the expected size,
// allocated only once the header has matched.
type assembler struct {
	layout   Layout
	maxChunk int
	out      fed.Weights
	n        int
}

// newAssembler checks a received header against want. The vector comes
// from alloc (nil: make); it need not be zeroed, since done succeeds only
// once every value has been written.
func newAssembler(want Layout, h *fedpb.ModelHeader, maxChunk int, alloc func(n int) fed.Weights) (*assembler, error) {
	got, err := layoutOf(h)
	if err != nil {
		return nil, err
	}
	if want != nil {
		if err := want.match(got); err != nil {
			return nil, err
		}
	}
	if alloc == nil {
		alloc = func(n int) fed.Weights { return make(fed.Weights, n) }
	}
	return &assembler{layout: got, maxChunk: maxChunk, out: alloc(got.Values())}, nil
}

// add decodes one chunk: the offset of its first value and its bytes,
// possibly split over several buffers. It has the signature of a
// chunkSink.
func (a *assembler) add(offset uint64, data [][]byte) error {
	size := 0
	for _, d := range data {
		size += len(d)
	}
	if offset != uint64(a.n) {
		return fmt.Errorf("chunk at value %d, expected value %d (chunks must come in order)", offset, a.n)
	}
	if size%4 != 0 {
		return fmt.Errorf("chunk at value %d has %d bytes, not a whole number of float32 values", offset, size)
	}
	if a.maxChunk > 0 && size > a.maxChunk {
		return fmt.Errorf("chunk at value %d has %d bytes, more than the %d agreed", offset, size, a.maxChunk)
	}
	k := size / 4
	if k == 0 {
		return fmt.Errorf("empty chunk at value %d", offset)
	}
	if a.n+k > len(a.out) {
		return fmt.Errorf("chunk at value %d runs past the model's %d values", offset, len(a.out))
	}
	dst := a.out[a.n : a.n+k]
	decode(dst, data)
	if i := vec.FirstNonFinite(dst); i >= 0 {
		return fmt.Errorf("value %d (tensor %q) is %v", a.n+i, a.layout.tensorAt(a.n+i), dst[i])
	}
	a.n += k
	return nil
}

// done returns the vector once every value has arrived.
func (a *assembler) done() (fed.Weights, error) {
	if a.n != len(a.out) {
		return nil, fmt.Errorf("the model ended after %d of its %d values", a.n, len(a.out))
	}
	return a.out, nil
}

// encodeChunks sends w as chunks of at most max bytes, encoding one chunk
// at a time, so that memory stays at one chunk whatever the model's size.
func encodeChunks(w fed.Weights, max int, send func(offset uint64, data []byte) error) error {
	max -= max % 4
	if max <= 0 {
		max = DefaultChunkBytes
	}
	per := max / 4
	for off := 0; off < len(w); off += per {
		end := min(off+per, len(w))
		buf := make([]byte, 4*(end-off)) // gRPC may read a sent message lazily: a fresh buffer each time
		encodeTo(buf, w[off:end])
		if err := send(uint64(off), buf); err != nil {
			return err
		}
	}
	return nil
}
