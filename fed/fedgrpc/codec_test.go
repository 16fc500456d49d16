package fedgrpc

import (
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
)

// TestChunksRoundTrip encodes models in chunks of several sizes and
// decodes them back, bit for bit.
func TestChunksRoundTrip(t *testing.T) {
	w := ramp(testLayout.Values())
	w[3] = float32(math.Copysign(0, -1))
	w[4] = math.SmallestNonzeroFloat32
	for _, max := range []int{4, 8, 12, 64, 1 << 20, 7} {
		for name, send := range map[string]func(func(*fedpb.Chunk) error) error{
			"server": func(f func(*fedpb.Chunk) error) error { return chunks(encode(w), max, f) },
			"client": func(f func(*fedpb.Chunk) error) error { return encodeChunks(w, max, f) },
		} {
			a, err := newAssembler(testLayout, testLayout.header(), max-max%4)
			if err != nil {
				t.Fatal(err)
			}
			if err := send(a.add); err != nil {
				t.Fatalf("%s, %d-byte chunks: %v", name, max, err)
			}
			got, err := a.done()
			if err != nil || !bitsEqual(got, w) {
				t.Fatalf("%s, %d-byte chunks: %v, %v", name, max, got, err)
			}
		}
	}
}

// TestHeaderChecks rejects headers that do not describe the layout.
func TestHeaderChecks(t *testing.T) {
	cases := []struct {
		name string
		h    *fedpb.ModelHeader
	}{
		{"none", nil},
		{"count disagrees", &fedpb.ModelHeader{Values: 18, Tensors: testLayout.header().Tensors}},
		{"negative dimension", &fedpb.ModelHeader{Values: 0, Tensors: []*fedpb.TensorSpec{{Name: "w", Shape: []int64{-3, 0}}}}},
		{"overflowing shape", &fedpb.ModelHeader{Values: 0, Tensors: []*fedpb.TensorSpec{{Name: "w", Shape: []int64{1 << 30, 1 << 30}}}}},
		{"one tensor missing", Layout{{Name: "w", Shape: []int{3, 4}}}.header()},
		{"reordered", Layout{{Name: "b", Shape: []int{5}}, {Name: "w", Shape: []int{3, 4}}}.header()},
	}
	for _, c := range cases {
		if _, err := newAssembler(testLayout, c.h, 0); err == nil {
			t.Errorf("%s: header accepted", c.name)
		}
	}
}

// parts splits fuzz input into protobuf messages, each preceded by its
// length as a uvarint.
func parts(data []byte) []*fedpb.UploadPart {
	var out []*fedpb.UploadPart
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > uint64(len(data)-k) {
			return out
		}
		var p fedpb.UploadPart
		if proto.Unmarshal(data[k:k+int(n)], &p) == nil {
			out = append(out, &p)
		}
		data = data[k+int(n):]
	}
	return out
}

func frame(ps ...*fedpb.UploadPart) []byte {
	var b []byte
	for _, p := range ps {
		m, err := proto.Marshal(p)
		if err != nil {
			panic(err)
		}
		b = binary.AppendUvarint(b, uint64(len(m)))
		b = append(b, m...)
	}
	return b
}

// FuzzReadUpload feeds arbitrary messages to the server's decoding of an
// upload: it must never panic, and whatever it accepts is a model of the
// layout's size with finite values.
//
//	go test ./fed/fedgrpc -run '^$' -fuzz FuzzReadUpload -fuzztime 30s
func FuzzReadUpload(f *testing.F) {
	n := testLayout.Values()
	good := &fedpb.UpdateHeader{Task: "t", Samples: 3, Model: testLayout.header(), Metrics: map[string]float64{"loss": 1}}
	f.Add(frame(header(good), chunkOf(0, fill(n, 1)...)))
	f.Add(frame(header(good), chunkOf(0, fill(8, 1)...), chunkOf(8, fill(n-8, 2)...)))
	f.Add(frame(header(good), chunkOf(0, fill(8, 1)...), chunkOf(7, fill(n-7, 2)...)))
	f.Add(frame(header(&fedpb.UpdateHeader{Error: "out of memory"})))
	f.Add(frame(chunkOf(0, 1, 2)))
	f.Fuzz(func(t *testing.T, data []byte) {
		ps := parts(data)
		if len(ps) == 0 || ps[0].GetHeader() == nil {
			return
		}
		rest := ps[1:]
		recv := func() (*fedpb.UploadPart, error) {
			if len(rest) == 0 {
				return nil, io.EOF
			}
			p := rest[0]
			rest = rest[1:]
			return p, nil
		}
		w, err := readUpload(testLayout, ps[0].GetHeader(), recv, 64, 1<<10, fed.Fit)
		if err != nil {
			if errors.Is(err, io.EOF) {
				t.Fatal("EOF leaked as an error")
			}
			return
		}
		if ps[0].GetHeader().Error != "" {
			return
		}
		if len(w) != n {
			t.Fatalf("accepted a model of %d values, the layout has %d", len(w), n)
		}
		for i, v := range w {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				t.Fatalf("accepted value %d = %v", i, v)
			}
		}
	})
}
