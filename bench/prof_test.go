package bench

import "testing"

func BenchmarkTask(b *testing.B) {
	for _, name := range []string{"lstm"} {
		b.Run(name, func(b *testing.B) {
			for range b.N {
				if _, err := Run(name, Options{Warmup: 0, Epochs: 3}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
