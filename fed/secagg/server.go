package secagg

import (
	"crypto/ecdh"
	"errors"
	"fmt"
	"maps"
	"slices"
)

// Phase names the step of an aggregation whose messages the server is
// collecting.
type Phase int

const (
	// Advertise collects the parties' public keys.
	Advertise Phase = iota
	// Share collects the encrypted shares.
	Share
	// Mask collects the masked inputs.
	Mask
	// Unmask collects the shares that remove the masks.
	Unmask
	// Done: the sum is ready.
	Done
)

// String names the phase.
func (p Phase) String() string {
	return [...]string{"advertise keys", "share keys", "masked input", "unmasking", "done"}[p]
}

// Server is the server's side of the protocol, a state machine: Receive
// takes the parties' messages of the current phase as they come; Next
// closes the phase — whoever has not answered has dropped out — and
// returns the message for each party still in; after the unmasking
// phase, Sum returns the sum of the inputs of the parties that sent one.
// Masked inputs are added as they arrive, so the server holds one vector
// however many parties there are. It does no I/O.
type Server struct {
	p     Params
	phase Phase
	keys  map[uint32]keyEntry
	u1    []uint32
	cts   map[uint32][]cipherEntry // by recipient
	u2    []uint32
	sum   Vec
	u3    map[uint32]bool
	bSh   map[uint32][]share // self-mask shares by owner
	sSh   map[uint32][]share // key shares by owner
	u4    map[uint32]bool
	got   map[uint32]bool // who answered in this phase
	nbrs  map[uint32][]uint32
	inSum []uint32
}

// NewServer returns the server's state for an aggregation.
func NewServer(p Params) (*Server, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	s := &Server{p: p, keys: map[uint32]keyEntry{}, got: map[uint32]bool{}, nbrs: map[uint32][]uint32{}}
	for i := range p.Parties {
		s.nbrs[uint32(i)] = p.Neighbours(i)
	}
	return s, nil
}

// Phase returns the phase whose messages the server collects.
func (s *Server) Phase() Phase { return s.phase }

// Receive takes party from's message of the current phase. A message that
// is malformed, out of turn or a repeat is an error, and the party's
// answer in this phase does not count.
func (s *Server) Receive(from int, msg []byte) error {
	id := uint32(from)
	if from < 0 || from >= s.p.Parties {
		return fmt.Errorf("secagg: a message from party %d of %d", from, s.p.Parties)
	}
	if s.got[id] {
		return fmt.Errorf("secagg: party %d answered twice in phase %v", from, s.phase)
	}
	if err := s.receive(id, msg); err != nil {
		return fmt.Errorf("secagg: party %d, phase %v: %w", from, s.phase, err)
	}
	s.got[id] = true
	return nil
}

func (s *Server) receive(id uint32, msg []byte) error {
	switch s.phase {
	case Advertise:
		r, err := open(msg, msgKeys, s.p)
		if err != nil {
			return err
		}
		ks := r.keys()
		if err := r.end(); err != nil {
			return err
		}
		if len(ks) != 1 || ks[0].id != id {
			return errors.New("the keys are not the party's own")
		}
		s.keys[id] = ks[0]
	case Share:
		if !slices.Contains(s.u1, id) {
			return ErrPhase
		}
		r, err := open(msg, msgShares, s.p)
		if err != nil {
			return err
		}
		cs := r.ciphers()
		if err := r.end(); err != nil {
			return err
		}
		seen := map[uint32]bool{}
		for _, c := range cs {
			if c.from != id || seen[c.to] {
				return errors.New("shares not from the party, or twice to one neighbour")
			}
			if _, ok := slices.BinarySearch(s.nbrs[id], c.to); !ok {
				return fmt.Errorf("a share for party %d, not a neighbour", c.to)
			}
			seen[c.to] = true
		}
		for _, c := range cs {
			s.cts[c.to] = append(s.cts[c.to], c)
		}
	case Mask:
		if !slices.Contains(s.u2, id) {
			return ErrPhase
		}
		r, err := open(msg, msgMasked, s.p)
		if err != nil {
			return err
		}
		if err := s.sum.AddPacked(r.b); err != nil {
			return err
		}
		s.u3[id] = true
	case Unmask:
		if !s.u3[id] {
			return ErrPhase
		}
		r, err := open(msg, msgUnmaskReply, s.p)
		if err != nil {
			return err
		}
		bs, ss := r.shares(), r.shares()
		if err := r.end(); err != nil {
			return err
		}
		for _, e := range bs {
			if e.sh.x != id+1 || !s.u3[e.of] {
				return errors.New("a self-mask share that is not the party's to give")
			}
		}
		for _, e := range ss {
			if e.sh.x != id+1 || s.u3[e.of] || !slices.Contains(s.u2, e.of) {
				return errors.New("a key share that is not the party's to give")
			}
		}
		for _, e := range bs {
			s.bSh[e.of] = append(s.bSh[e.of], e.sh)
		}
		for _, e := range ss {
			s.sSh[e.of] = append(s.sSh[e.of], e.sh)
		}
		s.u4[id] = true
	default:
		return ErrPhase
	}
	return nil
}

