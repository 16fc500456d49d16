// Package seed derives the independent random streams of a run from its
// one seed, so that the simulation and a real federation draw the same
// numbers for the same purpose.
package seed

// The purposes a run draws random numbers for; each gets its own stream.
const (
	Data uint64 = iota + 1
	Partition
	Split
	Init
	Strategy
	Client
	// Folds assigns a client's training rows to cross-validation folds
	// (the linear models' statistics, the warm start, model selection).
	Folds
)

// For derives an independent seed from base and a path of integers
// (splitmix64 steps), so that each purpose and client has its own stream.
func For(base uint64, path ...uint64) uint64 {
	x := base
	for _, p := range append([]uint64{0x9e3779b97f4a7c15}, path...) {
		x += p + 0x9e3779b97f4a7c15
		x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
		x = (x ^ (x >> 27)) * 0x94d049bb133111eb
		x ^= x >> 31
	}
	return x
}
