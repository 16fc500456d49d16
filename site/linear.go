package site

import (
	"fmt"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
)

// LinearStats returns the sufficient statistics of a client's standardised
// training data for a linear model of every modality side by side (in
// modalities' order; an absent modality counts as its standardised mean,
// 0), one set per fold of a k-fold split seeded by seed (fewer folds when
// there are fewer than k samples). The server merges fold f of every
// client to cross-validate (baseline.ByFold), and all of them to fit.
// Only these statistics, never a row, leave the client.
func LinearStats(ds *data.Dataset, modalities []string, k int, seed uint64) ([]*baseline.SuffStats, error) {
	x, err := inputMatrix(ds, modalities)
	if err != nil {
		return nil, err
	}
	n, q := ds.Len(), ds.NumResponses()
	if q == 0 {
		return nil, fmt.Errorf("linear statistics: the data have no responses")
	}
	y := mat.NewDense(n, q, nil)
	for i := range n {
		for j := range q {
			y.Set(i, j, float64(ds.Y[i*q+j]))
		}
	}
	folds := baseline.KFold(n, max(min(k, n), 1), seed)
	return baseline.FoldStats(x, y, folds)
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
