package data

import (
	"fmt"
	"slices"
	"strings"
)

// Modality holds one modality of a dataset for all its samples.
//
// Data is sample-major: sample i occupies Data[i*s : (i+1)*s] with
// s = SampleSize(), laid out row-major in Shape. Present says which samples
// have this modality; nil means all of them do. An absent sample holds zeros
// in Data, so that code which ignores Present sees a neutral input.
type Modality struct {
	// Name identifies the modality within its dataset, e.g. "m5" or "image".
	Name string
	// Kind is the kind of input; it fixes len(Shape).
	Kind Kind
	// Shape is the per-sample shape: Vector [p]; Signal [C, L]; Image
	// [C, H, W]; Sequence [T, F].
	Shape []int
	// Data holds n × SampleSize() values, sample-major.
	Data []float32
	// Present has one entry per sample, or is nil when every sample has
	// this modality.
	Present []bool
}

// SampleSize returns the number of values in one sample, the product of
// Shape.
func (m *Modality) SampleSize() int {
	s := 1
	for _, d := range m.Shape {
		s *= d
	}
	return s
}

// Sample returns sample i's values as a view into Data, not a copy.
func (m *Modality) Sample(i int) []float32 {
	s := m.SampleSize()
	return m.Data[i*s : (i+1)*s : (i+1)*s]
}

// Has reports whether sample i has this modality.
func (m *Modality) Has(i int) bool {
	return m.Present == nil || m.Present[i]
}

// Len returns the number of samples m holds, len(Data) / SampleSize().
func (m *Modality) Len() int { return len(m.Data) / m.SampleSize() }

// NumPresent returns how many samples have this modality.
func (m *Modality) NumPresent() int {
	if m.Present == nil {
		return m.Len()
	}
	c := 0
	for _, p := range m.Present {
		if p {
			c++
		}
	}
	return c
}

// SetAbsent marks sample i as lacking this modality and zeroes its values.
func (m *Modality) SetAbsent(i int) {
	if m.Present == nil {
		m.Present = make([]bool, m.Len())
		for j := range m.Present {
			m.Present[j] = true
		}
	}
	m.Present[i] = false
	clear(m.Sample(i))
}

// clone returns a deep copy of m.
func (m *Modality) clone() Modality {
	c := *m
	c.Shape = slices.Clone(m.Shape)
	c.Data = slices.Clone(m.Data)
	c.Present = slices.Clone(m.Present)
	return c
}

// Dataset is a set of n samples, each with values for some modalities and,
// unless the dataset is for prediction only, one or more responses.
//
// The fields may be read freely. Code that changes them must keep the
// invariants that Validate checks.
type Dataset struct {
	// Modalities are the inputs, in a fixed order with distinct names.
	Modalities []Modality
	// ResponseNames names the columns of Y; it is empty for a dataset
	// without responses.
	ResponseNames []string
	// Y holds n × len(ResponseNames) responses, row-major. A NaN is a
	// missing response: training and evaluation skip that sample for that
	// response (see ResponseObserved and Labelled).
	Y []float32
	// IDs names each sample (nil when the data have no sample IDs and
	// samples are known by their row). Outputs are keyed by them.
	IDs []string
	// Roles is a fixed split: the set each sample belongs to (nil: none, the
	// samples are split at random). A client of a federation honours it
	// instead of drawing its own split.
	Roles []Role

	n int
}

// New returns a dataset of n samples with the given modalities and
// responses, after checking them as Validate does. The dataset takes
// ownership of the slices, which the caller must not change afterwards.
// A dataset without responses has nil responseNames and y.
func New(n int, modalities []Modality, responseNames []string, y []float32) (*Dataset, error) {
	d := &Dataset{Modalities: modalities, ResponseNames: responseNames, Y: y, n: n}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	return d, nil
}

// Len returns the number of samples.
func (d *Dataset) Len() int { return d.n }

// NumResponses returns the number of response columns.
func (d *Dataset) NumResponses() int { return len(d.ResponseNames) }

