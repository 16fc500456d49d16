package baseline

import (
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/mat"
)

// KFold assigns n rows to k folds at random: it returns the fold (0..k−1) of
// each row. Fold sizes differ by at most one (the first n mod k folds get the
// extra row, as sklearn's KFold); the permutation is drawn from seed. It
// panics if k < 2 or k > n, a programmer error.
func KFold(n, k int, seed uint64) []int {
	if k < 2 || k > n {
		panic(errorf("KFold", "%d folds of %d rows", k, n))
	}
	perm := newRand(seed, streamFolds).Perm(n)
	folds := make([]int, n)
	pos := 0
	for f := range k {
		size := n / k
		if f < n%k {
			size++
		}
		for _, i := range perm[pos : pos+size] {
			folds[i] = f
		}
		pos += size
	}
	return folds
}

// LogSpace returns n values 10^e with exponents evenly spaced from lo to hi
// inclusive (numpy.logspace), the usual grid for a ridge penalty.
func LogSpace(lo, hi float64, n int) []float64 {
	out := make([]float64, n)
	for i := range out {
		e := lo
		if n > 1 {
			e = lo + (hi-lo)*float64(i)/float64(n-1)
		}
		out[i] = math.Pow(10, e)
	}
	return out
}

// CrossValPredict returns out-of-fold predictions: for each fold f in
// folds (one fold id per row, ids 0..k−1), a fresh model from newModel is
// fitted on the rows outside f and predicts the rows in f. Pass them to MSE
// or R2 for the cross-validated score over all rows.
func CrossValPredict(newModel func() Regressor, x *mat.Dense, y []float64, folds []int) ([]float64, error) {
	const fn = "CrossValPredict"
	if err := checkXY(fn, x, len(y)); err != nil {
		return nil, err
	}
	if len(folds) != len(y) {
		return nil, errorf(fn, "folds has %d entries, y has %d", len(folds), len(y))
	}
	k := 0
	for _, f := range folds {
		if f < 0 {
			return nil, errorf(fn, "negative fold id %d", f)
		}
		k = max(k, f+1)
	}
	pred := make([]float64, len(y))
	for f := range k {
		train, test := splitFold(folds, f)
		if len(test) == 0 {
			continue
		}
		if len(train) == 0 {
			return nil, errorf(fn, "fold %d holds every row", f)
		}
		m := newModel()
		if err := m.Fit(rows(x, train), pick(y, train)); err != nil {
			return nil, errorf(fn, "fold %d: %w", f, err)
		}
		p, err := m.Predict(rows(x, test))
		if err != nil {
			return nil, errorf(fn, "fold %d: %w", f, err)
		}
		for i, r := range test {
			pred[r] = p[i]
		}
	}
	return pred, nil
}

// splitFold returns the rows outside and inside fold f, in row order.
func splitFold(folds []int, f int) (train, test []int) {
	for i, g := range folds {
		if g == f {
			test = append(test, i)
		} else {
			train = append(train, i)
		}
	}
	return train, test
}

// rows returns a new matrix of the given rows of x.
func rows(x *mat.Dense, idx []int) *mat.Dense {
	_, p := x.Dims()
	out := mat.NewDense(len(idx), p, nil)
	for i, r := range idx {
		copy(out.RawRowView(i), x.RawRowView(r))
	}
	return out
}

// pick returns y at the given indices.
func pick(y []float64, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, r := range idx {
		out[i] = y[r]
	}
	return out
}

// Streams separate the random sequences drawn from one user seed.
const (
	streamFolds      = 0x6b66_6f6c_6473 // "kfolds"
	streamProjection = 0x7072_6f6a      // "proj"
)

// newRand returns a PCG generator whose state is derived from seed and
// stream by SplitMix64, so nearby seeds give unrelated sequences.
func newRand(seed, stream uint64) *rand.Rand {
	a := splitmix(seed ^ splitmix(stream))
	return rand.New(rand.NewPCG(a, splitmix(a)))
}

// splitmix is the SplitMix64 finaliser (Steele, Lea & Flood 2014).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}
