//go:build !race

package gemm

// raceEnabled reports a test binary built with -race, whose detector
// allocates on its own and so makes allocation counts meaningless.
const raceEnabled = false
