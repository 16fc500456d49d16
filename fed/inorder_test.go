package fed_test

import (
	"errors"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
)

// TestInOrder hands updates over in task order whatever order they come
// in, skips tasks that never answer, and stops at the callback's first
// error.
func TestInOrder(t *testing.T) {
	stop := errors.New("stop")
	cases := []struct {
		name     string
		tasks    int
		arrivals []int // task indices, in the order their updates come
		failAt   int   // the callback fails on this task (-1: never)
		// handed over after each arrival, then after Finish
		during [][]int
		after  []int
		err    error
	}{
		{"in order", 3, []int{0, 1, 2}, -1, [][]int{{0}, {0, 1}, {0, 1, 2}}, []int{0, 1, 2}, nil},
		{"reversed", 3, []int{2, 1, 0}, -1, [][]int{nil, nil, {0, 1, 2}}, []int{0, 1, 2}, nil},
		{"one missing", 4, []int{3, 0, 2}, -1, [][]int{nil, {0}, {0}}, []int{0, 2, 3}, nil},
		{"none", 2, nil, -1, nil, nil, nil},
		{"callback fails", 3, []int{1, 0, 2}, 1, [][]int{nil, {0, 1}, {0, 1}}, []int{0, 1}, stop},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var got []int
			o := fed.NewInOrder(c.tasks, func(u fed.Update) error {
				got = append(got, u.N)
				if u.N == c.failAt {
					return stop
				}
				return nil
			})
			for k, i := range c.arrivals {
				o.Put(i, fed.Update{N: i})
				if !slices.Equal(got, c.during[k]) {
					t.Fatalf("after task %d came: handed over %v, want %v", i, got, c.during[k])
				}
			}
			if err := o.Finish(); !errors.Is(err, c.err) {
				t.Fatalf("Finish: %v, want %v", err, c.err)
			}
			if !slices.Equal(got, c.after) {
				t.Fatalf("handed over %v, want %v", got, c.after)
			}
		})
	}
}
