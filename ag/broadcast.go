package ag

import (
	"fmt"
	"slices"
)

// bplan describes how two operands broadcast against each other. Shapes
// must have equal rank, except that a one-element operand (a scalar of any
// rank) broadcasts against anything; along every axis the sizes are equal
// or one of them is 1. Adjacent axes that broadcast the same way are merged, so the
// common cases ([B,C] with [1,C], [B,C] with [B,1]) iterate as a few long
// rows.
type bplan struct {
	out    []int // full output shape
	shape  []int // merged output shape
	sa, sb []int // strides of a and b over shape; 0 where broadcast
	same   bool  // a and b have the output's shape
}

func broadcast(op string, a, b []int) bplan {
	if len(a) != len(b) {
		switch {
		case sizeOf(b) == 1 && len(b) < len(a):
			b = ones(len(a))
		case sizeOf(a) == 1 && len(a) < len(b):
			a = ones(len(b))
		case sizeOf(b) == 1:
			b = b[len(b)-len(a):]
		case sizeOf(a) == 1:
			a = a[len(a)-len(b):]
		}
	}
	if len(a) != len(b) {
		panic(fmt.Sprintf("ag.%s: shapes %v and %v have different ranks; reshape one explicitly (no implicit broadcasting across ranks)", op, a, b))
	}
	if slices.Equal(a, b) {
		return bplan{out: slices.Clone(a), same: true}
	}
	out := make([]int, len(a))
	for i := range a {
		switch {
		case a[i] == b[i]:
			out[i] = a[i]
		case a[i] == 1:
			out[i] = b[i]
		case b[i] == 1:
			out[i] = a[i]
		default:
			panic(fmt.Sprintf("ag.%s: shapes %v and %v do not broadcast (axis %d: %d vs %d)", op, a, b, i, a[i], b[i]))
		}
	}
	p := bplan{out: out}
	// kind of each axis: 0 both full, 1 a broadcast, 2 b broadcast, 3 both size 1.
	kind := func(i int) int {
		k := 0
		if a[i] != out[i] {
			k |= 1
		}
		if b[i] != out[i] {
			k |= 2
		}
		if out[i] == 1 {
			k = 3
		}
		return k
	}
	var dims, kinds []int
	for i := range out {
		k := kind(i)
		if k == 3 {
			continue
		}
		if n := len(dims); n > 0 && kinds[n-1] == k {
			dims[n-1] *= out[i]
			continue
		}
		dims = append(dims, out[i])
		kinds = append(kinds, k)
	}
	if len(dims) == 0 {
		dims, kinds = []int{1}, []int{0}
	}
	p.shape = dims
	p.sa = make([]int, len(dims))
	p.sb = make([]int, len(dims))
	sa, sb := 1, 1
	for i := len(dims) - 1; i >= 0; i-- {
		if kinds[i]&1 == 0 {
			p.sa[i] = sa
			sa *= dims[i]
		}
		if kinds[i]&2 == 0 {
			p.sb[i] = sb
			sb *= dims[i]
		}
	}
	return p
}

// rows calls f for every row of the merged output: o, ao and bo are the
// offsets of the row in the output, a and b; n is the row length and
// sa, sb the strides of a and b along it (0 or 1).
func (p *bplan) rows(f func(o, ao, bo, n, sa, sb int)) {
	if p.same {
		f(0, 0, 0, sizeOf(p.out), 1, 1)
		return
	}
	r := len(p.shape) - 1
	n, sa, sb := p.shape[r], p.sa[r], p.sb[r]
	outer := 1
	for _, d := range p.shape[:r] {
		outer *= d
	}
	var idx [8]int
	if r > len(idx) {
		panic("ag: too many broadcast axes")
	}
	ao, bo := 0, 0
	for row := range outer {
		f(row*n, ao, bo, n, sa, sb)
		for ax := r - 1; ax >= 0; ax-- {
			idx[ax]++
			ao += p.sa[ax]
			bo += p.sb[ax]
			if idx[ax] < p.shape[ax] {
				break
			}
			ao -= idx[ax] * p.sa[ax]
			bo -= idx[ax] * p.sb[ax]
			idx[ax] = 0
		}
	}
}

func sizeOf(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

func ones(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = 1
	}
	return s
}
