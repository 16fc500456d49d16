package gemm

import "sync"

// pool32 and pool64 hold pack buffers (*[]float32, *[]float64) so that
// steady-state calls do not allocate. A process runs one Sgemm path, so
// the buffers in a pool all have the size that path asks for; a buffer
// too small for a request is dropped and replaced.
var pool32, pool64 sync.Pool

// scratchPool holds *[]float32 result buffers of varying size; a buffer
// too small for a request is dropped and replaced by a bigger one, so the
// pool settles at the largest size in use.
var scratchPool sync.Pool

func getScratch(n int) *[]float32 {
	if v := scratchPool.Get(); v != nil {
		buf := v.(*[]float32)
		if cap(*buf) >= n {
			*buf = (*buf)[:n]
			return buf
		}
	}
	buf := make([]float32, n)
	return &buf
}

func putScratch(buf *[]float32) { scratchPool.Put(buf) }

func getBuf[T float32 | float64](n int) *[]T {
	p := &pool32
	var zero T
	if _, ok := any(zero).(float64); ok {
		p = &pool64
	}
	if v := p.Get(); v != nil {
		buf := v.(*[]T)
		if cap(*buf) >= n {
			*buf = (*buf)[:n]
			return buf
		}
	}
	buf := make([]T, n)
	return &buf
}

func putBuf[T float32 | float64](buf *[]T) {
	var zero T
	if _, ok := any(zero).(float64); ok {
		pool64.Put(buf)
		return
	}
	pool32.Put(buf)
}
