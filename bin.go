package forest

import (
	"slices"

	"gonum.org/v1/gonum/mat"
)

// binned is the training matrix reduced to bin codes, shared read-only by
// every tree of a fit.
type binned struct {
	n, p  int
	codes []uint8     // codes[j*n+i]: bin of x_ij; feature-major
	order []int32     // order[j*n:(j+1)*n]: rows sorted by code of feature j (stable)
	edges [][]float64 // edges[j][b]: threshold between bins b and b+1 of feature j
}

// newBinned bins every feature of x into at most maxBins bins. A feature
// with at most maxBins distinct values gets one bin per value and edges at
// the midpoints between consecutive values; otherwise bins hold about n/maxBins
// rows each (quantile bins), never splitting equal values.
func newBinned(x *mat.Dense, maxBins int) *binned {
	n, p := x.Dims()
	d := &binned{n: n, p: p, codes: make([]uint8, n*p), order: make([]int32, n*p), edges: make([][]float64, p)}
	col := make([]float64, n)
	sorted := make([]float64, n)
	var count [256]int32
	var start [257]int32
	for j := range p {
		for i := range n {
			col[i] = x.At(i, j)
		}
		copy(sorted, col)
		slices.Sort(sorted)
		e := binEdges(sorted, maxBins)
		d.edges[j] = e
		codes := d.codes[j*n : (j+1)*n]
		count = [256]int32{}
		for i, v := range col {
			b, _ := slices.BinarySearch(e, v) // # edges < v, or index of an equal edge
			if b < len(e) && e[b] < v {
				b++
			}
			codes[i] = uint8(b)
			count[b]++
		}
		// Counting sort of rows by code (stable).
		start[0] = 0
		for b := range 256 {
			start[b+1] = start[b] + count[b]
		}
		ord := d.order[j*n : (j+1)*n]
		for i, c := range codes {
			ord[start[c]] = int32(i)
			start[c]++
		}
	}
	return d
}

// binEdges returns the bin edges of sorted values: midpoints between the
// last value of a bin and the first of the next.
func binEdges(sorted []float64, maxBins int) []float64 {
	n := len(sorted)
	// Distinct values and their counts.
	var vals []float64
	var cnt []int
	for i, v := range sorted {
		if i == 0 || v != sorted[i-1] {
			vals = append(vals, v)
			cnt = append(cnt, 0)
		}
		cnt[len(cnt)-1]++
	}
	var edges []float64
	if len(vals) <= maxBins {
		for k := 0; k+1 < len(vals); k++ {
			edges = append(edges, vals[k]+(vals[k+1]-vals[k])/2)
		}
		return edges
	}
	// Close bin b once the cumulative count reaches (b+1)·n/maxBins.
	cum, b := 0, 0
	for k := 0; k+1 < len(vals); k++ {
		cum += cnt[k]
		if float64(cum) >= float64(b+1)*float64(n)/float64(maxBins) {
			edges = append(edges, vals[k]+(vals[k+1]-vals[k])/2)
			b++
			if b == maxBins-1 {
				break
			}
		}
	}
	return edges
}
