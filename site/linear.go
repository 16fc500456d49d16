package site

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/data"
)

// LinearRows returns a client's standardised training data as the
// linear fit of a warm start reads it: the named modalities side by side
// (an absent modality counts as its standardised mean, 0) and the
// responses, leaving out samples that miss a response. The warm start's fit reads them only through sums over the
// client's own rows (counts, column sums, Xᵀ(X·v), XᵀY); in a
// simulation they stay in the client's memory like its data.
func LinearRows(ds *data.Dataset, modalities []string) (x, y *mat.Dense, err error) {
	if x, err = inputMatrix(ds, modalities); err != nil {
		return nil, nil, err
	}
	n, q := ds.Len(), ds.NumResponses()
	if q == 0 {
		return nil, nil, fmt.Errorf("linear fit: the data have no responses")
	}
	// A sample missing a response (NaN) is left out of the linear fit.
	var keep []int
	for i := range n {
		ok := true
		for j := range q {
			if v := ds.Y[i*q+j]; v != v {
				ok = false
			}
		}
		if ok {
			keep = append(keep, i)
		}
	}
	if len(keep) < n {
		_, p := x.Dims()
		sub := mat.NewDense(max(len(keep), 1), p, nil)
		for r, i := range keep {
			sub.SetRow(r, x.RawRowView(i))
		}
		if len(keep) == 0 {
			return nil, nil, fmt.Errorf("linear fit: no sample has every response")
		}
		x = sub
	}
	y = mat.NewDense(len(keep), q, nil)
	for r, i := range keep {
		for j := range q {
			y.Set(r, j, float64(ds.Y[i*q+j]))
		}
	}
	return x, y, nil
}

// inputMatrix returns the samples of ds as rows of the named modalities'
// values side by side.
func inputMatrix(ds *data.Dataset, modalities []string) (*mat.Dense, error) {
	n := ds.Len()
	if n == 0 {
		return nil, fmt.Errorf("linear statistics: no samples")
	}
	var mods []*data.Modality
	p := 0
	for _, name := range modalities {
		m := ds.Modality(name)
		if m == nil {
			return nil, fmt.Errorf("linear statistics: the data have no modality %q", name)
		}
		mods = append(mods, m)
		p += m.SampleSize()
	}
	x := mat.NewDense(n, p, nil)
	for i := range n {
		row := x.RawRowView(i)
		off := 0
		for _, m := range mods {
			s := m.SampleSize()
			if m.Has(i) {
				for j, v := range m.Sample(i) {
					row[off+j] = float64(v)
				}
			}
			off += s
		}
	}
	return x, nil
}
