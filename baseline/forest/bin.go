package forest

import (
	"slices"
	"sync"

	"gonum.org/v1/gonum/mat"
)

// binned is the training matrix reduced to bin codes, shared read-only by
// every tree of a fit.
type binned struct {
	n, p  int
	order []uint32    // order[j*n:(j+1)*n]: entries code<<24 | row of feature j, sorted by code (stable)
	codes []uint8     // codes[j*n+i]: bin of x_ij
	edges [][]float64 // edges[j][b]: threshold between bins b and b+1 of feature j
}

// newBinned bins every feature of x into at most maxBins bins, features
// shared among workers goroutines (each feature's result is the same
// whichever worker bins it). A feature with at most maxBins distinct values
// gets one bin per value and edges at the midpoints between consecutive
// values; otherwise bins hold about n/maxBins rows each (quantile bins),
// never splitting equal values. The code of a value v is the number of
// edges below it, so v ≤ edges[b] exactly when its code is at most b.
func newBinned(x *mat.Dense, maxBins, workers int) *binned {
	n, p := x.Dims()
	d := &binned{n: n, p: p, order: make([]uint32, n*p), codes: make([]uint8, n*p), edges: make([][]float64, p)}
	workers = max(1, min(workers, p))
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			col := make([]float64, n)
			sorted := make([]float64, n)
			for j := w; j < p; j += workers {
				d.binFeature(x, j, maxBins, col, sorted)
			}
		}()
	}
	wg.Wait()
	return d
}

// binFeature bins feature j, using col and sorted as scratch.
func (d *binned) binFeature(x *mat.Dense, j, maxBins int, col, sorted []float64) {
	n := d.n
	for i := range n {
		col[i] = x.At(i, j)
	}
	copy(sorted, col)
	slices.Sort(sorted)
	e := binEdges(sorted, maxBins)
	d.edges[j] = e
	codes := d.codes[j*n : (j+1)*n]
	var count [256]int32
	for i, v := range col {
		b, _ := slices.BinarySearch(e, v) // first edge ≥ v = # edges < v
		codes[i] = uint8(b)
		count[b]++
	}
	// Counting sort of rows by code (stable).
	var start [256]int32
	for b := 1; b < 256; b++ {
		start[b] = start[b-1] + count[b-1]
	}
	ord := d.order[j*n : (j+1)*n]
	for i, c := range codes {
		ord[start[c]] = uint32(c)<<codeShift | uint32(i)
		start[c]++
	}
}

// An entry packs a bin code and a row: code<<codeShift | row, so a scan
// reads codes in order without a second lookup. Rows must be below 1<<24.
const (
	codeShift        = 24
	rowMask   uint32 = 1<<codeShift - 1
	maxRows          = 1 << codeShift
)

// binEdges returns the bin edges of sorted values: midpoints between the
// last value of a bin and the first of the next.
func binEdges(sorted []float64, maxBins int) []float64 {
	n := len(sorted)
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
