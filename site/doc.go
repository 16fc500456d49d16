// Package site is one client of a federation, where the learning stack
// and the federation protocol meet: a Site answers the protocol's fit and
// evaluate tasks by training the network on its own data, and the
// functions beside it prepare those data the way every client of a
// federation must agree on — the split into training, validation and
// test sets, the moments of the training set that the server sums into a
// pooled standardisation, and the features a final model gives each set.
//
// The simulation (package fdrmfl) and a real federation's client
// (package deploy) run this same code, so that a client holding the same
// samples with the same seed reaches the same model in both. The package
// does no I/O: state between rounds is kept by a StateStore the caller
// chooses.
package site
