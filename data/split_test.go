package data

import (
	"slices"
	"testing"
)

// covers reports whether the parts are disjoint and together hold every
// index 0..n−1 once.
func covers(n int, parts ...[]int) bool {
	seen := make([]bool, n)
	total := 0
	for _, p := range parts {
		for _, i := range p {
			if i < 0 || i >= n || seen[i] {
				return false
			}
			seen[i] = true
			total++
		}
	}
	return total == n
}

func TestTrainTestSplit(t *testing.T) {
	tests := []struct {
		n         int
		frac      float64
		wantTest  int
		shuffled  bool
		errSubstr string
	}{
		{215, 0.1, 22, true, ""}, // ceil(21.5), as scikit-learn
		{80, 0.2, 16, true, ""},
		{10, 0.5, 5, false, ""},
		{2, 0.5, 1, true, ""},
		{100, 0.07, 7, true, ""}, // 0.07·100 = 7.000000000000001 in floating point
		{10, 0, 0, true, "split: test fraction 0: want 0 < fraction < 1"},
		{10, 1, 0, true, "split: test fraction 1: want 0 < fraction < 1"},
		{1, 0.5, 0, true, "split: test fraction 0.5 of 1 samples leaves 1 for test and 0 for training; both need at least 1"},
		{0, 0.5, 0, true, "split: test fraction 0.5 of 0 samples leaves 0 for test and 0 for training; both need at least 1"},
	}
	for _, tt := range tests {
		rng := newRand(1)
		if !tt.shuffled {
			rng = nil
		}
		train, test, err := TrainTestSplit(tt.n, tt.frac, rng)
		if tt.errSubstr != "" {
			if err == nil || err.Error() != tt.errSubstr {
				t.Errorf("TrainTestSplit(%d, %v): error %v, want %s", tt.n, tt.frac, err, tt.errSubstr)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(test) != tt.wantTest || !covers(tt.n, train, test) || !slices.IsSorted(train) || !slices.IsSorted(test) {
			t.Errorf("TrainTestSplit(%d, %v): %d train, %d test (want %d), disjoint cover %v", tt.n, tt.frac, len(train), len(test), tt.wantTest, covers(tt.n, train, test))
		}
		if !tt.shuffled && test[0] != tt.n-tt.wantTest {
			t.Errorf("unshuffled split: test starts at %d, want the last %d samples", test[0], tt.wantTest)
		}
		train2, test2, _ := TrainTestSplit(tt.n, tt.frac, newRand(1))
		if tt.shuffled && (!slices.Equal(train, train2) || !slices.Equal(test, test2)) {
			t.Errorf("TrainTestSplit(%d, %v) differs for the same seed", tt.n, tt.frac)
		}
	}
}

func TestKFold(t *testing.T) {
	for _, tt := range []struct{ n, k int }{{10, 2}, {10, 3}, {7, 7}, {80, 5}} {
		for _, rng := range []bool{true, false} {
			var folds []Fold
			var err error
			if rng {
				folds, err = KFold(tt.n, tt.k, newRand(9))
			} else {
				folds, err = KFold(tt.n, tt.k, nil)
			}
			if err != nil {
				t.Fatal(err)
			}
			tests := make([][]int, len(folds))
			for f, fold := range folds {
				tests[f] = fold.Test
				if !covers(tt.n, fold.Train, fold.Test) || !slices.IsSorted(fold.Train) || !slices.IsSorted(fold.Test) {
					t.Errorf("KFold(%d, %d) fold %d: train and test do not partition the samples", tt.n, tt.k, f)
				}
				if size := len(fold.Test); size != tt.n/tt.k && size != tt.n/tt.k+1 {
					t.Errorf("KFold(%d, %d) fold %d has %d test samples", tt.n, tt.k, f, size)
				}
			}
			if !covers(tt.n, tests...) {
				t.Errorf("KFold(%d, %d): test folds do not cover every sample once", tt.n, tt.k)
			}
			if !rng && tests[0][0] != 0 {
				t.Errorf("unshuffled KFold: first fold %v", tests[0])
			}
		}
	}
	a, _ := KFold(50, 5, newRand(3))
	b, _ := KFold(50, 5, newRand(3))
	if !slices.EqualFunc(a, b, func(x, y Fold) bool { return slices.Equal(x.Test, y.Test) }) {
		t.Error("KFold differs for the same seed")
	}
	for _, tt := range []struct {
		n, k int
		want string
	}{
		{10, 1, "k-fold: 1 folds: want at least 2"},
		{3, 4, "k-fold: 4 folds of 3 samples: want at most one fold per sample"},
	} {
		if _, err := KFold(tt.n, tt.k, nil); err == nil || err.Error() != tt.want {
			t.Errorf("KFold(%d, %d): error %v, want %s", tt.n, tt.k, err, tt.want)
		}
	}
}
