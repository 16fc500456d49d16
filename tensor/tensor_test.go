package tensor

import (
	"slices"
	"strings"
	"testing"
)

func TestViewsShareData(t *testing.T) {
	x := FromSlice([]float32{0, 1, 2, 3, 4, 5}, 2, 3)
	tr := x.Transpose()
	if tr.IsContiguous() || !slices.Equal(tr.Shape(), []int{3, 2}) || tr.At(2, 1) != 5 {
		t.Fatalf("transpose: shape %v contiguous %v at(2,1) %v", tr.Shape(), tr.IsContiguous(), tr.At(2, 1))
	}
	if got := tr.Contiguous().Data(); !slices.Equal(got, []float32{0, 3, 1, 4, 2, 5}) {
		t.Fatalf("contiguous transpose %v", got)
	}
	col := x.Slice(1, 1, 3) // columns 1..2, a strided view
	col.Set(9, 1, 0)
	if x.At(1, 1) != 9 {
		t.Fatal("a slice does not share its data")
	}
	rows := x.Slice(0, 1, 2)
	if !rows.IsContiguous() || !slices.Equal(rows.Data(), []float32{3, 9, 5}) {
		t.Fatalf("row slice %v", rows)
	}
	r := x.Reshape(3, -1)
	r.Set(7, 0, 0)
	if x.At(0, 0) != 7 || !slices.Equal(r.Shape(), []int{3, 2}) {
		t.Fatal("a reshape of a contiguous tensor must be a view")
	}
	c := tr.Reshape(6) // not contiguous: copied
	c.Set(-1, 0)
	if x.At(0, 0) == -1 {
		t.Fatal("a reshape of a strided view wrote through")
	}
	p := New[float64](2, 3, 4).Transpose(2, 0, 1)
	if !slices.Equal(p.Shape(), []int{4, 2, 3}) || !slices.Equal(p.Strides(), []int{1, 12, 4}) {
		t.Fatalf("permuted view: shape %v strides %v", p.Shape(), p.Strides())
	}
}

func TestShapeErrorsNameTheShapes(t *testing.T) {
	cases := []struct {
		f    func()
		want string
	}{
		{func() { FromSlice([]float32{1, 2, 3}, 2, 2) }, "shape [2 2] needs 4 elements, got 3"},
		{func() { New[float32](2, 3).Reshape(4, -1) }, "cannot reshape [2 3] into [4 -1]"},
		{func() { New[float32](2, 3).Slice(1, 2, 5) }, "out of bounds for axis 1 of shape [2 3]"},
		{func() { New[float32](2, 3).Transpose(0, 0) }, "not a permutation"},
		{func() { New[float32](2, 3).Transpose(1, 0).Data() }, "not contiguous"},
		{func() { New[float32](2, 3).At(2, 0) }, "out of bounds for shape [2 3]"},
	}
	for _, c := range cases {
		func() {
			defer func() {
				r := recover()
				if r == nil || !strings.Contains(r.(string), c.want) {
					t.Errorf("panic %v, want one containing %q", r, c.want)
				}
			}()
			c.f()
		}()
	}
}
