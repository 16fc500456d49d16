package secagg

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"
)

// Errors a party answers a dishonest or confused server with.
var (
	// ErrBothShares refuses an unmasking request that would hand the
	// server both the self-mask share and the key share of one party, or
	// the key share of the party asked, which would unmask its input.
	ErrBothShares = errors.New("secagg: refused: the request would reveal both secrets of a party")
	// ErrTooFew refuses a step with fewer parties left than the threshold.
	ErrTooFew = errors.New("secagg: refused: fewer parties left than the threshold")
	// ErrPhase is the error of a message that comes out of turn, such as a
	// second unmasking request.
	ErrPhase = errors.New("secagg: a message out of turn")
)

// Client is one party's side of the protocol, a state machine: Start
// gives its first message, and Step turns each message of the server into
// its answer. It does no I/O; randomness comes from the reader it is
// given (crypto/rand in production). The rounds are those of Bonawitz et
// al. (2017) on the sparse graph of Bell et al. (2020, SecAgg+):
//
//  1. advertise keys: two fresh X25519 key pairs (c for shares, s for masks);
//  2. share keys: a fresh self-mask seed b and the secret key s are
//     Shamir-shared (threshold t) among the neighbours, each share pair
//     encrypted (AES-256-GCM, key from the c agreement) for its holder;
//  3. masked input: y = x + PRG(b) + Σ_v ±PRG(s-agreement with v) over the
//     neighbours v that shared, + for a lower index, − for a higher;
//  4. unmasking: for each neighbour, the share of b if it sent its input,
//     else the share of s — never both, and never its own s.
type Client struct {
	p     Params
	id    uint32
	rand  io.Reader
	input Vec

	phase int
	c, s  *ecdh.PrivateKey
	b     []byte
	nbrs  []uint32
	peers map[uint32]keyEntry // neighbours' public keys, as the server relayed them
	held  map[uint32][2]share // shares held for neighbours: s, b
	u2    []uint32            // neighbours whose shares arrived
	own   [2]share
}

// NewClient returns party id's state for an aggregation of input (Len
// elements of Z_{2^Bits}).
func NewClient(p Params, id int, input Vec, rand io.Reader) (*Client, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	if id < 0 || id >= p.Parties {
		return nil, fmt.Errorf("secagg: party %d of %d", id, p.Parties)
	}
	if input.Len() != p.Len || input.Bits != p.Bits {
		return nil, fmt.Errorf("secagg: an input of %d elements of %d bits, the aggregation sums %d of %d bits", input.Len(), input.Bits, p.Len, p.Bits)
	}
	return &Client{p: p, id: uint32(id), rand: rand, input: input, nbrs: p.Neighbours(id)}, nil
}

// Start returns the party's first message: its public keys.
func (c *Client) Start() ([]byte, error) {
	if c.phase != 0 {
		return nil, ErrPhase
	}
	var err error
	if c.c, err = ecdh.X25519().GenerateKey(c.rand); err != nil {
		return nil, err
	}
	if c.s, err = ecdh.X25519().GenerateKey(c.rand); err != nil {
		return nil, err
	}
	e := keyEntry{id: c.id}
	copy(e.c[:], c.c.PublicKey().Bytes())
	copy(e.s[:], c.s.PublicKey().Bytes())
	c.phase = 1
	return appendKeys(header(msgKeys, c.p), []keyEntry{e}), nil
}

// Step answers a message of the server.
func (c *Client) Step(msg []byte) ([]byte, error) {
	if len(msg) == 0 {
		return nil, errors.New("secagg: an empty message")
	}
	switch {
	case c.phase == 1 && msg[0] == msgKeyList:
		return c.shareKeys(msg)
	case c.phase == 2 && msg[0] == msgShareList:
		return c.maskedInput(msg)
	case c.phase == 3 && msg[0] == msgUnmaskReq:
		return c.unmask(msg)
	}
	return nil, fmt.Errorf("%w: kind %d in phase %d", ErrPhase, msg[0], c.phase)
}

func (c *Client) shareKeys(msg []byte) ([]byte, error) {
	r, err := open(msg, msgKeyList, c.p)
	if err != nil {
		return nil, err
	}
	list := r.keys()
	if err := r.end(); err != nil {
		return nil, err
	}
	c.peers = map[uint32]keyEntry{}
	for _, k := range list {
		if _, ok := slices.BinarySearch(c.nbrs, k.id); !ok || k.id == c.id {
			return nil, fmt.Errorf("secagg: the server relayed the keys of party %d, not a neighbour of party %d", k.id, c.id)
		}
		if _, dup := c.peers[k.id]; dup {
			return nil, fmt.Errorf("secagg: the keys of party %d twice", k.id)
		}
		c.peers[k.id] = k
	}
	if len(c.peers)+1 < c.p.Threshold {
		return nil, fmt.Errorf("%w: %d neighbours left, threshold %d", ErrTooFew, len(c.peers), c.p.Threshold)
	}
	c.b = make([]byte, SecretSize)
	if _, err := io.ReadFull(c.rand, c.b); err != nil {
		return nil, err
	}
	holders := []uint32{c.id + 1}
	for _, id := range slices.Sorted(mapKeys(c.peers)) {
		holders = append(holders, id+1)
	}
	sShares, err := split(c.s.Bytes(), c.p.Threshold, holders, c.rand)
	if err != nil {
		return nil, err
	}
	bShares, err := split(c.b, c.p.Threshold, holders, c.rand)
	if err != nil {
		return nil, err
	}
	c.own = [2]share{sShares[0], bShares[0]}
	var out []cipherEntry
	for i, h := range holders[1:] {
		to := h - 1
		aead, err := c.aead(to, c.id, to)
		if err != nil {
			return nil, err
		}
		pt := binary.LittleEndian.AppendUint32(nil, c.id)
		pt = binary.LittleEndian.AppendUint32(pt, to)
		pt = sShares[i+1].append(pt)
		pt = bShares[i+1].append(pt)
		out = append(out, cipherEntry{from: c.id, to: to, ct: aead.Seal(nil, make([]byte, aead.NonceSize()), pt, c.p.Session[:])})
	}
	c.phase = 2
	return appendCiphers(header(msgShares, c.p), out), nil
}

