//go:build !amd64

package optim

// adamVector has no vector kernel on this architecture.
func adamVector(w, g, m, v []float32, c *adamConsts) int { return 0 }
