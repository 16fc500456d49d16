package site

import (
	"fmt"
	"math"
	"slices"

	"github.com/fdrmfl/fdrmfl/data"
)

// DefaultScreenLimit is Screen's default limit.
const DefaultScreenLimit = 10

// Screen checks each client's statistics — its moments, in the layout
// ClientMoments gives, and the training-set size it declared — against
// what data can produce and against the other clients', and returns the
// clients to leave out of the federation, by index, with the reason. The
// pooled standardisation is then summed over the others (Pooled), so
// that a client cannot poison it, nor stop the federation by sending
// statistics that cannot be pooled.
//
// A client is left out when
//   - its moments have another layout than most clients' (names, modes,
//     lengths), hold values that are not finite, or describe no possible
//     data: a negative count or sum of squares, Sum² > N·Sum2 (the
//     Cauchy–Schwarz inequality), or a response or feature counted more
//     often than the client declared samples (fewer is possible: missing
//     responses and absent modalities are not counted);
//   - with limit > 0 and at least three clients to compare: it declares
//     more than 10·limit times the median training-set size; or, in some
//     modality or the responses, the median over features of
//     |m_k − med(m)| / max(1.4826·MAD(m), med(s)) − 3/√n_k exceeds limit
//     (its means stand out: m the clients' means of a feature, s their
//     standard deviations, n_k its count), or the median over features of
//     |ln(s_k / med(s))| − 3/√(2(n_k−1)) exceeds ln(limit) (its spread
//     does). The subtracted terms are three standard errors of the
//     client's own estimates, so that a small client is not left out for
//     its sampling noise.
//
// Clients that legitimately differ — each holding a band of the
// response, or lacking a modality (count 0: not compared) — stay well
// inside these limits; one that scales its sums by 10⁶ is far outside.
// With limit ≤ 0 only the first checks run. declared may be nil (no
// declared sizes: the count checks are skipped).
func Screen(parts [][]Moments, declared []int, limit float64) map[int]string {
	out := map[int]string{}
	if len(parts) == 0 {
		return out
	}
	// The layout most clients send (the first client's on a tie).
	count := map[string]int{}
	for _, p := range parts {
		count[layoutOf(p)]++
	}
	want := layoutOf(parts[0])
	for _, p := range parts {
		if l := layoutOf(p); count[l] > count[want] {
			want = l
		}
	}
	var kept []int
	for k, p := range parts {
		var n = -1
		if declared != nil {
			n = declared[k]
		}
		switch {
		case layoutOf(p) != want:
			out[k] = "sent statistics of another layout than the other clients'"
		default:
			if err := possible(p, n); err != nil {
				out[k] = fmt.Sprintf("sent statistics no data can have: %v", err)
				continue
			}
			kept = append(kept, k)
		}
	}
	if limit <= 0 || len(kept) < 3 {
		return out
	}
	if declared != nil {
		sizes := make([]float64, len(kept))
		for i, k := range kept {
			sizes[i] = float64(declared[k])
		}
		med := median(sizes)
		for _, k := range kept {
			if med > 0 && float64(declared[k]) > 10*limit*med {
				out[k] = fmt.Sprintf("declares %d training samples, %.3g times the median of the clients (%g)", declared[k], float64(declared[k])/med, med)
			}
		}
	}
	for g := range parts[kept[0]] {
		meanScore, sdScore := groupScores(parts, kept, g)
		name := parts[kept[0]][g].Name
		if g == len(parts[kept[0]])-1 {
			name = "the responses"
		} else {
			name = fmt.Sprintf("modality %q", name)
		}
		for _, k := range kept {
			if _, gone := out[k]; gone {
				continue
			}
			switch {
			case len(meanScore[k]) == 0:
			case median(meanScore[k]) > limit:
				out[k] = fmt.Sprintf("its statistics of %s stand out: its means lie %.3g robust standard deviations from the other clients' median (limit %g)", name, median(meanScore[k]), limit)
			case median(sdScore[k]) > math.Log(limit):
				out[k] = fmt.Sprintf("its statistics of %s stand out: its spread is %.3g times or 1/%.3g of the other clients' median (limit %g)", name, math.Exp(median(sdScore[k])), math.Exp(median(sdScore[k])), limit)
			}
		}
	}
	return out
}

// groupScores returns, per client of kept, the excess scores of its
// means and spreads over the features of group g it has values of.
func groupScores(parts [][]Moments, kept []int, g int) (meanScore, sdScore map[int][]float64) {
	meanScore, sdScore = map[int][]float64{}, map[int][]float64{}
	width := len(parts[kept[0]][g].N)
	ms, ss, who := make([]float64, 0, len(kept)), make([]float64, 0, len(kept)), make([]int, 0, len(kept))
	for j := range width {
		ms, ss, who = ms[:0], ss[:0], who[:0]
		for _, k := range kept {
			m := parts[k][g]
			if m.N[j] <= 0 {
				continue
			}
			mu := m.Sum[j] / m.N[j]
			ms = append(ms, mu)
			ss = append(ss, math.Sqrt(max(m.Sum2[j]/m.N[j]-mu*mu, 0)))
			who = append(who, k)
		}
		if len(who) < 3 {
			continue
		}
		medM, medS := median(ms), median(ss)
		dev := make([]float64, len(ms))
		for i, m := range ms {
			dev[i] = math.Abs(m - medM)
		}
		eps := 1e-12 * (1 + math.Abs(medM))
		scale := max(1.4826*median(dev), medS, eps)
		for i, k := range who {
			n := parts[k][g].N[j]
			meanScore[k] = append(meanScore[k], dev[i]/scale-3/math.Sqrt(n))
			sdScore[k] = append(sdScore[k], math.Abs(math.Log((ss[i]+eps)/(medS+eps)))-3/math.Sqrt(2*max(n-1, 1)))
		}
	}
	return meanScore, sdScore
}

// layoutOf describes the shape of a client's moments.
func layoutOf(p []Moments) string {
	s := ""
	for _, m := range p {
		s += fmt.Sprintf("%s/%v/%d/%d/%d;", m.Name, m.Mode, len(m.N), len(m.Sum), len(m.Sum2))
	}
	return s
}

// possible returns why moments cannot come from data, or nil. declared
// < 0 means unknown.
func possible(p []Moments, declared int) error {
	for gi, m := range p {
		y := gi == len(p)-1
		for j := range m.N {
			n, s, s2 := m.N[j], m.Sum[j], m.Sum2[j]
			switch {
			case !finite(n) || !finite(s) || !finite(s2):
				return fmt.Errorf("%q value %d: count %v, sum %v, sum of squares %v", m.Name, j, n, s, s2)
			case n < 0 || s2 < 0 || n != math.Trunc(n):
				return fmt.Errorf("%q value %d: count %v, sum of squares %v", m.Name, j, n, s2)
			case n == 0 && (s != 0 || s2 != 0):
				return fmt.Errorf("%q value %d: sums of no values", m.Name, j)
			case s*s > n*s2*(1+1e-9)+1e-300:
				return fmt.Errorf("%q value %d: the squared sum %.4g exceeds count × sum of squares %.4g", m.Name, j, s*s, n*s2)
			case declared >= 0 && (y || m.Mode == data.PerFeature) && n > float64(declared):
				return fmt.Errorf("%q value %d counted %v times, but it declared %d training samples", m.Name, j, n, declared)
			}
		}
	}
	return nil
}

func finite(v float64) bool { return v-v == 0 }

// median returns the median of xs (the mean of the middle two for an
// even count) without modifying it.
func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
