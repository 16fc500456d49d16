//go:build amd64 && !purego

package gemm

// sgemmPaths lists the Sgemm implementations this CPU can run.
func sgemmPaths() []sgemmPathCase {
	ps := []sgemmPathCase{{"go", gemmGo[float32]}}
	if hasAVX2 {
		ps = append(ps, sgemmPathCase{"avx2", sgemmAvx2})
	}
	if hasAVX512 {
		ps = append(ps, sgemmPathCase{"avx512", sgemmAvx512})
	}
	return ps
}
