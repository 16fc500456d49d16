package baseline

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/fdrmfl/fdrmfl/internal/shareddata"
	"gonum.org/v1/gonum/mat"
)

// dense builds a matrix from rows.
func dense(rows [][]float64) *mat.Dense {
	if len(rows) == 0 {
		return &mat.Dense{}
	}
	m := mat.NewDense(len(rows), len(rows[0]), nil)
	for i, r := range rows {
		m.SetRow(i, r)
	}
	return m
}

// randDense returns an r×c matrix of N(0,1) entries from rng.
func randDense(rng *rand.Rand, r, c int) *mat.Dense {
	d := make([]float64, r*c)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return mat.NewDense(r, c, d)
}

// relDiff returns max |a−b| / max(max|b|, tiny) over all entries.
func relDiff(a, b mat.Matrix) float64 {
	r, c := b.Dims()
	if ra, ca := a.Dims(); ra != r || ca != c {
		return math.Inf(1)
	}
	var diff, scale float64
	for i := range r {
		for j := range c {
			diff = max(diff, math.Abs(a.At(i, j)-b.At(i, j)))
			scale = max(scale, math.Abs(b.At(i, j)))
		}
	}
	return diff / max(scale, 1e-300)
}

// relDiffSigned is relDiff after flipping each column of a to agree in
// sign with b (components are defined up to sign).
func relDiffSigned(a, b *mat.Dense) float64 {
	a = mat.DenseCopyOf(a)
	r, c := a.Dims()
	if rb, cb := b.Dims(); rb != r || cb != c {
		return math.Inf(1)
	}
	for j := range c {
		var dot float64
		for i := range r {
			dot += a.At(i, j) * b.At(i, j)
		}
		if dot < 0 {
			for i := range r {
				a.Set(i, j, -a.At(i, j))
			}
		}
	}
	return relDiff(a, b)
}

// vecDiff is relDiff for slices.
func vecDiff(a, b []float64) float64 {
	if len(a) != len(b) {
		return math.Inf(1)
	}
	return relDiff(mat.NewDense(1, max(len(a), 1), pad(a)), mat.NewDense(1, max(len(b), 1), pad(b)))
}

func pad(a []float64) []float64 {
	if len(a) == 0 {
		return []float64{0}
	}
	return a
}

// readJSON decodes a testdata file.
func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// sharedData returns the shared data directory ../shared/data beside the
// module root (see shareddata.Dir for when it is missing).
func sharedData(t testing.TB) string { return shareddata.Dir(t) }
