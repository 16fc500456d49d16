package secagg

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Message kinds, the first byte of every message.
const (
	msgKeys        = 1 // party → server: its two public keys
	msgKeyList     = 2 // server → party: its neighbours' public keys
	msgShares      = 3 // party → server: encrypted shares, one per neighbour
	msgShareList   = 4 // server → party: the encrypted shares addressed to it
	msgMasked      = 5 // party → server: the masked input
	msgUnmaskReq   = 6 // server → party: who survived, who dropped
	msgUnmaskReply = 7 // party → server: shares of the survivors' self masks and the dropped parties' keys
)

// keyEntry is a party's two X25519 public keys: c for encrypting shares,
// s for agreeing mask seeds.
type keyEntry struct {
	id   uint32
	c, s [32]byte
}

// cipherEntry is an encrypted pair of shares between two parties.
type cipherEntry struct {
	from, to uint32
	ct       []byte
}

// shareEntry is a share of a party's secret given back to the server.
type shareEntry struct {
	of uint32
	sh share
}

// reader decodes the fields of a message, remembering the first error.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("secagg: malformed message: %s", what)
	}
}

func (r *reader) u32() uint32 {
	if len(r.b) < 4 {
		r.fail("truncated")
		r.b = nil
		return 0
	}
	v := binary.LittleEndian.Uint32(r.b)
	r.b = r.b[4:]
	return v
}

func (r *reader) bytes(n int) []byte {
	if n < 0 || len(r.b) < n {
		r.fail("truncated")
		r.b = nil
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// count reads a list length and checks that the rest can hold it at
// least at size bytes an entry.
func (r *reader) count(size int) int {
	n := r.u32()
	if r.err == nil && uint64(n)*uint64(size) > uint64(len(r.b)) {
		r.fail("a list longer than the message")
		return 0
	}
	return int(n)
}

func (r *reader) end() error {
	if r.err == nil && len(r.b) != 0 {
		r.fail("trailing bytes")
	}
	return r.err
}

func header(kind byte, p Params) []byte {
	return append([]byte{kind}, p.Session[:]...)
}

// open checks a message's kind and session and returns a reader of its body.
func open(b []byte, kind byte, p Params) (*reader, error) {
	if len(b) < 17 {
		return nil, errors.New("secagg: malformed message: truncated")
	}
	if b[0] != kind {
		return nil, fmt.Errorf("secagg: a message of kind %d where kind %d was expected", b[0], kind)
	}
	if [16]byte(b[1:17]) != p.Session {
		return nil, errors.New("secagg: a message of another session")
	}
	return &reader{b: b[17:]}, nil
}

func appendKeys(b []byte, ks []keyEntry) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ks)))
	for _, k := range ks {
		b = binary.LittleEndian.AppendUint32(b, k.id)
		b = append(b, k.c[:]...)
		b = append(b, k.s[:]...)
	}
	return b
}

func (r *reader) keys() []keyEntry {
	n := r.count(68)
	out := make([]keyEntry, n)
	for i := range out {
		out[i].id = r.u32()
		copy(out[i].c[:], r.bytes(32))
		copy(out[i].s[:], r.bytes(32))
	}
	return out
}

func appendCiphers(b []byte, cs []cipherEntry) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(cs)))
	for _, c := range cs {
		b = binary.LittleEndian.AppendUint32(b, c.from)
		b = binary.LittleEndian.AppendUint32(b, c.to)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(c.ct)))
		b = append(b, c.ct...)
	}
	return b
}

func (r *reader) ciphers() []cipherEntry {
	n := r.count(12)
	out := make([]cipherEntry, n)
	for i := range out {
		out[i].from, out[i].to = r.u32(), r.u32()
		l := r.u32()
		if l > 1<<12 {
			r.fail("an oversized ciphertext")
			return nil
		}
		out[i].ct = r.bytes(int(l))
	}
	return out
}

func appendIDs(b []byte, ids []uint32) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ids)))
	for _, id := range ids {
		b = binary.LittleEndian.AppendUint32(b, id)
	}
	return b
}

func (r *reader) ids() []uint32 {
	n := r.count(4)
	out := make([]uint32, n)
	for i := range out {
		out[i] = r.u32()
	}
	return out
}

func appendShares(b []byte, ss []shareEntry) []byte {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(ss)))
	for _, s := range ss {
		b = binary.LittleEndian.AppendUint32(b, s.of)
		b = s.sh.append(b)
	}
	return b
}

func (r *reader) shares() []shareEntry {
	n := r.count(4 + shareSize)
	out := make([]shareEntry, n)
	for i := range out {
		out[i].of = r.u32()
		sh, err := readShare(r.bytes(shareSize))
		if err != nil && r.err == nil {
			r.err = err
		}
		out[i].sh = sh
	}
	return out
}
