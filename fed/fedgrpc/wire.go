package fedgrpc

import (
	"google.golang.org/grpc"
	"google.golang.org/grpc/encoding"
	grpcproto "google.golang.org/grpc/encoding/proto"
	"google.golang.org/grpc/mem"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
)

// wireCodec is gRPC's protobuf codec with a shortcut for model chunks, the
// bulk of every round. The bytes on the wire are protobuf's, to the bit:
// a chunk is a ModelPart or UploadPart whose part is field 2, a Chunk of
// an offset (field 1) and the little-endian values (field 2). Only the
// copies differ. Protobuf would copy a chunk's values into a marshalled
// message on the way out and, on the way in, join the received frames
// into one buffer and copy the bytes field out of it; the codec instead
// hands the values to the transport as they lie (outChunk) and lets the
// receiver decode them straight from gRPC's frame buffers into the weight
// vector (inPart). Every other message, and any chunk not in protobuf's
// plain encoding, goes through gRPC's own protobuf codec.
//
// The server installs it with grpc.ForceServerCodecV2 (NewServer), the
// client per call with grpc.ForceCodecV2 (codecOption).
type wireCodec struct{}

// protoCodec is the codec wireCodec defers to.
var protoCodec = encoding.GetCodecV2(grpcproto.Name)

// codecOption selects wireCodec for a client's call.
var codecOption = grpc.ForceCodecV2(wireCodec{})

// Name returns "proto": the content is protobuf.
func (wireCodec) Name() string { return grpcproto.Name }

// chunkField is the field number of the chunk in ModelPart and UploadPart.
const chunkField = 2

// outChunk is a chunk message to send: ModelPart or UploadPart (the two
// encode alike) holding a Chunk.
type outChunk struct {
	offset uint64
	data   []byte // not copied: it must not change until the stream ends
}

// Marshal encodes outChunk by hand and anything else as protobuf.
func (wireCodec) Marshal(v any) (mem.BufferSlice, error) {
	c, ok := v.(*outChunk)
	if !ok {
		return protoCodec.Marshal(v)
	}
	return mem.BufferSlice{mem.SliceBuffer(c.head()), mem.SliceBuffer(c.data)}, nil
}

// head returns the bytes that precede the values: the part's tag and
// length, then the chunk's fields as protobuf orders them (a zero offset
// and empty values are left out, as proto3 does).
func (c *outChunk) head() []byte {
	inner := 0
	if c.offset != 0 {
		inner += protowire.SizeTag(1) + protowire.SizeVarint(c.offset)
	}
	if len(c.data) > 0 {
		inner += protowire.SizeTag(2) + protowire.SizeBytes(len(c.data))
	}
	b := make([]byte, 0, 32)
	b = protowire.AppendTag(b, chunkField, protowire.BytesType)
	b = protowire.AppendVarint(b, uint64(inner))
	if c.offset != 0 {
		b = protowire.AppendTag(b, 1, protowire.VarintType)
		b = protowire.AppendVarint(b, c.offset)
	}
	if len(c.data) > 0 {
		b = protowire.AppendTag(b, 2, protowire.BytesType)
		b = protowire.AppendVarint(b, uint64(len(c.data)))
	}
	return b
}

// chunkSink takes a received chunk: its offset and its values' bytes,
// possibly split over several buffers (anywhere, even inside a value).
// The buffers are valid only during the call.
type chunkSink func(offset uint64, data [][]byte) error

// inPart receives a ModelPart or an UploadPart. A chunk is handed to sink
// during decoding, without a copy, and its outcome kept in err; anything
// else is unmarshalled into msg.
type inPart struct {
	msg  proto.Message // *fedpb.ModelPart or *fedpb.UploadPart
	sink chunkSink     // nil: chunks, too, are unmarshalled into msg

	chunk bool  // the message was a chunk, given to sink
	err   error // sink's verdict
}

