package workpool

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRunsEveryJobOnceWithinTheBound runs jobs on several pool sizes:
// each job runs exactly once, and never more than the bound at a time.
func TestRunsEveryJobOnceWithinTheBound(t *testing.T) {
	for _, tc := range []struct{ n, workers int }{{0, 2}, {1, 4}, {10, 1}, {10, 3}, {100, 0}, {5, 50}} {
		var mu sync.Mutex
		runs := make([]int, tc.n)
		var active, peak atomic.Int32
		Run(context.Background(), tc.n, tc.workers, func(i int) {
			a := active.Add(1)
			for {
				p := peak.Load()
				if a <= p || peak.CompareAndSwap(p, a) {
					break
				}
			}
			mu.Lock()
			runs[i]++
			mu.Unlock()
			active.Add(-1)
		})
		for i, r := range runs {
			if r != 1 {
				t.Fatalf("n %d, workers %d: job %d ran %d times", tc.n, tc.workers, i, r)
			}
		}
		if tc.workers > 0 && int(peak.Load()) > tc.workers {
			t.Fatalf("n %d, workers %d: %d jobs at once", tc.n, tc.workers, peak.Load())
		}
	}
}

// TestStopsStartingJobsWhenCancelled cancels the context from the first
// job on a one-worker pool: no later job starts.
func TestStopsStartingJobsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var started atomic.Int32
	Run(ctx, 10, 1, func(i int) {
		started.Add(1)
		if i == 0 {
			cancel()
		}
	})
	// The one worker may already hold job 1 when the cancellation lands.
	if n := started.Load(); n > 2 {
		t.Fatalf("%d jobs started after the cancellation of job 0", n)
	}
}
