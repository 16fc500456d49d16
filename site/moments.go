package site

import (
	"fmt"
	"math"
	"slices"

	"github.com/fdrmfl/fdrmfl/data"
)

// Moments are a client's sufficient statistics for standardisation: per
// group of values (a feature, or a whole modality in global mode) the
// count, sum and sum of squares. Summed over clients they give the pooled
// mean and standard deviation without any raw data leaving a client.
type Moments struct {
	Name string
	Mode data.Mode
	N    []float64
	Sum  []float64
	Sum2 []float64
}

// Add accumulates o into m.
func (m *Moments) Add(o Moments) {
	if m.N == nil {
		m.N, m.Sum, m.Sum2 = make([]float64, len(o.N)), make([]float64, len(o.N)), make([]float64, len(o.N))
	}
	for j := range o.N {
		m.N[j] += o.N[j]
		m.Sum[j] += o.Sum[j]
		m.Sum2[j] += o.Sum2[j]
	}
}

// Scaling returns the z-score transform of the pooled moments; a group
// with zero spread (or no values) is centred only.
func (m Moments) Scaling() data.Scaling {
	sc := data.Scaling{Name: m.Name, Mode: m.Mode}
	if m.Mode == data.None {
		return sc
	}
	sc.Mean, sc.Std = make([]float64, len(m.N)), make([]float64, len(m.N))
	for j, n := range m.N {
		sc.Std[j] = 1
		if n == 0 {
			continue
		}
		mu := m.Sum[j] / n
		v := m.Sum2[j]/n - mu*mu
		sc.Mean[j] = mu
		if sd := math.Sqrt(max(v, 0)); sd > 1e-12*max(1, math.Abs(mu)) {
			sc.Std[j] = sd
		}
	}
	return sc
}

// moments computes the statistics of rows of x (width values each) that
// are present, in groups of features (mode PerFeature) or as one group.
func moments(name string, mode data.Mode, x []float32, width int, present []bool) Moments {
	m := Moments{Name: name, Mode: mode}
	groups := width
	switch mode {
	case data.None:
		return m
	case data.Global:
		groups = 1
	}
	m.N, m.Sum, m.Sum2 = make([]float64, groups), make([]float64, groups), make([]float64, groups)
	for i := range len(x) / width {
		if present != nil && !present[i] {
			continue
		}
		for j, v := range x[i*width : (i+1)*width] {
			if v != v {
				continue // a missing response
			}
			g := j % groups
			f := float64(v)
			m.N[g]++
			m.Sum[g] += f
			m.Sum2[g] += f * f
		}
	}
	return m
}

// ClientMoments returns the standardisation statistics of one client's
// training data: one Moments per modality, then one for the responses
// (over the observed values of each: a missing response is left out).
func ClientMoments(ds *data.Dataset, modes map[string]data.Mode) []Moments {
	out := make([]Moments, 0, len(ds.Modalities)+1)
	for _, m := range ds.Modalities {
		out = append(out, moments(m.Name, modes[m.Name], m.Data, m.SampleSize(), m.Present))
	}
	return append(out, moments("y", data.PerFeature, ds.Y, len(ds.ResponseNames), nil))
}

// FlatMoments lays a client's statistics out as one vector, for a sum
// that sees vectors only (secure aggregation): N, Sum and Sum2 of each in
// turn, each its own block; blocks are the blocks' lengths.
func FlatMoments(ms []Moments) (x []float64, blocks []int) {
	for _, m := range ms {
		x = append(append(append(x, m.N...), m.Sum...), m.Sum2...)
		blocks = append(blocks, len(m.N), len(m.N), len(m.N))
	}
	return x, blocks
}

// UnflatMoments turns a vector FlatMoments laid out as like (typically a
// sum of such vectors) back into statistics named as like's, with each
// count rounded to the nearest integer (a sum of counts is one, whatever
// a fixed-point sum rounded).
func UnflatMoments(like []Moments, x []float64) ([]Moments, error) {
	out := make([]Moments, len(like))
	at := 0
	for i, m := range like {
		l := len(m.N)
		if at+3*l > len(x) {
			return nil, fmt.Errorf("standardize: %d summed values for statistics of %d", len(x), at+3*l)
		}
		out[i] = Moments{Name: m.Name, Mode: m.Mode, N: slices.Clone(x[at : at+l]), Sum: slices.Clone(x[at+l : at+2*l]), Sum2: slices.Clone(x[at+2*l : at+3*l])}
		for j := range out[i].N {
			out[i].N[j] = math.Round(out[i].N[j])
		}
		at += 3 * l
	}
	if at != len(x) {
		return nil, fmt.Errorf("standardize: %d summed values for statistics of %d", len(x), at)
	}
	return out, nil
}

// Pooled sums the clients' statistics into one Standardizer
// for every client.
func Pooled(responses []string, parts [][]Moments) (*data.Standardizer, error) {
	if len(parts) == 0 {
		return nil, fmt.Errorf("standardize: no client statistics")
	}
	sum := make([]Moments, len(parts[0]))
	for k, p := range parts {
		if len(p) != len(sum) {
			return nil, fmt.Errorf("standardize: client %d sent %d statistics, client 0 sent %d", k, len(p), len(sum))
		}
		for i := range p {
			if p[i].Name != parts[0][i].Name || len(p[i].N) != len(parts[0][i].N) {
				return nil, fmt.Errorf("standardize: client %d's statistics for %q do not match client 0's %q", k, p[i].Name, parts[0][i].Name)
			}
			sum[i].Name, sum[i].Mode = p[i].Name, p[i].Mode
			sum[i].Add(p[i])
		}
	}
	s := &data.Standardizer{ResponseNames: slices.Clone(responses)}
	for _, m := range sum[:len(sum)-1] {
		s.Modalities = append(s.Modalities, m.Scaling())
	}
	s.Y = sum[len(sum)-1].Scaling()
	return s, nil
}

// ScaleModes turns the configuration's data.scale into modes per modality.
func ScaleModes(scale map[string]string) (map[string]data.Mode, error) {
	modes := map[string]data.Mode{}
	for name, s := range scale {
		m, err := data.ParseMode(s)
		if err != nil {
			return nil, fmt.Errorf("data.scale.%s: %w", name, err)
		}
		modes[name] = m
	}
	return modes, nil
}
