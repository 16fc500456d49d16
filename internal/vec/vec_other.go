//go:build !amd64

package vec

var useAVX2 = false

func reluVec(y, x []float32) int                             { return 0 }
func reluBackVec(gx, g, y []float32) int                     { return 0 }
func addVec(dst, x []float32) int                            { return 0 }
func affineVec(y, x []float32, a, b float32) int             { return 0 }
func softThresholdVec(x []float32, t float32) int            { return 0 }
func sumDotVec(g, h []float32) (int, float32, float32)       { return 0, 0, 0 }
func normBackVec(gx, g, h []float32, k, mg, mgh float32) int { return 0 }

func sumVec(x []float32) (int, float32) { return 0, 0 }

func expVec(y, x []float32) int     { return 0 }
func sigmoidVec(y, x []float32) int { return 0 }
func tanhVec(y, x []float32) int    { return 0 }
