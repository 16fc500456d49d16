//go:build !amd64 || purego

package gemm

// sgemmPaths lists the Sgemm implementations of this build.
func sgemmPaths() []sgemmPathCase {
	return []sgemmPathCase{{"go", gemmGo[float32]}}
}
