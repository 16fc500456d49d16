package data

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// TrainTestSplit splits the samples 0..n−1 into a training and a test set,
// returned as ascending index lists. The test set has ceil(testFraction·n)
// samples, as in scikit-learn's train_test_split, except that a product
// within 1e-9 of an integer counts as that integer (scikit-learn takes 8
// test samples of 100 for a fraction of 0.07); both sets must be non-empty.
// The samples are drawn with rng.Perm(n); a nil rng means no shuffling, so
// the test set is the last samples.
func TrainTestSplit(n int, testFraction float64, rng *rand.Rand) (train, test []int, err error) {
	if !(testFraction > 0 && testFraction < 1) {
		return nil, nil, fmt.Errorf("split: test fraction %v: want 0 < fraction < 1", testFraction)
	}
	x := testFraction * float64(n)
	nTest := int(math.Ceil(x))
	if r := math.Round(x); math.Abs(x-r) < 1e-9 { // 0.07·100 is 7.000000000000001
		nTest = int(r)
	}
	if nTest < 1 || nTest >= n {
		return nil, nil, fmt.Errorf("split: test fraction %v of %d samples leaves %d for test and %d for training; both need at least 1",
			testFraction, n, nTest, n-nTest)
	}
	perm := order(n, rng)
	train, test = perm[:n-nTest], perm[n-nTest:]
	slices.Sort(train)
	slices.Sort(test)
	return train, test, nil
}

// Fold is one fold of a cross-validation: disjoint ascending index lists
// that together cover every sample.
type Fold struct {
	Train, Test []int
}

// KFold splits the samples 0..n−1 into k folds for cross-validation. The k
// test sets are disjoint, cover every sample once, and differ in size by at
// most one (the first n mod k are larger). The samples are shuffled with
// rng.Perm(n); a nil rng keeps them in order, so each test set is a
// contiguous block.
func KFold(n, k int, rng *rand.Rand) ([]Fold, error) {
	if k < 2 {
		return nil, fmt.Errorf("k-fold: %d folds: want at least 2", k)
	}
	if k > n {
		return nil, fmt.Errorf("k-fold: %d folds of %d samples: want at most one fold per sample", k, n)
	}
	perm := order(n, rng)
	folds := make([]Fold, k)
	start := 0
	for f := range folds {
		size := n / k
		if f < n%k {
			size++
		}
		test := slices.Clone(perm[start : start+size])
		slices.Sort(test)
		train := make([]int, 0, n-size)
		train = append(train, perm[:start]...)
		train = append(train, perm[start+size:]...)
		slices.Sort(train)
		folds[f] = Fold{Train: train, Test: test}
		start += size
	}
	return folds, nil
}

// order returns rng.Perm(n), or 0..n−1 when rng is nil.
func order(n int, rng *rand.Rand) []int {
	if rng != nil {
		return rng.Perm(n)
	}
	p := make([]int, n)
	for i := range p {
		p[i] = i
	}
	return p
}