// Next closes the current phase and returns the message for each party
// that goes on (by party number). After the unmasking phase it removes
// the masks and returns nil; Sum then has the result. An error means the
// aggregation cannot finish: too many parties dropped out.
func (s *Server) Next() (map[int][]byte, error) {
	answered := slices.Sorted(maps.Keys(s.got))
	clear(s.got)
	out := map[int][]byte{}
	switch s.phase {
	case Advertise:
		if len(answered) < s.p.Threshold {
			return nil, fmt.Errorf("%w: %d parties advertised keys, threshold %d", ErrTooFew, len(answered), s.p.Threshold)
		}
		s.u1 = answered
		for _, u := range s.u1 {
			var list []keyEntry
			for _, v := range s.nbrs[u] {
				if k, ok := s.keys[v]; ok {
					list = append(list, k)
				}
			}
			out[int(u)] = appendKeys(header(msgKeyList, s.p), list)
		}
		s.cts = map[uint32][]cipherEntry{}
	case Share:
		if len(answered) < s.p.Threshold {
			return nil, fmt.Errorf("%w: %d parties shared their keys, threshold %d", ErrTooFew, len(answered), s.p.Threshold)
		}
		s.u2 = answered
		for _, v := range s.u2 {
			var list []cipherEntry
			for _, c := range s.cts[v] {
				if slices.Contains(s.u2, c.from) {
					list = append(list, c)
				}
			}
			out[int(v)] = appendCiphers(header(msgShareList, s.p), list)
		}
		s.cts = nil
		s.sum = NewVec(s.p.Bits, s.p.Len)
		s.u3 = map[uint32]bool{}
	case Mask:
		if len(answered) < s.p.Threshold {
			return nil, fmt.Errorf("%w: %d parties sent their input, threshold %d", ErrTooFew, len(answered), s.p.Threshold)
		}
		var dropped []uint32
		for _, v := range s.u2 {
			if !s.u3[v] {
				dropped = append(dropped, v)
			}
		}
		for _, u := range answered {
			b := appendIDs(header(msgUnmaskReq, s.p), answered)
			out[int(u)] = appendIDs(b, dropped)
		}
		s.bSh, s.sSh, s.u4 = map[uint32][]share{}, map[uint32][]share{}, map[uint32]bool{}
	case Unmask:
		if err := s.removeMasks(); err != nil {
			return nil, err
		}
		out = nil
	default:
		return nil, ErrPhase
	}
	s.phase++
	return out, nil
}

// removeMasks rebuilds every survivor's self-mask seed and every dropped
// party's mask key from the shares, and takes their masks off the sum.
func (s *Server) removeMasks() error {
	survivors := slices.Sorted(maps.Keys(s.u3))
	var seeds [][]byte
	var negs []bool
	for _, u := range survivors {
		b, err := combine(s.bSh[u], s.p.Threshold)
		if err != nil {
			return fmt.Errorf("secagg: party %d's self mask: %w (%d shares came back)", u, err, len(s.bSh[u]))
		}
		seeds, negs = append(seeds, b), append(negs, true)
	}
	for _, v := range s.u2 {
		if s.u3[v] {
			continue
		}
		raw, err := combine(s.sSh[v], s.p.Threshold)
		if err != nil {
			return fmt.Errorf("secagg: dropped party %d's key: %w (%d shares came back)", v, err, len(s.sSh[v]))
		}
		priv, err := ecdh.X25519().NewPrivateKey(raw)
		if err != nil {
			return fmt.Errorf("secagg: dropped party %d's key: %w", v, err)
		}
		if k := s.keys[v]; string(priv.PublicKey().Bytes()) != string(k.s[:]) {
			return fmt.Errorf("secagg: dropped party %d's key does not match the one it advertised", v)
		}
		// Every survivor u that shared with v added +PRG (u < v) or −PRG
		// (u > v) of their common seed: take it off.
		for _, u := range s.nbrs[v] {
			if !s.u3[u] {
				continue
			}
			var pub [32]byte = s.keys[u].s
			pk, err := ecdh.X25519().NewPublicKey(pub[:])
			if err != nil {
				return err
			}
			seed, err := s.p.derive(priv, pk, "mask", min(u, v), max(u, v))
			if err != nil {
				return err
			}
			seeds, negs = append(seeds, seed), append(negs, u < v)
		}
	}
	s.sum.AddMasks(seeds, negs)
	s.inSum = survivors
	return nil
}

// Sum returns the sum of the inputs, and the parties whose inputs it
// holds, once the aggregation is done.
func (s *Server) Sum() (Vec, []int, error) {
	if s.phase != Done {
		return Vec{}, nil, fmt.Errorf("%w: the sum is not ready in phase %v", ErrPhase, s.phase)
	}
	ids := make([]int, len(s.inSum))
	for i, u := range s.inSum {
		ids[i] = int(u)
	}
	return s.sum, ids, nil
}
