package data

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
)

// Mode says how a Standardizer scales a modality or the responses. The zero
// Mode is PerFeature.
type Mode int

const (
	// PerFeature z-scores every feature (every position of the per-sample
	// shape, or every response column) with its own mean and standard
	// deviation.
	PerFeature Mode = iota
	// Global z-scores all values of a modality with one mean and one
	// standard deviation, which keeps the shape of a spectrum; the author's
	// code scaled spectra this way.
	Global
	// None leaves the values as they are.
	None
)

var modeNames = [...]string{PerFeature: "per-feature", Global: "global", None: "none"}

// String returns the mode's name: "per-feature", "global" or "none".
func (m Mode) String() string {
	if m >= PerFeature && m <= None {
		return modeNames[m]
	}
	return fmt.Sprintf("Mode(%d)", int(m))
}

// ParseMode returns the Mode named s, ignoring case.
func ParseMode(s string) (Mode, error) {
	for m, name := range modeNames {
		if strings.EqualFold(s, name) {
			return Mode(m), nil
		}
	}
	return 0, fmt.Errorf("unknown standardisation mode %q: want per-feature, global or none", s)
}

// MarshalText encodes the mode as its name.
func (m Mode) MarshalText() ([]byte, error) {
	if m < PerFeature || m > None {
		return nil, fmt.Errorf("invalid standardisation mode %d", int(m))
	}
	return []byte(modeNames[m]), nil
}

