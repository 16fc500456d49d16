//go:build !amd64 || purego

package gemm

// sgemmPaths lists the Sgemm implementations of this build.
func sgemmPaths() []sgemmPathCase {
	return []sgemmPathCase{{"go", gemmGo[float32]}}
}

// sgemmTestPaths is sgemmPaths: this build has no other strategies.
func sgemmTestPaths() []sgemmPathCase { return sgemmPaths() }
