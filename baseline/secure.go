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

// SecureMerge merges clients' statistics through sum alone, so that the
// server never holds one client's statistics. It takes two sums. The
// first adds N, N·x̄ and N·ȳ, which give the pooled means m_x, m_y; the
// second adds each client's centred sums moved to the pooled means,
//
//	Sxx + N·(x̄ − m_x)(x̄ − m_x)ᵀ, Sxy + N·(x̄ − m_x)(ȳ − m_y)ᵀ, Syy + N·(ȳ − m_y)(ȳ − m_y)ᵀ
//
// (upper triangles of the symmetric ones), which add up to the pooled
// centred sums exactly, so that no large raw sum XᵀX is ever formed and
// cancelled. The result equals MergeStats up to the rounding of sum.
// Clients without rows take part with zeros.
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
	first := make([][]float64, len(parts))
	for k, s := range parts {
		v := make([]float64, 1+p+q)
		if s != nil && s.N > 0 {
			n := float64(s.N)
			v[0] = n
			for j, m := range s.MeanX {
				v[1+j] = n * m
			}
			for j, m := range s.MeanY {
				v[1+p+j] = n * m
			}
		}
		first[k] = v
	}
	tot, err := sum(first, []int{1, p, q})
	if err != nil {
		return nil, errorf(fn, "summing counts and sums: %w", err)
	}
	n := tot[0]
	if n < 0.5 {
		return nil, errorf(fn, "the clients hold no rows")
	}
	mx, my := make([]float64, p), make([]float64, q)
	for j := range p {
		mx[j] = tot[1+j] / n
	}
	for j := range q {
		my[j] = tot[1+p+j] / n
	}
	tri := func(k int) int { return k * (k + 1) / 2 }
	second := make([][]float64, len(parts))
	for k, s := range parts {
		v := make([]float64, 0, tri(p)+p*q+tri(q))
		if s == nil || s.N == 0 {
			second[k] = make([]float64, tri(p)+p*q+tri(q))
			continue
		}
		c := float64(s.N)
		dx, dy := make([]float64, p), make([]float64, q)
		for j := range p {
			dx[j] = s.MeanX[j] - mx[j]
		}
		for j := range q {
			dy[j] = s.MeanY[j] - my[j]
		}
		for i := range p {
			for j := i; j < p; j++ {
				v = append(v, s.Sxx.At(i, j)+c*dx[i]*dx[j])
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
		second[k] = v
	}
	cs, err := sum(second, []int{tri(p), p * q, tri(q)})
	if err != nil {
		return nil, errorf(fn, "summing cross-products: %w", err)
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
	if at != len(cs) {
		return nil, fmt.Errorf("baseline.SecureMerge: %d sums for %d places", len(cs), at)
	}
	return out, nil
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