// Unmarshal decodes inPart's chunks by hand and anything else as protobuf.
func (wireCodec) Unmarshal(data mem.BufferSlice, v any) error {
	p, ok := v.(*inPart)
	if !ok {
		return protoCodec.Unmarshal(data, v)
	}
	p.chunk, p.err = false, nil
	if p.sink != nil {
		bufs := make([][]byte, len(data))
		for i, b := range data {
			bufs[i] = b.ReadOnlyData()
		}
		if off, vals, ok := parseChunk(bufs); ok {
			p.chunk = true
			p.err = p.sink(off, vals)
			return nil
		}
	}
	return protoCodec.Unmarshal(data, p.msg)
}

// parseChunk reads a message that is exactly one chunk field in plain
// protobuf encoding. Anything else — another field, an unknown or
// repeated field, an odd varint, a malformed message — reports !ok, and
// the message is left to protobuf, whose verdict stands.
func parseChunk(bufs [][]byte) (offset uint64, data [][]byte, ok bool) {
	c := cursor{bufs: bufs}
	if tag, ok := c.varint(); !ok || tag != uint64(protowire.EncodeTag(chunkField, protowire.BytesType)) {
		return 0, nil, false
	}
	n, ok := c.varint()
	if !ok || n != uint64(c.remaining()) {
		return 0, nil, false
	}
	var seenOffset, seenData bool
	for c.remaining() > 0 {
		tag, ok := c.varint()
		if !ok {
			return 0, nil, false
		}
		switch {
		case tag == uint64(protowire.EncodeTag(1, protowire.VarintType)) && !seenOffset:
			if offset, ok = c.varint(); !ok {
				return 0, nil, false
			}
			seenOffset = true
		case tag == uint64(protowire.EncodeTag(2, protowire.BytesType)) && !seenData:
			n, ok := c.varint()
			if !ok || n > uint64(c.remaining()) {
				return 0, nil, false
			}
			data = c.take(int(n))
			seenData = true
		default:
			return 0, nil, false
		}
	}
	return offset, data, true
}

// cursor reads through a message split over buffers.
type cursor struct {
	bufs [][]byte // the unread bytes, the first buffer possibly partly read
}

func (c *cursor) remaining() int {
	n := 0
	for _, b := range c.bufs {
		n += len(b)
	}
	return n
}

// varint reads a varint of at most 9 bytes (63 bits): longer ones are
// left to protobuf.
func (c *cursor) varint() (uint64, bool) {
	var v uint64
	for i := 0; i < 9; i++ {
		for len(c.bufs) > 0 && len(c.bufs[0]) == 0 {
			c.bufs = c.bufs[1:]
		}
		if len(c.bufs) == 0 {
			return 0, false
		}
		b := c.bufs[0][0]
		c.bufs[0] = c.bufs[0][1:]
		v |= uint64(b&0x7f) << (7 * i)
		if b < 0x80 {
			return v, true
		}
	}
	return 0, false
}

// take returns the next n bytes (n ≤ remaining) as slices of the buffers.
func (c *cursor) take(n int) [][]byte {
	var out [][]byte
	for n > 0 {
		b := c.bufs[0]
		k := min(n, len(b))
		if k > 0 {
			out = append(out, b[:k])
		}
		c.bufs[0] = b[k:]
		if len(c.bufs[0]) == 0 {
			c.bufs = c.bufs[1:]
		}
		n -= k
	}
	return out
}

// partOf is what ModelPart and UploadPart have in common.
type partOf interface {
	proto.Message
	GetChunk() *fedpb.Chunk
}

// recvPart reads the next message of a stream of parts. A chunk goes to
// sink (if sink is nil, as for the first message, it is returned in the
// message); otherwise the message is returned. recv is the stream's
// RecvMsg.
func recvPart[P partOf](recv func(any) error, msg P, sink chunkSink) (P, error) {
	var zero P
	p := inPart{msg: msg, sink: sink}
	if err := recv(&p); err != nil {
		return zero, err
	}
	if p.chunk {
		return zero, p.err
	}
	if c := msg.GetChunk(); c != nil && sink != nil {
		return zero, sink(c.Offset, [][]byte{c.Data})
	}
	return msg, nil
}
