package fedgrpc

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"slices"
	"testing"

	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/proto"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
)

// TestChunksRoundTrip encodes models in chunks of several sizes, passes
// every chunk through the codec with its bytes cut into frames of several
// sizes (so that frames split values), and decodes them back, bit for bit.
func TestChunksRoundTrip(t *testing.T) {
	w := ramp(testLayout.Values())
	w[3] = float32(math.Copysign(0, -1))
	w[4] = math.SmallestNonzeroFloat32
	for _, max := range []int{4, 8, 12, 64, 1 << 20, 7} {
		for _, cut := range []int{1, 3, 5, 16, 1 << 14} {
			for name, send := range map[string]func(func(uint64, []byte) error) error{
				"server": func(f func(uint64, []byte) error) error { return chunks(encode(w), max, f) },
				"client": func(f func(uint64, []byte) error) error { return encodeChunks(w, max, f) },
			} {
				a, err := newAssembler(testLayout, testLayout.header(), max-max%4, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := send(viaCodec(t, cut, a.add)); err != nil {
					t.Fatalf("%s, %d-byte chunks, %d-byte frames: %v", name, max, cut, err)
				}
				got, err := a.done()
				if err != nil || !bitsEqual(got, w) {
					t.Fatalf("%s, %d-byte chunks, %d-byte frames: %v, %v", name, max, cut, got, err)
				}
			}
		}
	}
}

// viaCodec returns a chunk sender that marshals the chunk with wireCodec,
// checks that the bytes are protobuf's own encoding of it, cuts them into
// frames of cut bytes and unmarshals them into sink, as a receiver would.
func viaCodec(t *testing.T, cut int, sink chunkSink) func(uint64, []byte) error {
	return func(off uint64, data []byte) error {
		out, err := wireCodec{}.Marshal(&outChunk{offset: off, data: data})
		if err != nil {
			t.Fatal(err)
		}
		wire := out.Materialize()
		want, err := proto.Marshal(&fedpb.ModelPart{Part: &fedpb.ModelPart_Chunk{Chunk: &fedpb.Chunk{Offset: off, Data: data}}})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(wire, want) {
			t.Fatalf("chunk at %d: the codec wrote % x, protobuf % x", off, wire[:min(len(wire), 16)], want[:min(len(want), 16)])
		}
		p := inPart{msg: new(fedpb.ModelPart), sink: sink}
		if err := (wireCodec{}).Unmarshal(frames(wire, cut), &p); err != nil {
			t.Fatal(err)
		}
		if !p.chunk {
			t.Fatalf("chunk at %d was not decoded in place", off)
		}
		return p.err
	}
}

// frames cuts b into buffers of cut bytes (the last may be shorter), as
// HTTP/2 frames cut a message.
func frames(b []byte, cut int) mem.BufferSlice {
	var out mem.BufferSlice
	for len(b) > 0 {
		k := min(cut, len(b))
		out = append(out, mem.SliceBuffer(b[:k]))
		b = b[k:]
	}
	return out
}

// TestCodecDefersToProtobuf sends every other message through protobuf's
// codec, and a chunk without a sink into the message.
func TestCodecDefersToProtobuf(t *testing.T) {
	in := &fedpb.UploadPart{Part: &fedpb.UploadPart_Header{Header: &fedpb.UpdateHeader{Task: "t", Samples: 3}}}
	out, err := wireCodec{}.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	got, err := recvPart(func(v any) error { return wireCodec{}.Unmarshal(frames(out.Materialize(), 3), v) }, new(fedpb.UploadPart), nil)
	if err != nil || !proto.Equal(got, in) {
		t.Fatalf("got %v, %v", got, err)
	}
	chunk := chunkOf(4, 1, 2)
	b, _ := proto.Marshal(chunk)
	got, err = recvPart(func(v any) error { return wireCodec{}.Unmarshal(frames(b, 2), v) }, new(fedpb.UploadPart), nil)
	if err != nil || !proto.Equal(got, chunk) {
		t.Fatalf("got %v, %v", got, err)
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
		if _, err := newAssembler(testLayout, c.h, 0, nil); err == nil {
			t.Errorf("%s: header accepted", c.name)
		}
	}
}

// messages splits fuzz input into messages, each preceded by its length
// as a uvarint.
func messages(data []byte) [][]byte {
	var out [][]byte
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || n > uint64(len(data)-k) {
			return out
		}
		out = append(out, data[k:k+int(n)])
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

// recvFrom returns a stream's RecvMsg that reads msg through wireCodec,
// cut into frames of cut bytes.
func recvFrom(msg []byte, cut int) func(any) error {
	return func(v any) error { return wireCodec{}.Unmarshal(frames(msg, cut), v) }
}

// FuzzReadUpload feeds arbitrary messages, cut into frames anywhere, to
// the server's decoding of an upload (the codec, then the checks): it
// must never panic, and whatever it accepts is a model of the layout's
// size with finite values.
//
//	go test ./fed/fedgrpc -run '^$' -fuzz FuzzReadUpload -fuzztime 30s
func FuzzReadUpload(f *testing.F) {
	n := testLayout.Values()
	good := &fedpb.UpdateHeader{Task: "t", Samples: 3, Model: testLayout.header(), Metrics: map[string]float64{"loss": 1}}
	f.Add(uint8(0), frame(header(good), chunkOf(0, fill(n, 1)...)))
	f.Add(uint8(2), frame(header(good), chunkOf(0, fill(8, 1)...), chunkOf(8, fill(n-8, 2)...)))
	f.Add(uint8(6), frame(header(good), chunkOf(0, fill(8, 1)...), chunkOf(7, fill(n-7, 2)...)))
	f.Add(uint8(1), frame(header(&fedpb.UpdateHeader{Error: "out of memory"})))
	f.Add(uint8(3), frame(chunkOf(0, 1, 2)))
	f.Fuzz(func(t *testing.T, cut uint8, data []byte) {
		ms := messages(data)
		if len(ms) == 0 {
			return
		}
		first, err := recvPart(recvFrom(ms[0], int(cut)+1), new(fedpb.UploadPart), nil)
		if err != nil || first.GetHeader() == nil {
			return
		}
		rest := ms[1:]
		next := func(sink chunkSink) (*fedpb.UploadPart, error) {
			if len(rest) == 0 {
				return nil, io.EOF
			}
			m := rest[0]
			rest = rest[1:]
			return recvPart(recvFrom(m, int(cut)+1), new(fedpb.UploadPart), sink)
		}
		h := first.GetHeader()
		w, err := readUpload(testLayout, h, next, 64, 1<<10, fed.Fit, dirty)
		if err != nil {
			if errors.Is(err, io.EOF) {
				t.Fatal("EOF leaked as an error")
			}
			return
		}
		if h.Error != "" {
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

// dirty hands out vectors full of NaN, as a reused one may be full of an
// older update: whatever readUpload accepts must have overwritten them.
func dirty(n int) fed.Weights {
	w := make(fed.Weights, n)
	for i := range w {
		w[i] = float32(math.NaN())
	}
	return w
}

// FuzzCodecAgreesWithProtobuf decodes arbitrary bytes, cut into frames
// anywhere, with wireCodec and with protobuf: both accept or both refuse,
// and they read the same chunk or the same message.
//
//	go test ./fed/fedgrpc -run '^$' -fuzz FuzzCodecAgreesWithProtobuf -fuzztime 30s
func FuzzCodecAgreesWithProtobuf(f *testing.F) {
	for _, p := range []*fedpb.UploadPart{chunkOf(0, 1, 2), chunkOf(300, 1), header(&fedpb.UpdateHeader{Task: "t"})} {
		b, _ := proto.Marshal(p)
		f.Add(uint8(2), b)
	}
	f.Add(uint8(0), []byte{0x12, 0x04, 0x08, 0x01, 0x08, 0x02})       // offset twice
	f.Add(uint8(1), []byte{0x12, 0x05, 0x18, 0x01, 0x12, 0x01, 0xff}) // an unknown field
	f.Add(uint8(3), []byte{0x12, 0x03, 0x12, 0x02, 0x00})             // values cut short
	f.Fuzz(func(t *testing.T, cut uint8, msg []byte) {
		var want fedpb.UploadPart
		wantErr := proto.Unmarshal(msg, &want)
		var (
			called bool
			off    uint64
			vals   []byte
		)
		sink := func(o uint64, d [][]byte) error {
			called, off, vals = true, o, slices.Concat(d...)
			return nil
		}
		got, err := recvPart(recvFrom(msg, int(cut)+1), new(fedpb.UploadPart), sink)
		if (err != nil) != (wantErr != nil) {
			t.Fatalf("codec: %v, protobuf: %v", err, wantErr)
		}
		if wantErr != nil {
			return
		}
		if c := want.GetChunk(); c != nil {
			if !called || off != c.Offset || !bytes.Equal(vals, c.Data) {
				t.Fatalf("codec read chunk (%v) at %d: % x; protobuf at %d: % x", called, off, vals, c.Offset, c.Data)
			}
			return
		}
		if called || !proto.Equal(got, &want) {
			t.Fatalf("codec read %v (chunk %v), protobuf %v", got, called, &want)
		}
	})
}