// Validate checks the dataset's invariants: modality and response names
// are non-empty and distinct; each shape has the rank of its kind and
// positive dimensions; every Data, Present, Y, IDs and Roles has the length
// n implies; absent samples hold zeros; and IDs, if any, are non-empty and
// distinct.
func (d *Dataset) Validate() error {
	if d.n < 0 {
		return fmt.Errorf("dataset has %d samples", d.n)
	}
	seen := make(map[string]bool, len(d.Modalities))
	for i := range d.Modalities {
		m := &d.Modalities[i]
		if m.Name == "" {
			return fmt.Errorf("modality %d has no name", i)
		}
		if seen[m.Name] {
			return fmt.Errorf("two modalities are named %q", m.Name)
		}
		seen[m.Name] = true
		if err := checkShape(m.Kind, m.Shape); err != nil {
			return fmt.Errorf("modality %q: %w", m.Name, err)
		}
		if want := d.n * m.SampleSize(); len(m.Data) != want {
			return fmt.Errorf("modality %q: %d values, want %d samples × %d = %d",
				m.Name, len(m.Data), d.n, m.SampleSize(), want)
		}
		if m.Present != nil {
			if len(m.Present) != d.n {
				return fmt.Errorf("modality %q: presence mask for %d samples, want %d",
					m.Name, len(m.Present), d.n)
			}
			for j, p := range m.Present {
				if p {
					continue
				}
				for _, v := range m.Sample(j) {
					if v != 0 {
						return fmt.Errorf("modality %q: sample %d is absent but holds non-zero values", m.Name, j)
					}
				}
			}
		}
	}
	clear(seen)
	for j, name := range d.ResponseNames {
		if name == "" {
			return fmt.Errorf("response %d has no name", j)
		}
		if seen[name] {
			return fmt.Errorf("two responses are named %q", name)
		}
		seen[name] = true
	}
	if want := d.n * len(d.ResponseNames); len(d.Y) != want {
		return fmt.Errorf("%d response values, want %d samples × %d responses = %d",
			len(d.Y), d.n, len(d.ResponseNames), want)
	}
	if d.IDs != nil {
		if len(d.IDs) != d.n {
			return fmt.Errorf("%d sample IDs for %d samples", len(d.IDs), d.n)
		}
		at := make(map[string]int, d.n)
		for i, id := range d.IDs {
			if id == "" {
				return fmt.Errorf("sample %d has an empty ID", i)
			}
			if j, dup := at[id]; dup {
				return fmt.Errorf("samples %d and %d have the same ID %q", j, i, id)
			}
			at[id] = i
		}
	}
	if d.Roles != nil {
		if len(d.Roles) != d.n {
			return fmt.Errorf("a fixed split of %d samples for %d samples", len(d.Roles), d.n)
		}
		for i, r := range d.Roles {
			if !r.valid() {
				return fmt.Errorf("sample %d: invalid split role %d", i, int(r))
			}
		}
	}
	return nil
}

// checkShape reports whether shape fits kind.
func checkShape(k Kind, shape []int) error {
	if !k.valid() {
		return fmt.Errorf("invalid kind %d", int(k))
	}
	if len(shape) != k.Rank() {
		return fmt.Errorf("kind %v needs a shape of %d dimensions (%s), got %v",
			k, k.Rank(), shapeHint[k], shape)
	}
	for _, s := range shape {
		if s <= 0 {
			return fmt.Errorf("shape %v has a dimension ≤ 0", shape)
		}
	}
	return nil
}

var shapeHint = [...]string{Vector: "[p]", Signal: "[C, L]", Image: "[C, H, W]", Sequence: "[T, F]"}

// ModalityIndex returns the index in Modalities of the modality named name,
// or -1.
func (d *Dataset) ModalityIndex(name string) int {
	for i := range d.Modalities {
		if d.Modalities[i].Name == name {
			return i
		}
	}
	return -1
}

// Modality returns the modality named name, or nil. The result points into
// d.Modalities.
func (d *Dataset) Modality(name string) *Modality {
	if i := d.ModalityIndex(name); i >= 0 {
		return &d.Modalities[i]
	}
	return nil
}

// ModalityNames returns the names of the modalities in order.
func (d *Dataset) ModalityNames() []string {
	names := make([]string, len(d.Modalities))
	for i := range d.Modalities {
		names[i] = d.Modalities[i].Name
	}
	return names
}

// ResponseIndex returns the column of Y named name, or -1.
func (d *Dataset) ResponseIndex(name string) int {
	return slices.Index(d.ResponseNames, name)
}

// Response returns a copy of response column j, one value per sample.
func (d *Dataset) Response(j int) []float32 {
	r := len(d.ResponseNames)
	if j < 0 || j >= r {
		panic(fmt.Sprintf("data: response column %d out of range [0, %d)", j, r))
	}
	col := make([]float32, d.n)
	for i := range col {
		col[i] = d.Y[i*r+j]
	}
	return col
}

// Clone returns a deep copy of d.
func (d *Dataset) Clone() *Dataset {
	c := &Dataset{
		Modalities:    make([]Modality, len(d.Modalities)),
		ResponseNames: slices.Clone(d.ResponseNames),
		Y:             slices.Clone(d.Y),
		IDs:           slices.Clone(d.IDs),
		Roles:         slices.Clone(d.Roles),
		n:             d.n,
	}
	for i := range d.Modalities {
		c.Modalities[i] = d.Modalities[i].clone()
	}
	return c
}

