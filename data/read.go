package data

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Spec describes a dataset stored as row-aligned CSV files: one file per
// modality and one for the responses, row i of every file being the same
// sample. Each file has one header line of distinct column names and no
// index column.
type Spec struct {
	// Modalities lists the inputs, in the order the dataset keeps them.
	Modalities []ModalitySpec `json:"modalities" yaml:"modalities"`
	// ResponseFile is the CSV file holding the responses; empty for a
	// dataset without responses.
	ResponseFile string `json:"response_file,omitempty" yaml:"response_file"`
	// Responses names the response columns to read; nil means every column
	// of ResponseFile.
	Responses []string `json:"responses,omitempty" yaml:"responses"`
}

// ModalitySpec describes one modality stored in a CSV file.
type ModalitySpec struct {
	// Name names the modality.
	Name string `json:"name" yaml:"name"`
	// File is the CSV file, a path within the fs.FS given to Read.
	File string `json:"file" yaml:"file"`
	// Kind is the modality's kind.
	Kind Kind `json:"kind" yaml:"kind"`
	// Shape is the per-sample shape. It may be omitted for a Vector,
	// taken as [p], and for a Signal, taken as [1, p] (one channel), where p
	// is the number of columns read.
	Shape []int `json:"shape,omitempty" yaml:"shape"`
	// Columns names the columns to read, in this order; nil means all.
	Columns []string `json:"columns,omitempty" yaml:"columns"`
}

// Read reads the dataset that spec describes from fsys.
//
// Values are parsed as float32. A value that is empty or NaN is missing:
// a modality row whose selected values are all missing marks that sample
// absent for the modality, while a partly missing modality row or a missing
// response is an error. Errors about a file's contents are *FormatError
// values naming the file, line and column.
func Read(fsys fs.FS, spec Spec) (*Dataset, error) {
	if err := spec.check(); err != nil {
		return nil, err
	}
	n, first := -1, ""
	sameRows := func(t *table) error {
		if n < 0 {
			n, first = t.rows, t.file
			return nil
		}
		if t.rows != n {
			return fmt.Errorf("%s has %d data rows but %s has %d; the files must be row-aligned",
				t.file, t.rows, first, n)
		}
		return nil
	}

	mods := make([]Modality, len(spec.Modalities))
	for i, ms := range spec.Modalities {
		t, err := readTable(fsys, ms.File, ms.Columns, true)
		if err != nil {
			return nil, fmt.Errorf("modality %q: %w", ms.Name, err)
		}
		if err := sameRows(t); err != nil {
			return nil, err
		}
		shape := ms.Shape
		if shape == nil {
			switch ms.Kind {
			case Vector:
				shape = []int{len(t.cols)}
			case Signal:
				shape = []int{1, len(t.cols)}
			}
		}
		m := Modality{Name: ms.Name, Kind: ms.Kind, Shape: shape, Data: t.data, Present: t.missing}
		if m.SampleSize() != len(t.cols) {
			return nil, fmt.Errorf("modality %q: shape %v holds %d values per sample but %s gives %d columns",
				ms.Name, shape, m.SampleSize(), ms.File, len(t.cols))
		}
		for j, absent := range m.Present {
			m.Present[j] = !absent
		}
		mods[i] = m
	}

	var y []float32
	var names []string
	if spec.ResponseFile != "" {
		t, err := readTable(fsys, spec.ResponseFile, spec.Responses, false)
		if err != nil {
			return nil, fmt.Errorf("responses: %w", err)
		}
		if err := sameRows(t); err != nil {
			return nil, err
		}
		y = t.data
		names = make([]string, len(t.cols))
		for k, c := range t.cols {
			names[k] = t.header[c]
		}
	}
	return New(n, mods, names, y)
}

// check validates a Spec before any file is opened.
func (s *Spec) check() error {
	if len(s.Modalities) == 0 {
		return errors.New("data spec: no modalities")
	}
	seen := make(map[string]bool)
	for i, m := range s.Modalities {
		switch {
		case m.Name == "":
			return fmt.Errorf("data spec: modality %d has no name", i)
		case seen[m.Name]:
			return fmt.Errorf("data spec: two modalities are named %q", m.Name)
		case m.File == "":
			return fmt.Errorf("data spec: modality %q has no file", m.Name)
		}
		seen[m.Name] = true
		if m.Shape == nil && (m.Kind == Image || m.Kind == Sequence) {
			return fmt.Errorf("data spec: modality %q of kind %v needs a shape %s", m.Name, m.Kind, shapeHint[m.Kind])
		}
		if m.Shape != nil {
			if err := checkShape(m.Kind, m.Shape); err != nil {
				return fmt.Errorf("data spec: modality %q: %w", m.Name, err)
			}
		} else if !m.Kind.valid() {
			return fmt.Errorf("data spec: modality %q: invalid kind %d", m.Name, int(m.Kind))
		}
	}
	if s.ResponseFile == "" && s.Responses != nil {
		return errors.New("data spec: response columns named but no response file")
	}
	return nil
}

// ReadSplit reads a column of split labels, one per sample, from file and
// returns the 0-based indices of the rows labelled "train" and of those
// labelled "test" (ignoring case), each ascending. Any other label is an
// error naming its line. The caller should check that the split covers the
// dataset it is applied to: len(train)+len(test) == ds.Len().
func ReadSplit(fsys fs.FS, file, column string) (train, test []int, err error) {
	labels, lines, col, err := readLabels(fsys, file, column)
	if err != nil {
		return nil, nil, err
	}
	for i, l := range labels {
		switch {
		case strings.EqualFold(l, "train"):
			train = append(train, i)
		case strings.EqualFold(l, "test"):
			test = append(test, i)
		default:
			return nil, nil, &FormatError{File: file, Line: lines[i], Column: col, Header: column,
				Err: fmt.Errorf("split label %q: want train or test", l)}
		}
	}
	if len(labels) == 0 {
		return nil, nil, &FormatError{File: file, Err: errors.New("no data rows after the header")}
	}
	return train, test, nil
}