// UnmarshalText decodes a mode name as ParseMode does.
func (m *Mode) UnmarshalText(b []byte) error {
	v, err := ParseMode(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// StandardizeOptions chooses a Mode per modality and for the responses. The
// zero value z-scores every feature and every response.
type StandardizeOptions struct {
	// Default is the mode of every modality not named in Modes.
	Default Mode
	// Modes overrides Default for the modalities it names.
	Modes map[string]Mode
	// Y is the mode of the responses.
	Y Mode
}

// Scaling is the fitted transform of one modality, or of the responses:
// x ↦ (x − Mean[j]) / Std[j]. With PerFeature, Mean and Std have one entry
// per feature; with Global one entry; with None none.
type Scaling struct {
	Name string    `json:"name"`           // the modality's name, or "y"
	Mode Mode      `json:"mode"`           // how the values are scaled
	Mean []float64 `json:"mean,omitempty"` // subtracted
	Std  []float64 `json:"std,omitempty"`  // divided by after; never 0
}

// Standardizer z-scores datasets with statistics fitted on training data,
// so that the test data never inform the scaling. Its fields are plain data
// with JSON tags, so a model's manifest can store it.
type Standardizer struct {
	// Modalities holds one Scaling per modality of the training data.
	Modalities []Scaling `json:"modalities"`
	// ResponseNames are the response columns Y applies to.
	ResponseNames []string `json:"response_names,omitempty"`
	// Y scales the responses.
	Y Scaling `json:"y"`
}

// FitStandardizer fits a Standardizer to ds, which should hold the training
// samples only. opt may be nil for the defaults.
//
// Means and standard deviations are computed in float64 over the samples
// that have the modality; the standard deviation divides by the count, not
// the count − 1, as scikit-learn's StandardScaler does. A feature with
// standard deviation 0 gets Std 1, so it is centred but not scaled, never
// divided by zero. A modality that no sample has gets Mean 0 and Std 1;
// missing responses (NaN) are left out of their column's statistics.
func FitStandardizer(ds *Dataset, opt *StandardizeOptions) (*Standardizer, error) {
	if opt == nil {
		opt = &StandardizeOptions{}
	}
	for name := range opt.Modes {
		if ds.ModalityIndex(name) < 0 {
			return nil, fmt.Errorf("standardize: %w", ds.unknownModality(name))
		}
	}
	s := &Standardizer{
		Modalities:    make([]Scaling, len(ds.Modalities)),
		ResponseNames: slices.Clone(ds.ResponseNames),
	}
	for i := range ds.Modalities {
		m := &ds.Modalities[i]
		mode, ok := opt.Modes[m.Name]
		if !ok {
			mode = opt.Default
		}
		sc, err := fitScaling(m.Name, mode, m.Data, m.SampleSize(), m.Present)
		if err != nil {
			return nil, err
		}
		s.Modalities[i] = sc
	}
	sc, err := fitScaling("y", opt.Y, ds.Y, len(ds.ResponseNames), nil)
	if err != nil {
		return nil, err
	}
	s.Y = sc
	return s, nil
}

// fitScaling fits mode to the rows of x (width values each) for which
// present is nil or true.
func fitScaling(name string, mode Mode, x []float32, width int, present []bool) (Scaling, error) {
	sc := Scaling{Name: name, Mode: mode}
	var groups int // statistics computed over width/groups-wide blocks
	switch mode {
	case None:
		return sc, nil
	case PerFeature:
		groups = width
	case Global:
		groups = 1
	default:
		return sc, fmt.Errorf("standardize %q: invalid mode %d", name, int(mode))
	}
	if width == 0 {
		return sc, nil
	}
	sum := make([]float64, groups)
	count := make([]float64, groups) // values per group; a NaN (a missing response) is skipped
	rows := len(x) / width
	for i := range rows {
		if present != nil && !present[i] {
			continue
		}
		for j, v := range x[i*width : (i+1)*width] {
			if v != v {
				continue
			}
			sum[j%groups] += float64(v)
			count[j%groups]++
		}
	}
	sc.Mean, sc.Std = sum, make([]float64, groups)
	for j := range sc.Mean {
		if count[j] > 0 {
			sc.Mean[j] /= count[j]
		}
	}
	for i := range rows {
		if present != nil && !present[i] {
			continue
		}
		for j, v := range x[i*width : (i+1)*width] {
			if v != v {
				continue
			}
			d := float64(v) - sc.Mean[j%groups]
			sc.Std[j%groups] += d * d
		}
	}
	for j, ss := range sc.Std {
		sd := math.Sqrt(ss / count[j])
		if !(sd > 0) { // constant, or no value: centre only
			sd = 1
		}
		sc.Std[j] = sd
	}
	return sc, nil
}

// Apply returns a standardised copy of ds. Every modality of ds must have a
// Scaling of the same size in s (matched by name); absent samples stay zero.
// The responses are scaled when ds has them, and must then have the names
// s was fitted with.
func (s *Standardizer) Apply(ds *Dataset) (*Dataset, error) {
	out := ds.Clone()
	for i := range out.Modalities {
		m := &out.Modalities[i]
		sc := s.scaling(m.Name)
		if sc == nil {
			return nil, fmt.Errorf("standardize: no scaling fitted for modality %q", m.Name)
		}
		if err := sc.apply(m.Data, m.SampleSize(), m.Present); err != nil {
			return nil, err
		}
	}
	if out.NumResponses() > 0 {
		if !slices.Equal(out.ResponseNames, s.ResponseNames) {
			return nil, fmt.Errorf("standardize: responses %v, fitted for %v", out.ResponseNames, s.ResponseNames)
		}
		if err := s.Y.apply(out.Y, len(out.ResponseNames), nil); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// InverseY maps standardised responses back to their original units, in
// place: y holds rows of len(s.ResponseNames) values, such as a model's
// predictions. It panics if len(y) is not a multiple of that width.
func (s *Standardizer) InverseY(y []float32) {
	r := len(s.ResponseNames)
	if r == 0 || len(y)%r != 0 {
		panic(fmt.Sprintf("data: InverseY of %d values with %d responses", len(y), r))
	}
	if s.Y.Mode == None {
		return
	}
	g := len(s.Y.Mean)
	for i, v := range y {
		j := (i % r) % g
		y[i] = float32(float64(v)*s.Y.Std[j] + s.Y.Mean[j])
	}
}

func (s *Standardizer) scaling(name string) *Scaling {
	for i := range s.Modalities {
		if s.Modalities[i].Name == name {
			return &s.Modalities[i]
		}
	}
	return nil
}

// apply scales the present rows of x, width values each, in place.
func (sc *Scaling) apply(x []float32, width int, present []bool) error {
	if sc.Mode == None {
		return nil
	}
	g := len(sc.Mean)
	switch {
	case len(sc.Std) != g:
		return fmt.Errorf("standardize %q: %d means but %d standard deviations", sc.Name, g, len(sc.Std))
	case sc.Mode == PerFeature && g != width, sc.Mode == Global && g != 1:
		return fmt.Errorf("standardize %q: fitted %v for %d values, data have %d per sample",
			sc.Name, sc.Mode, g, width)
	case sc.Mode != PerFeature && sc.Mode != Global:
		return fmt.Errorf("standardize %q: invalid mode %d", sc.Name, int(sc.Mode))
	}
	if width == 0 {
		return nil
	}
	inv := make([]float64, g)
	for j, sd := range sc.Std {
		if !(sd > 0) {
			return errors.New("standardize " + sc.Name + ": standard deviation ≤ 0")
		}
		inv[j] = 1 / sd
	}
	for i := range len(x) / width {
		if present != nil && !present[i] {
			continue
		}
		row := x[i*width : (i+1)*width]
		for j, v := range row {
			k := j % g
			row[j] = float32((float64(v) - sc.Mean[k]) * inv[k])
		}
	}
	return nil
}
