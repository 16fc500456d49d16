package baseline

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// Summer adds up real vectors held by different clients — parts[k] is
// client k's, cut into blocks of the given lengths — the way secure
// aggregation does: whoever calls it learns the sum and nothing of any
// one part (fed/secagg.SumFloats is one).
type Summer func(parts [][]float64, blocks []int) ([]float64, error)

// MaxSumValues bounds the values of one secure sum: SecureMerge cuts a
// longer vector into pieces (Pieces), so that a client's message in an
// aggregation stays near 8 MiB (values in Z_{2^64}) whatever p is.
const MaxSumValues = 1 << 20

// A Piece is a stretch [Start, End) of a vector cut into blocks, with
// the lengths of the blocks, or parts of blocks, it holds.
type Piece struct {
	Start, End int
	Blocks     []int
}

// Pieces cuts a vector laid out in blocks of the given lengths into
// stretches of at most max values, in order; a block longer than what is
// left of a stretch is cut too. Every piece is summed on its own, so a
// merge whose parts are summed on different machines must cut them the
// same way to give the same bits.
func Pieces(blocks []int, max int) []Piece {
	var out []Piece
	cur := Piece{}
	at := 0
	for _, l := range blocks {
		if l == 0 {
			cur.Blocks = append(cur.Blocks, 0)
			continue
		}
		for l > 0 {
			room := max - (at - cur.Start)
			if room == 0 {
				cur.End = at
				out = append(out, cur)
				cur = Piece{Start: at}
				room = max
			}
			take := min(l, room)
			cur.Blocks = append(cur.Blocks, take)
			at += take
			l -= take
		}
	}
	cur.End = at
	if cur.End > cur.Start || len(out) == 0 {
		out = append(out, cur)
	}
	return out
}

// sumInPieces sums the parts through sum, one piece (Pieces) at a time.
func sumInPieces(parts [][]float64, blocks []int, sum Summer) ([]float64, error) {
	total := 0
	for _, l := range blocks {
		total += l
	}
	out := make([]float64, 0, total)
	cut := make([][]float64, len(parts))
	for _, pc := range Pieces(blocks, MaxSumValues) {
		for k, v := range parts {
			cut[k] = v[pc.Start:pc.End]
		}
		s, err := sum(cut, pc.Blocks)
		if err != nil {
			return nil, err
		}
		if len(s) != pc.End-pc.Start {
			return nil, fmt.Errorf("a sum of %d values for a piece of %d", len(s), pc.End-pc.Start)
		}
		out = append(out, s...)
	}
	return out, nil
}

// MergeLayout is SecureMerge's arithmetic for p inputs and q responses,
// cut where its two sums happen, for a merge whose parts live on
// different machines: each client computes its vectors (First, then
// Second at the pooled means), and whoever holds the sums calls Means
// and Stats. SecureMerge is these steps with both sums in one place.
type MergeLayout struct{ P, Q int }

func tri(k int) int { return k * (k + 1) / 2 }

// FirstBlocks is the block layout of the first sum: N, Σx, Σy.
func (l MergeLayout) FirstBlocks() []int { return []int{1, l.P, l.Q} }

// SecondBlocks is the block layout of the second sum: the upper triangle
// of Sxx, Sxy, the upper triangle of Syy.
func (l MergeLayout) SecondBlocks() []int { return []int{tri(l.P), l.P * l.Q, tri(l.Q)} }

// First returns a client's vector in the first sum: N, N·x̄, N·ȳ (zeros
// when s is nil or holds no rows).
func (l MergeLayout) First(s *SuffStats) []float64 {
	v := make([]float64, 1+l.P+l.Q)
	if s != nil && s.N > 0 {
		n := float64(s.N)
		v[0] = n
		for j, m := range s.MeanX {
			v[1+j] = n * m
		}
		for j, m := range s.MeanY {
			v[1+l.P+j] = n * m
		}
	}
	return v
}

// Means returns the pooled count and means from the first sum.
func (l MergeLayout) Means(tot []float64) (n float64, mx, my []float64, err error) {
	if len(tot) != 1+l.P+l.Q {
		return 0, nil, nil, fmt.Errorf("a first sum of %d values, %d expected", len(tot), 1+l.P+l.Q)
	}
	n = tot[0]
	if n < 0.5 {
		return n, nil, nil, nil
	}
	mx, my = make([]float64, l.P), make([]float64, l.Q)
	for j := range l.P {
		mx[j] = tot[1+j] / n
	}
	for j := range l.Q {
		my[j] = tot[1+l.P+j] / n
	}
	return n, mx, my, nil
}

// Second returns a client's vector in the second sum: its centred sums
// moved to the pooled means mx, my (zeros when s is nil or holds no
// rows).
func (l MergeLayout) Second(s *SuffStats, mx, my []float64) []float64 {
	p, q := l.P, l.Q
	if s == nil || s.N == 0 {
		return make([]float64, tri(p)+p*q+tri(q))
	}
	v := make([]float64, 0, tri(p)+p*q+tri(q))
	c := float64(s.N)
	dx, dy := make([]float64, p), make([]float64, q)
	for j := range p {
		dx[j] = s.MeanX[j] - mx[j]
	}
	for j := range q {
		dy[j] = s.MeanY[j] - my[j]
	}
	sxx := s.sxx() // formed from the factor when only F is held
	for i := range p {
		for j := i; j < p; j++ {
			v = append(v, sxx.At(i, j)+c*dx[i]*dx[j])
		}
	}
	for i := range p {
		for j := range q {
			v = append(v, s.Sxy.At(i, j)+c*dx[i]*dy[j])
		}
	}
	for i := range q {
		for j := i; j < q; j++ {
			v = append(v, s.Syy.At(i, j)+c*dy[i]*dy[j])
		}
	}
	return v
}

