// Package workpool runs numbered jobs on a bounded number of goroutines.
package workpool

import (
	"context"
	"runtime"
	"sync"
)

// Run calls do(i) for every i in [0, n), in order of i, on at most
// workers goroutines at once (workers ≤ 0: GOMAXPROCS). Once ctx is done
// no further job is started; Run returns when every started job has
// returned. do must be safe to call from several goroutines.
func Run(ctx context.Context, n, workers int, do func(i int)) {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				do(i)
			}
		}()
	}
feed:
	for i := range n {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
}
