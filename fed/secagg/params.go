package secagg

import (
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Params are the public settings of one aggregation, the same for the
// server and every party. The server draws Session and GraphSeed afresh
// for each aggregation.
type Params struct {
	// Session makes every key and mask of this aggregation its own.
	Session [16]byte
	// GraphSeed seeds the neighbour graph.
	GraphSeed [32]byte
	// Parties is the number of parties n, numbered 0…n−1.
	Parties int
	// Degree is the number of neighbours k of each party (SecAgg+); k ≥ n−1
	// gives the complete graph of Bonawitz et al. (2017).
	Degree int
	// Threshold t is the number of shares that rebuild a party's secrets,
	// out of the k+1 of its neighbourhood (its neighbours' and its own). It
	// must exceed (k+1)/2, so that no two disjoint sets of honest parties
	// can hand the server both of a party's secrets.
	Threshold int
	// Bits is the ring Z_{2^Bits} of the summed vectors, and Len their length.
	Bits int
	Len  int
}

// Validate reports parameters that cannot work.
func (p Params) Validate() error {
	k := p.degree()
	switch {
	case p.Parties < 2:
		return fmt.Errorf("secagg: %d parties: secure aggregation needs at least 2", p.Parties)
	case p.Degree < 1:
		return fmt.Errorf("secagg: degree %d: each party needs a neighbour", p.Degree)
	case p.Threshold > k+1:
		return fmt.Errorf("secagg: threshold %d exceeds the neighbourhood of %d", p.Threshold, k+1)
	case 2*p.Threshold <= k+1:
		return fmt.Errorf("secagg: threshold %d is not above half the neighbourhood of %d: a server could gather both of a party's secrets", p.Threshold, k+1)
	case p.Bits < 8 || p.Bits > 64:
		return fmt.Errorf("secagg: %d bits: want 8 to 64", p.Bits)
	case p.Len < 0:
		return fmt.Errorf("secagg: vector length %d", p.Len)
	}
	return nil
}

// degree returns the effective number of neighbours: Degree rounded up to
// an even number (the graph is a ring with k/2 neighbours on each side)
// and at most n−1.
func (p Params) degree() int {
	k := p.Degree + p.Degree%2
	return min(k, p.Parties-1)
}

// DefaultDegree returns the neighbourhood SecAgg+ prescribes in order of
// growth, 2⌈log₂ n⌉ (at most n−1): cost per party grows as log n.
func DefaultDegree(n int) int {
	k := 2
	for 1<<(k/2) < n {
		k += 2
	}
	return min(k, n-1)
}

// DefaultThreshold returns the smallest threshold above half of a
// neighbourhood of k+1: the most dropouts survived for the security the
// threshold must give.
func DefaultThreshold(k int) int { return (k+1)/2 + 1 }

// Neighbours returns party i's neighbours, sorted: the k parties nearest
// to it on a ring laid out in a random order drawn from GraphSeed (a
// Harary graph on a random permutation).
func (p Params) Neighbours(i int) []uint32 {
	n, k := p.Parties, p.degree()
	if k >= n-1 {
		out := make([]uint32, 0, n-1)
		for j := range n {
			if j != i {
				out = append(out, uint32(j))
			}
		}
		return out
	}
	perm := rand.New(rand.NewChaCha8(p.GraphSeed)).Perm(n)
	pos := make([]int, n)
	for at, who := range perm {
		pos[who] = at
	}
	out := make([]uint32, 0, k)
	for d := 1; d <= k/2; d++ {
		out = append(out, uint32(perm[(pos[i]+d)%n]), uint32(perm[(pos[i]-d+n)%n]))
	}
	slices.Sort(out)
	return out
}

// MarshalBinary encodes the parameters.
func (p Params) MarshalBinary() ([]byte, error) {
	b := append([]byte{paramsVersion}, p.Session[:]...)
	b = append(b, p.GraphSeed[:]...)
	for _, v := range []int{p.Parties, p.Degree, p.Threshold, p.Bits, p.Len} {
		b = binary.LittleEndian.AppendUint32(b, uint32(v))
	}
	return b, nil
}

const paramsVersion = 1

// UnmarshalBinary decodes parameters written by MarshalBinary and validates them.
func (p *Params) UnmarshalBinary(b []byte) error {
	if len(b) != 1+16+32+5*4 || b[0] != paramsVersion {
		return errors.New("secagg: malformed parameters")
	}
	copy(p.Session[:], b[1:17])
	copy(p.GraphSeed[:], b[17:49])
	v := make([]int, 5)
	for i := range v {
		x := binary.LittleEndian.Uint32(b[49+4*i:])
		if x > 1<<30 {
			return errors.New("secagg: malformed parameters")
		}
		v[i] = int(x)
	}
	p.Parties, p.Degree, p.Threshold, p.Bits, p.Len = v[0], v[1], v[2], v[3], v[4]
	return p.Validate()
}

// derive returns a 32-byte key for purpose from an X25519 agreement,
// bound to the session and the two parties (HKDF-SHA-256).
func (p Params) derive(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, purpose string, a, b uint32) ([]byte, error) {
	secret, err := priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("secagg: key agreement: %w", err)
	}
	info := fmt.Sprintf("fdrmfl secagg %s %d %d", purpose, a, b)
	return hkdf.Key(sha256.New, secret, p.Session[:], info, 32)
}
