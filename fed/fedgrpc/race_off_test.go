//go:build !race

package fedgrpc

// raceDetector is true when the tests run under the race detector, which
// makes every call many times slower.
const raceDetector = false
