package baseline

import (
	"slices"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/fed/secagg"
)

func secureSum(parts [][]float64, blocks []int) ([]float64, error) {
	return secagg.SumFloats(parts, blocks, nil)
}

// TestSecureMergeEqualsMerge checks that statistics merged by secure
// aggregation equal the plain merge to float64 precision: secagg's
// quantisation bound is 2⁻⁶⁰ relative to each block's largest value.
func TestSecureMergeEqualsMerge(t *testing.T) {
	_, _, stats := clientData(t, 3, uneven, 12, 2)
	plain, err := MergeStats(stats...)
	if err != nil {
		t.Fatal(err)
	}
	sec, err := SecureMerge(stats, secureSum)
	if err != nil {
		t.Fatal(err)
	}
	if sec.N != plain.N {
		t.Fatalf("N %d, want %d", sec.N, plain.N)
	}
	for _, c := range []struct {
		name string
		a, b mat.Matrix
	}{
		{"Sxx", sec.Sxx, plain.Sxx}, {"Sxy", sec.Sxy, plain.Sxy}, {"Syy", sec.Syy, plain.Syy},
		{"x̄", mat.NewVecDense(12, sec.MeanX), mat.NewVecDense(12, plain.MeanX)},
	} {
		if d := relDiff(c.a, c.b); d > 1e-12 {
			t.Errorf("%s differs by %g (relative)", c.name, d)
		}
	}
}

// TestSecureFederatedFitsEqualPlain fits federated ridge and PLS, α and
// the number of components chosen by cross-validation over folds of
// statistics, once from folds merged in the clear and once from folds
// merged by secure aggregation: coefficients and choices agree.
func TestSecureFederatedFitsEqualPlain(t *testing.T) {
	x, y, _ := clientData(t, 4, uneven, 15, 1)
	var clients [][]*SuffStats
	start := 0
	for c, s := range uneven {
		idx := make([]int, s)
		for i := range idx {
			idx[i] = start + i
		}
		folds := KFold(s, min(5, s), uint64(c))
		fs, err := FoldStats(rows(x, idx), rows(y, idx), folds)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, fs)
		start += s
	}
	plainFolds := ByFold(clients)
	secFolds, err := SecureByFold(clients, secureSum)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range []struct {
		name string
		new  func() interface {
			FitFolds([][]*SuffStats) error
		}
		coef func(any) (*mat.Dense, float64)
	}{
		{"ridge", func() interface{ FitFolds([][]*SuffStats) error } {
			return &Ridge{Alphas: LogSpace(-2, 3, 11), Standardize: true}
		}, func(r any) (*mat.Dense, float64) { return r.(*Ridge).Coef, r.(*Ridge).AlphaUsed }},
		{"pls", func() interface{ FitFolds([][]*SuffStats) error } { return &PLS{MaxComponents: 6} },
			func(r any) (*mat.Dense, float64) { return r.(*PLS).Coef, float64(r.(*PLS).Components) }},
	} {
		a, b := m.new(), m.new()
		if err := a.FitFolds(plainFolds); err != nil {
			t.Fatal(err)
		}
		if err := b.FitFolds(secFolds); err != nil {
			t.Fatal(err)
		}
		ca, ha := m.coef(a)
		cb, hb := m.coef(b)
		if ha != hb {
			t.Errorf("%s: chose %v in the clear, %v under secure aggregation", m.name, ha, hb)
		}
		if d := relDiff(ca, cb); d > 1e-9 {
			t.Errorf("%s: coefficients differ by %g (relative)", m.name, d)
		} else {
			t.Logf("%s: coefficients differ by %.2g (relative)", m.name, d)
		}
	}
}

// TestPieces checks how a vector in blocks is cut into pieces of at most
// max values: in order, with every value once, blocks cut where a piece
// ends.
func TestPieces(t *testing.T) {
	for _, c := range []struct {
		name   string
		blocks []int
		max    int
		want   []Piece
	}{
		{"fits", []int{1, 3, 2}, 10, []Piece{{0, 6, []int{1, 3, 2}}}},
		{"exactly", []int{2, 2}, 4, []Piece{{0, 4, []int{2, 2}}}},
		{"a block cut", []int{1, 5, 1}, 4, []Piece{{0, 4, []int{1, 3}}, {4, 7, []int{2, 1}}}},
		{"a long block", []int{9}, 4, []Piece{{0, 4, []int{4}}, {4, 8, []int{4}}, {8, 9, []int{1}}}},
		{"ends on a boundary", []int{4, 4}, 4, []Piece{{0, 4, []int{4}}, {4, 8, []int{4}}}},
		{"empty block", []int{0, 3}, 4, []Piece{{0, 3, []int{0, 3}}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := Pieces(c.blocks, c.max)
			if len(got) != len(c.want) {
				t.Fatalf("%+v, want %+v", got, c.want)
			}
			for i := range got {
				if got[i].Start != c.want[i].Start || got[i].End != c.want[i].End || !slices.Equal(got[i].Blocks, c.want[i].Blocks) {
					t.Fatalf("piece %d: %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// TestSecureMergeInPieces merges statistics of 1500 inputs, whose
// cross-products (1.1 M values) take two pieces: every sum sees at most
// MaxSumValues values, and the merge equals the plain one (to float32's
// precision: beyond largeP inputs Sxx is formed from each factor by the
// float32 GEMM, a client's in SecureMerge, the merged factor in
// MergeStats).
func TestSecureMergeInPieces(t *testing.T) {
	_, _, stats := clientData(t, 2, uneven, 1500, 1)
	plain, err := MergeStats(stats...)
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	sum := func(parts [][]float64, blocks []int) ([]float64, error) {
		calls++
		if len(parts[0]) > MaxSumValues {
			t.Fatalf("a sum of %d values", len(parts[0]))
		}
		out := make([]float64, len(parts[0]))
		for _, p := range parts {
			for i, v := range p {
				out[i] += v
			}
		}
		return out, nil
	}
	sec, err := SecureMerge(stats, sum)
	if err != nil {
		t.Fatal(err)
	}
	if calls != 3 {
		t.Fatalf("%d sums, want 3 (the means, then the cross-products in two pieces)", calls)
	}
	if d := relDiff(sec.Sxx, plain.sxx()); d > 1e-6 {
		t.Fatalf("Sxx differs by %g (relative)", d)
	}
	if d := relDiff(sec.Sxy, plain.Sxy); d > 1e-12 {
		t.Fatalf("Sxy differs by %g (relative)", d)
	}
}
