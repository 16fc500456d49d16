//go:build !amd64 || purego

package gemm

// sgemmImpl is the Sgemm path chosen for this build: the portable Go
// kernel. Arguments are validated; m, n, k > 0 and alpha != 0.
var sgemmImpl = gemmGo[float32]

// sgemmPath names the chosen path for benchmarks and tests.
const sgemmPath = "go"