// aead returns the cipher of shares sent from → to, keyed by the c
// agreement with peer and the direction (each key seals one message, so
// a fixed nonce is safe).
func (c *Client) aead(peer, from, to uint32) (cipher.AEAD, error) {
	var pub [32]byte = c.peers[peer].c
	pk, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return nil, fmt.Errorf("secagg: party %d's key: %w", peer, err)
	}
	key, err := c.p.derive(c.c, pk, "share", from, to)
	if err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(blk)
}

func (c *Client) maskedInput(msg []byte) ([]byte, error) {
	r, err := open(msg, msgShareList, c.p)
	if err != nil {
		return nil, err
	}
	list := r.ciphers()
	if err := r.end(); err != nil {
		return nil, err
	}
	c.held = map[uint32][2]share{}
	for _, e := range list {
		if _, ok := c.peers[e.from]; !ok || e.to != c.id {
			return nil, fmt.Errorf("secagg: a share from party %d to party %d relayed to party %d", e.from, e.to, c.id)
		}
		if _, dup := c.held[e.from]; dup {
			return nil, fmt.Errorf("secagg: two shares from party %d", e.from)
		}
		aead, err := c.aead(e.from, e.from, c.id)
		if err != nil {
			return nil, err
		}
		pt, err := aead.Open(nil, make([]byte, aead.NonceSize()), e.ct, c.p.Session[:])
		if err != nil || len(pt) != 8+2*shareSize || binary.LittleEndian.Uint32(pt) != e.from || binary.LittleEndian.Uint32(pt[4:]) != c.id {
			return nil, fmt.Errorf("secagg: the shares from party %d do not open", e.from)
		}
		sSh, err1 := readShare(pt[8 : 8+shareSize])
		bSh, err2 := readShare(pt[8+shareSize:])
		if err1 != nil || err2 != nil || sSh.x != c.id+1 || bSh.x != c.id+1 {
			return nil, fmt.Errorf("secagg: malformed shares from party %d", e.from)
		}
		c.held[e.from] = [2]share{sSh, bSh}
	}
	if len(c.held)+1 < c.p.Threshold {
		return nil, fmt.Errorf("%w: shares from %d neighbours, threshold %d", ErrTooFew, len(c.held), c.p.Threshold)
	}
	c.u2 = slices.Sorted(mapKeys(c.held))
	y := NewVec(c.p.Bits, c.p.Len)
	y.Add(c.input)
	seeds, negs := [][]byte{c.b}, []bool{false}
	for _, v := range c.u2 {
		var pub [32]byte = c.peers[v].s
		pk, err := ecdh.X25519().NewPublicKey(pub[:])
		if err != nil {
			return nil, fmt.Errorf("secagg: party %d's key: %w", v, err)
		}
		lo, hi := min(c.id, v), max(c.id, v)
		seed, err := c.p.derive(c.s, pk, "mask", lo, hi)
		if err != nil {
			return nil, err
		}
		seeds, negs = append(seeds, seed), append(negs, c.id > v)
	}
	y.AddMasks(seeds, negs)
	c.input = Vec{}
	c.phase = 3
	return y.Pack(header(msgMasked, c.p)), nil
}

func (c *Client) unmask(msg []byte) ([]byte, error) {
	c.phase = 4 // one request only, whatever its fate
	r, err := open(msg, msgUnmaskReq, c.p)
	if err != nil {
		return nil, err
	}
	survived, dropped := r.ids(), r.ids()
	if err := r.end(); err != nil {
		return nil, err
	}
	in := map[uint32]bool{}
	for _, id := range survived {
		if in[id] {
			return nil, fmt.Errorf("secagg: party %d listed twice", id)
		}
		in[id] = true
	}
	for _, id := range dropped {
		if in[id] {
			return nil, fmt.Errorf("%w: party %d is listed as survived and as dropped", ErrBothShares, id)
		}
	}
	if slices.Contains(dropped, c.id) || !in[c.id] {
		return nil, fmt.Errorf("%w: the request counts party %d itself as dropped", ErrBothShares, c.id)
	}
	if len(survived) < c.p.Threshold {
		return nil, fmt.Errorf("%w: %d parties sent their input, threshold %d", ErrTooFew, len(survived), c.p.Threshold)
	}
	var bs, ss []shareEntry
	bs = append(bs, shareEntry{of: c.id, sh: c.own[1]})
	for _, v := range c.u2 {
		switch {
		case in[v]:
			bs = append(bs, shareEntry{of: v, sh: c.held[v][1]})
		case slices.Contains(dropped, v):
			ss = append(ss, shareEntry{of: v, sh: c.held[v][0]})
		default:
			return nil, fmt.Errorf("secagg: the request says nothing of neighbour %d", v)
		}
	}
	c.held, c.b, c.s, c.c = nil, nil, nil, nil // used once
	b := appendShares(header(msgUnmaskReply, c.p), bs)
	return appendShares(b, ss), nil
}

func mapKeys[V any](m map[uint32]V) func(func(uint32) bool) {
	return func(yield func(uint32) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}
