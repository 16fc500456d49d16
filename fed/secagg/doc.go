// Package secagg is secure aggregation: a server learns the sum of the
// parties' vectors and nothing else about any one of them, even when some
// parties drop out at any step. It implements the protocol of Bonawitz et
// al. (CCS 2017, "Practical Secure Aggregation for Privacy-Preserving
// Machine Learning") on the sparse neighbour graph of Bell et al. (CCS
// 2020, "Secure Single-Server Aggregation with (Poly)Logarithmic
// Overhead", SecAgg+), as Flower's SecAgg+ does:
//
//   - vectors live in the ring Z_{2^Bits}; Encoding maps reals to it by
//     fixed point, clipping each value to its block's bound;
//   - each pair of neighbours agrees a mask seed by X25519 (crypto/ecdh)
//     and HKDF-SHA-256, expanded by AES-256 in counter mode; the masks
//     cancel in the sum;
//   - each party adds a self mask from a fresh seed b, and Shamir-shares b
//     and its mask key among its neighbours (threshold t), so that the
//     server can remove the pairwise masks of a party that dropped out
//     and the self masks of those that did not — but never both for one
//     party: each honest party gives, per neighbour, one of the two
//     shares, and t > (k+1)/2 leaves no two disjoint sets of t;
//   - each party has k neighbours on a Harary graph over a random
//     permutation (k ≥ n−1: the complete graph of Bonawitz et al.), so a
//     party's work is O(k·L) and the server's O(n·k + n·L): with
//     k = DefaultDegree(n) = 2⌈log₂ n⌉, cost grows as n log n.
//
// The sum is rebuilt when, in the neighbourhood of every party that
// shared its keys, at least t of the k+1 parties (its own share counts
// when it survives) answer the unmasking step: on the complete graph, up
// to n − t dropouts at any phase.
//
// Threat model. Against a server that follows the protocol but is
// curious, and any set of fewer than t colluding parties per
// neighbourhood, a party's input stays hidden in the sum of at least the
// honest parties around it. A server that deviates (relays false keys or
// tells parties different stories) is not fully covered: the protocol
// here has no signatures from a PKI of the parties and no consistency
// round of Bonawitz et al.'s active variant, so a server able to replace
// public keys can read the shares it relays; what an honest party does
// enforce is that it answers one unmasking request, never reveals its own
// key, and never names a party both survived and dropped. The transport
// (TLS to the server, tokens or client certificates) authenticates
// parties to the server, not to each other.
//
// Client and Server are state machines with no I/O, in the manner of
// raft: messages in, messages out. The caller carries the messages.
package secagg
