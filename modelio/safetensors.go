// Package modelio reads and writes model weights and checkpoints in the
// safetensors format (https://huggingface.co/docs/safetensors), which
// PyTorch tooling reads: an 8-byte little-endian header length, a JSON
// header naming each tensor's dtype, shape and byte range, then the raw
// little-endian data. It works on io.Reader and io.Writer; opening files is
// the caller's business.
package modelio

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"sort"
)

// Tensor is a named float32 array, as stored in a safetensors file.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// maxHeader bounds the JSON header so that a corrupt length cannot make the
// reader allocate without limit.
const maxHeader = 100 << 20

type headerEntry struct {
	Dtype       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// WriteSafetensors writes tensors, in the given order, and string metadata
// (may be nil) as a safetensors file with dtype F32.
func WriteSafetensors(w io.Writer, tensors []Tensor, meta map[string]string) error {
	header := map[string]any{}
	if len(meta) > 0 {
		header["__metadata__"] = meta
	}
	var off int64
	for _, t := range tensors {
		if t.Name == "" || t.Name == "__metadata__" {
			return fmt.Errorf("safetensors: bad tensor name %q", t.Name)
		}
		if _, dup := header[t.Name]; dup {
			return fmt.Errorf("safetensors: two tensors named %q", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("safetensors: tensor %q: shape %v needs %d values, has %d", t.Name, t.Shape, n, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		header[t.Name] = headerEntry{Dtype: "F32", Shape: shape, DataOffsets: [2]int64{off, off + 4*int64(n)}}
		off += 4 * int64(n)
	}
	hj, err := json.Marshal(header)
	if err != nil {
		return fmt.Errorf("safetensors: header: %w", err)
	}
	for len(hj)%8 != 0 { // the format pads the header with spaces to 8 bytes
		hj = append(hj, ' ')
	}
	var lenBuf [8]byte
	binary.LittleEndian.PutUint64(lenBuf[:], uint64(len(hj)))
	if _, err := w.Write(lenBuf[:]); err != nil {
		return err
	}
	if _, err := w.Write(hj); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<16)
	for _, t := range tensors {
		for _, v := range t.Data {
			buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			if len(buf) == cap(buf) {
				if _, err := w.Write(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
	}
	_, err = w.Write(buf)
	return err
}

// ReadSafetensors reads a safetensors file whole. Tensors of dtype F32, F64,
// F16, BF16, I64 and I32 are converted to float32; they are returned in the
// order of their data in the file, with the file's metadata.
func ReadSafetensors(r io.Reader) ([]Tensor, map[string]string, error) {
	var lenBuf [8]byte
	if _, err := io.ReadFull(r, lenBuf[:]); err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading header length: %w", err)
	}
	hl := binary.LittleEndian.Uint64(lenBuf[:])
	if hl > maxHeader {
		return nil, nil, fmt.Errorf("safetensors: header length %d exceeds the %d-byte limit", hl, maxHeader)
	}
	hj := make([]byte, hl)
	if _, err := io.ReadFull(r, hj); err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading %d-byte header: %w", hl, err)
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(bytes.TrimRight(hj, " "), &raw); err != nil {
		return nil, nil, fmt.Errorf("safetensors: header is not valid JSON: %w", err)
	}
	var meta map[string]string
	type named struct {
		name string
		headerEntry
	}
	var entries []named
	for name, msg := range raw {
		if name == "__metadata__" {
			if err := json.Unmarshal(msg, &meta); err != nil {
				return nil, nil, fmt.Errorf("safetensors: __metadata__ must map strings to strings: %w", err)
			}
			continue
		}
		var e headerEntry
		if err := json.Unmarshal(msg, &e); err != nil {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: %w", name, err)
		}
		entries = append(entries, named{name, e})
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].DataOffsets[0] < entries[j].DataOffsets[0] })
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, nil, fmt.Errorf("safetensors: reading data: %w", err)
	}
	out := make([]Tensor, 0, len(entries))
	var next int64
	for _, e := range entries {
		size, ok := dtypeSize[e.Dtype]
		if !ok {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: unsupported dtype %q", e.name, e.Dtype)
		}
		n := int64(1)
		for _, d := range e.Shape {
			if d < 0 || (d > 0 && n > math.MaxInt32/int64(d)) {
				return nil, nil, fmt.Errorf("safetensors: tensor %q: bad shape %v", e.name, e.Shape)
			}
			n *= int64(d)
		}
		b, end := e.DataOffsets[0], e.DataOffsets[1]
		if b != next || end-b != n*size || end > int64(len(data)) {
			return nil, nil, fmt.Errorf("safetensors: tensor %q: byte range [%d, %d) does not fit shape %v of %s after offset %d in %d data bytes",
				e.name, b, end, e.Shape, e.Dtype, next, len(data))
		}
		next = end
		out = append(out, Tensor{Name: e.name, Shape: slices.Clone(e.Shape), Data: decode(e.Dtype, data[b:end], int(n))})
	}
	if next != int64(len(data)) {
		return nil, nil, fmt.Errorf("safetensors: %d bytes after the last tensor", int64(len(data))-next)
	}
	return out, meta, nil
}

var dtypeSize = map[string]int64{"F32": 4, "F64": 8, "F16": 2, "BF16": 2, "I64": 8, "I32": 4}

func decode(dtype string, b []byte, n int) []float32 {
	out := make([]float32, n)
	le := binary.LittleEndian
	for i := range out {
		switch dtype {
		case "F32":
			out[i] = math.Float32frombits(le.Uint32(b[4*i:]))
		case "F64":
			out[i] = float32(math.Float64frombits(le.Uint64(b[8*i:])))
		case "BF16":
			out[i] = math.Float32frombits(uint32(le.Uint16(b[2*i:])) << 16)
		case "F16":
			out[i] = halfToFloat(le.Uint16(b[2*i:]))
		case "I64":
			out[i] = float32(int64(le.Uint64(b[8*i:])))
		case "I32":
			out[i] = float32(int32(le.Uint32(b[4*i:])))
		}
	}
	return out
}

func halfToFloat(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		f := float32(frac) / 1024 * float32(math.Pow(2, -14))
		if sign != 0 {
			return -f
		}
		return f
	case exp == 31:
		return math.Float32frombits(sign | 0xff<<23 | frac<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// ErrMismatch is wrapped by errors of LoadInto when the file does not fit
// the model.
var ErrMismatch = errors.New("weights do not fit the model")