// Stats returns the merged statistics from the pooled count and means
// and the second sum.
func (l MergeLayout) Stats(n float64, mx, my, cs []float64) (*SuffStats, error) {
	p, q := l.P, l.Q
	if len(mx) != p || len(my) != q || len(cs) != tri(p)+p*q+tri(q) {
		return nil, fmt.Errorf("means of %d and %d values and a second sum of %d for %d inputs and %d responses", len(mx), len(my), len(cs), p, q)
	}
	out := &SuffStats{N: int(n + 0.5), MeanX: mx, MeanY: my, Sxx: mat.NewSymDense(p, nil), Sxy: mat.NewDense(p, q, nil), Syy: mat.NewSymDense(q, nil)}
	at := 0
	for i := range p {
		for j := i; j < p; j++ {
			out.Sxx.SetSym(i, j, cs[at])
			at++
		}
	}
	for i := range p {
		for j := range q {
			out.Sxy.Set(i, j, cs[at])
			at++
		}
	}
	for i := range q {
		for j := i; j < q; j++ {
			out.Syy.SetSym(i, j, cs[at])
			at++
		}
	}
	return out, nil
}

// SecureMerge merges clients' statistics through sum alone, so that the
// server never holds one client's statistics. It takes two sums. The
// first adds N, N·x̄ and N·ȳ, which give the pooled means m_x, m_y; the
// second adds each client's centred sums moved to the pooled means,
//
//	Sxx + N·(x̄ − m_x)(x̄ − m_x)ᵀ, Sxy + N·(x̄ − m_x)(ȳ − m_y)ᵀ, Syy + N·(ȳ − m_y)(ȳ − m_y)ᵀ
//
// (upper triangles of the symmetric ones), which add up to the pooled
// centred sums exactly, so that no large raw sum XᵀX is ever formed and
// cancelled. Each sum is taken in pieces of at most MaxSumValues values
// (Pieces). The result equals MergeStats up to the rounding of sum.
// Clients without rows take part with zeros. MergeLayout holds the
// arithmetic, for a merge over a network.
func SecureMerge(parts []*SuffStats, sum Summer) (*SuffStats, error) {
	const fn = "SecureMerge"
	var p, q int
	for _, s := range parts {
		if s != nil && s.N > 0 {
			p, q = len(s.MeanX), len(s.MeanY)
			break
		}
	}
	if p == 0 {
		return nil, errorf(fn, "no client holds rows")
	}
	for k, s := range parts {
		if s == nil || s.N == 0 {
			continue
		}
		if err := s.check(fn); err != nil {
			return nil, errorf(fn, "client %d: %w", k, err)
		}
		if len(s.MeanX) != p || len(s.MeanY) != q {
			return nil, errorf(fn, "client %d has %d inputs and %d responses, client 0 %d and %d", k, len(s.MeanX), len(s.MeanY), p, q)
		}
	}
	l := MergeLayout{P: p, Q: q}
	first := make([][]float64, len(parts))
	for k, s := range parts {
		first[k] = l.First(s)
	}
	tot, err := sumInPieces(first, l.FirstBlocks(), sum)
	if err != nil {
		return nil, errorf(fn, "summing counts and sums: %w", err)
	}
	n, mx, my, err := l.Means(tot)
	if err != nil {
		return nil, errorf(fn, "%w", err)
	}
	if n < 0.5 {
		return nil, errorf(fn, "the clients hold no rows")
	}
	second := make([][]float64, len(parts))
	for k, s := range parts {
		second[k] = l.Second(s, mx, my)
	}
	cs, err := sumInPieces(second, l.SecondBlocks(), sum)
	if err != nil {
		return nil, errorf(fn, "summing cross-products: %w", err)
	}
	return l.Stats(n, mx, my, cs)
}

// SecureByFold is ByFold through sum: fold f of every client is merged by
// SecureMerge, so that each fold holds one set of statistics — the pooled
// fold — and the server never sees one client's.
func SecureByFold(clients [][]*SuffStats, sum Summer) ([][]*SuffStats, error) {
	k := 0
	for _, c := range clients {
		k = max(k, len(c))
	}
	var folds [][]*SuffStats
	for f := range k {
		parts := make([]*SuffStats, len(clients))
		rows := 0
		for c := range clients {
			if f < len(clients[c]) {
				parts[c] = clients[c][f]
				if parts[c] != nil {
					rows += parts[c].N
				}
			}
		}
		if rows == 0 {
			continue
		}
		m, err := SecureMerge(parts, sum)
		if err != nil {
			return nil, fmt.Errorf("fold %d: %w", f, err)
		}
		folds = append(folds, []*SuffStats{m})
	}
	return folds, nil
}
