package site_test

import (
	"math"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/site"
)

// splitData has n samples of one vector modality and one response; the
// response of each sample in missing is NaN.
func splitData(t *testing.T, n int, roles []data.Role, missing ...int) *data.Dataset {
	t.Helper()
	x, y := make([]float32, n), make([]float32, n)
	for i := range n {
		x[i], y[i] = float32(i), float32(i)
	}
	for _, i := range missing {
		y[i] = float32(math.NaN())
	}
	ds, err := data.New(n, []data.Modality{{Name: "x", Kind: data.Vector, Shape: []int{1}, Data: x}}, []string{"y"}, y)
	if err != nil {
		t.Fatal(err)
	}
	ds.Roles = roles
	if err := ds.Validate(); err != nil {
		t.Fatal(err)
	}
	return ds
}

func TestSplitFixed(t *testing.T) {
	const tr, va, te = data.RoleTrain, data.RoleVal, data.RoleTest
	roles := []data.Role{tr, te, tr, va, tr, tr, te, tr, va, tr, tr, tr}
	idx := []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}
	spec := site.SplitSpec{Seed: 1, TestFraction: 0.5, ValFraction: 0.3}

	s, err := site.Split("c", spec, splitData(t, 12, roles, 10), idx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Fixed || !slices.Equal(s.TrainIndex, []int{0, 2, 4, 5, 7, 9, 11}) || !slices.Equal(s.ValIndex, []int{3, 8}) ||
		!slices.Equal(s.TestIndex, []int{1, 6}) || !slices.Equal(s.Unlabelled, []int{10}) {
		t.Fatalf("train %v val %v test %v unlabelled %v", s.TrainIndex, s.ValIndex, s.TestIndex, s.Unlabelled)
	}
	if s.Train.Len() != 7 || !slices.Equal(s.Test.Y, []float32{1, 6}) {
		t.Errorf("sets of %d, %d, %d; test y %v", s.Train.Len(), s.Val.Len(), s.Test.Len(), s.Test.Y)
	}

	// No validation label: validation samples are drawn from the training
	// samples, the same ones every time; the test set stays as labelled.
	noVal := slices.Clone(roles)
	noVal[3], noVal[8] = tr, tr
	var first []int
	for range 2 {
		s, err := site.Split("c", spec, splitData(t, 12, noVal), idx)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.TestIndex, []int{1, 6}) || len(s.ValIndex) != 3 || len(s.TrainIndex) != 7 {
			t.Fatalf("train %v val %v test %v", s.TrainIndex, s.ValIndex, s.TestIndex)
		}
		for _, v := range s.ValIndex {
			if noVal[v] != tr {
				t.Fatalf("validation sample %d is not a training sample of the split", v)
			}
		}
		if first != nil && !slices.Equal(first, s.ValIndex) {
			t.Fatalf("validation %v then %v", first, s.ValIndex)
		}
		first = s.ValIndex
	}

	// A client holding only test samples cannot train.
	if _, err := site.Split("c", spec, splitData(t, 12, roles), []int{1, 6}); err == nil ||
		err.Error() != "c has 0 training samples; at least 2 are needed (fewer clients, or more samples labelled train in the split)" {
		t.Errorf("error %v", err)
	}
}

// TestSplitLeavesOutUnlabelled: without a fixed split, samples without a
// response are left out and the rest split as usual.
func TestSplitLeavesOutUnlabelled(t *testing.T) {
	idx := make([]int, 20)
	for i := range idx {
		idx[i] = i
	}
	s, err := site.Split("c", site.SplitSpec{Seed: 3, TestFraction: 0.25}, splitData(t, 20, nil, 0, 5, 19), idx)
	if err != nil {
		t.Fatal(err)
	}
	if s.Fixed || !slices.Equal(s.Unlabelled, []int{0, 5, 19}) || len(s.TrainIndex)+len(s.TestIndex) != 17 || len(s.TestIndex) != 5 {
		t.Fatalf("train %v test %v unlabelled %v", s.TrainIndex, s.TestIndex, s.Unlabelled)
	}
	for _, set := range [][]int{s.TrainIndex, s.TestIndex} {
		for _, i := range set {
			if i == 0 || i == 5 || i == 19 {
				t.Fatalf("unlabelled sample %d in a set", i)
			}
		}
	}
}