// Subset returns a new dataset holding copies of the samples idx, in that
// order, with their IDs and roles. An index may repeat (a bootstrap
// sample; the subset then has no IDs, which must be distinct). Subset
// panics if an index is out of range.
func (d *Dataset) Subset(idx []int) *Dataset {
	for _, i := range idx {
		if i < 0 || i >= d.n {
			panic(fmt.Sprintf("data: Subset index %d out of range [0, %d)", i, d.n))
		}
	}
	s := &Dataset{
		Modalities:    make([]Modality, len(d.Modalities)),
		ResponseNames: slices.Clone(d.ResponseNames),
		Y:             make([]float32, len(idx)*len(d.ResponseNames)),
		n:             len(idx),
	}
	for k := range d.Modalities {
		m := &d.Modalities[k]
		sm := Modality{
			Name:  m.Name,
			Kind:  m.Kind,
			Shape: slices.Clone(m.Shape),
			Data:  make([]float32, len(idx)*m.SampleSize()),
		}
		m.Gather(sm.Data, idx)
		if m.Present != nil {
			sm.Present = make([]bool, len(idx))
			m.GatherPresent(sm.Present, idx)
		}
		s.Modalities[k] = sm
	}
	d.GatherY(s.Y, idx)
	if d.IDs != nil {
		s.IDs = make([]string, len(idx))
		seen := make(map[int]bool, len(idx))
		for k, i := range idx {
			if seen[i] {
				s.IDs = nil
				break
			}
			seen[i] = true
			s.IDs[k] = d.IDs[i]
		}
	}
	if d.Roles != nil {
		s.Roles = make([]Role, len(idx))
		for k, i := range idx {
			s.Roles[k] = d.Roles[i]
		}
	}
	return s
}

// ResponseObserved reports whether sample i has a value for response j
// (a missing response is NaN in Y).
func (d *Dataset) ResponseObserved(i, j int) bool {
	v := d.Y[i*len(d.ResponseNames)+j]
	return v == v
}

// Labelled returns, in order, the samples that have at least one observed
// response: those that training and evaluation can use. A dataset without
// responses has none.
func (d *Dataset) Labelled() []int {
	q := len(d.ResponseNames)
	out := make([]int, 0, d.n)
	for i := range d.n {
		for _, v := range d.Y[i*q : (i+1)*q] {
			if v == v {
				out = append(out, i)
				break
			}
		}
	}
	return out
}

// MissingResponses returns, per response, how many samples lack it.
func (d *Dataset) MissingResponses() []int {
	q := len(d.ResponseNames)
	out := make([]int, q)
	for i, v := range d.Y {
		if v != v {
			out[i%q]++
		}
	}
	return out
}

// SelectResponses returns a dataset with the same samples (sharing the
// modalities' values, IDs and roles with d) and only the named responses,
// in that order: one task of a multi-response dataset.
func (d *Dataset) SelectResponses(names ...string) (*Dataset, error) {
	q := len(d.ResponseNames)
	cols := make([]int, len(names))
	for k, name := range names {
		if cols[k] = d.ResponseIndex(name); cols[k] < 0 {
			return nil, fmt.Errorf("no response %q; the dataset has %s", name, listNames(d.ResponseNames))
		}
	}
	y := make([]float32, d.n*len(names))
	for i := range d.n {
		for k, j := range cols {
			y[i*len(names)+k] = d.Y[i*q+j]
		}
	}
	s := &Dataset{Modalities: slices.Clone(d.Modalities), ResponseNames: slices.Clone(names), Y: y, IDs: d.IDs, Roles: d.Roles, n: d.n}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	return s, nil
}

// RemoveModality deletes the modality named name from d.
func (d *Dataset) RemoveModality(name string) error {
	i := d.ModalityIndex(name)
	if i < 0 {
		return d.unknownModality(name)
	}
	d.Modalities = slices.Delete(d.Modalities, i, i+1)
	return nil
}

// MarkAbsent marks every sample of d as lacking the modality named name and
// zeroes its values. The modality keeps its place, name and shape, so a
// client that lacks it still shares the model layout of the others.
func (d *Dataset) MarkAbsent(name string) error {
	m := d.Modality(name)
	if m == nil {
		return d.unknownModality(name)
	}
	m.Present = make([]bool, d.n)
	clear(m.Data)
	return nil
}

func (d *Dataset) unknownModality(name string) error {
	return fmt.Errorf("no modality %q; the dataset has %s", name, listNames(d.ModalityNames()))
}

// listNames formats names for an error message, eliding the middle of a
// long list: "a, b, c" or "w1100, w1102, …, w2498 (700 names)".
func listNames(names []string) string {
	const head = 6
	switch {
	case len(names) == 0:
		return "none"
	case len(names) <= head+2:
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%s, …, %s (%d names)", strings.Join(names[:head], ", "), names[len(names)-1], len(names))
}
