package bench

import "testing"

// BenchmarkTasks times one training epoch of each benchmark task, for
// profiling (go test -bench Tasks -cpuprofile …); fdrmfl bench engine
// reports the figures that compare with PyTorch.
func BenchmarkTasks(b *testing.B) {
	for _, name := range Tasks {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := Run(name, Options{Warmup: 1, Epochs: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func TestTasksRun(t *testing.T) {
	if testing.Short() {
		t.Skip("trains every task for an epoch")
	}
	for _, name := range Tasks {
		r, err := Run(name, Options{Warmup: 0, Epochs: 1})
		if err != nil {
			t.Fatal(err)
		}
		if r.MsPerEpoch <= 0 || r.FinalLoss != r.FinalLoss {
			t.Fatalf("%s: %+v", name, r)
		}
	}
	if _, err := Run("gpt", Options{}); err == nil {
		t.Fatal("an unknown task ran")
	}
}
