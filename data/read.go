package data

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"
)

// Spec describes a dataset stored as files: one per modality (a CSV file,
// or JCAMP-DX spectra) and one CSV file for the responses.
//
// Files with a column of sample IDs are joined by ID: the first
// modality's file lists the samples, in its order, and every other file
// must have a row for each of them (and none for an unknown sample).
// Files without IDs are row-aligned: row i of every file is the same
// sample. Each CSV file has one header line of distinct column names.
type Spec struct {
	// Modalities lists the inputs, in the order the dataset keeps them.
	Modalities []ModalitySpec `json:"modalities" yaml:"modalities"`
	// ResponseFile is the CSV file holding the responses; empty for a
	// dataset without responses.
	ResponseFile string `json:"response_file,omitempty" yaml:"response_file"`
	// Responses names the response columns to read; nil means every column
	// of ResponseFile but its ID column (and the split column, if the
	// split is in the same file).
	Responses []string `json:"responses,omitempty" yaml:"responses"`

	// Format is how every CSV file is written, unless a modality's own
	// Format or ResponseFormat says otherwise; empty fields are detected.
	Format `yaml:",inline"`
	// ResponseFormat overrides Format for the response file.
	ResponseFormat Format `json:"response_format,omitempty" yaml:"response_format,omitempty"`
	// Replicates says what to do with several rows of one sample ID in a
	// file (replicate scans): "" refuses them, "mean" averages them — the
	// present rows of a modality, the observed values of a response.
	Replicates string `json:"replicates,omitempty" yaml:"replicates,omitempty"`
	// MissingRows says what a sample that the first modality's file lists
	// but another file has no row for means: "" is an error naming the
	// sample; "absent" takes the modality as absent for it (a response
	// file without its row: its responses missing), as a row of empty
	// values would. A split file must always have the row.
	MissingRows string `json:"missing_rows,omitempty" yaml:"missing_rows,omitempty"`
	// Split, if set, reads a fixed split — train, validation or test for
	// each sample — that replaces the random one.
	Split *SplitSource `json:"split,omitempty" yaml:"split,omitempty"`
	// Rows keeps only these data rows (0-based, in this order) of the first
	// modality's source, before anything else is checked; nil keeps all.
	// Rows of the other files are picked by ID, or by row without IDs.
	Rows []int `json:"-" yaml:"-"`
}

// SplitSource is a column of split labels: train (or training,
// calibration, cal), validation (val, valid) or test (testing), one per
// sample, such as the official split of a competition data set.
type SplitSource struct {
	// File is the CSV file (default: the response file).
	File string `json:"file,omitempty" yaml:"file,omitempty"`
	// Column names the column of labels.
	Column string `json:"column" yaml:"column"`
	// Format overrides the data's Format for File.
	Format `yaml:",inline"`
}

// ModalitySpec describes one modality stored in a CSV file or in JCAMP-DX
// files.
type ModalitySpec struct {
	// Name names the modality.
	Name string `json:"name" yaml:"name"`
	// File is the CSV file, a path within the fs.FS given to Read.
	File string `json:"file,omitempty" yaml:"file,omitempty"`
	// Kind is the modality's kind.
	Kind Kind `json:"kind" yaml:"kind"`
	// Shape is the per-sample shape. It may be omitted (or empty) for a
	// Vector, taken as [p], and for a Signal, taken as [1, p] (one
	// channel), where p is the number of columns read.
	Shape []int `json:"shape,omitempty" yaml:"shape"`
	// Columns names the columns to read, in this order; nil (or empty)
	// means all but the ID column.
	Columns []string `json:"columns,omitempty" yaml:"columns"`

	// How the source is read (the data's settings where these are empty).

	// Format overrides the data's delimiter, decimal separator and ID
	// column for File.
	Format `yaml:",inline"`
	// JCAMP, instead of File, reads the modality from JCAMP-DX files: a
	// list of files, folders (every .jdx, .dx, .jcamp and .jcm file in
	// them) or patterns such as "nir/*.jdx", one spectrum per sample
	// (a LINK file holds several), all on one X axis. Samples are known by
	// ID (JCAMPID), so the other files need ID columns.
	JCAMP []string `json:"jcamp,omitempty" yaml:"jcamp,omitempty"`
	// JCAMPID says where a spectrum's sample ID comes from: "title" (the
	// default: its ##TITLE) or "file" (its file name without the
	// extension; one spectrum per file).
	JCAMPID string `json:"jcamp_id,omitempty" yaml:"jcamp_id,omitempty"`
}

// Read reads the dataset that spec describes from fsys, as Load does,
// without its report.
func Read(fsys fs.FS, spec Spec) (*Dataset, error) {
	ds, _, err := Load(fsys, spec)
	return ds, err
}

// Load reads the dataset that spec describes from fsys and reports what it
// found beyond the numbers: each file's format, the replicates it
// averaged, the modality rows it took as absent and the responses that are
// missing, each with its file and line.
//
// Values are parsed as float32. A value that is empty, NA, N/A, #N/A, NaN
// or ? is missing: a modality row whose selected values are all missing
// marks that sample absent for the modality (a partly missing modality row
// is an error), and a missing response is NaN in the dataset's Y, which
// training and evaluation skip. Errors about a file's contents are
// *FormatError values naming the file, line and column.
func Load(fsys fs.FS, spec Spec) (*Dataset, *Report, error) {
	if err := spec.check(); err != nil {
		return nil, nil, err
	}
	rep := &Report{}
	mods := make([]*table, len(spec.Modalities))
	for i, ms := range spec.Modalities {
		var t *table
		var err error
		if len(ms.JCAMP) > 0 {
			t, err = readJCAMP(fsys, ms)
		} else {
			t, err = readTable(fsys, ms.File, tableOpts{kind: modalityTable, format: ms.Format.Or(spec.Format), columns: ms.Columns})
		}
		if err != nil {
			return nil, nil, fmt.Errorf("modality %q: %w", ms.Name, err)
		}
		rep.addFile(t, "modality "+ms.Name)
		mods[i] = t
	}
	var resp, split *table
	var err error
	splitFile := ""
	if spec.Split != nil {
		splitFile = spec.Split.File
		if splitFile == "" {
			splitFile = spec.ResponseFile
		}
	}
	if spec.ResponseFile != "" {
		var exclude []string
		if splitFile == spec.ResponseFile {
			exclude = []string{spec.Split.Column}
		}
		resp, err = readTable(fsys, spec.ResponseFile, tableOpts{kind: responseTable, format: spec.ResponseFormat.Or(spec.Format), columns: spec.Responses, exclude: exclude})
		if err != nil {
			return nil, nil, fmt.Errorf("responses: %w", err)
		}
		rep.addFile(resp, "responses")
	}
	if spec.Split != nil {
		def := spec.Format
		if splitFile == spec.ResponseFile {
			def = spec.ResponseFormat.Or(spec.Format)
		}
		split, err = readTable(fsys, splitFile, tableOpts{kind: labelTable, format: spec.Split.Format.Or(def), columns: []string{spec.Split.Column}})
		if err != nil {
			return nil, nil, fmt.Errorf("split: %w", err)
		}
		rep.addFile(split, "split")
	}
	ds, err := assemble(spec, mods, resp, split, rep)
	if err != nil {
		return nil, nil, err
	}
	return ds, rep, nil
}

// check validates a Spec before any file is opened.
func (s *Spec) check() error {
	if len(s.Modalities) == 0 {
		return errors.New("data spec: no modalities")
	}
	if err := s.Format.Check(); err != nil {
		return fmt.Errorf("data spec: %w", err)
	}
	if err := s.ResponseFormat.Check(); err != nil {
		return fmt.Errorf("data spec: response_format.%w", err)
	}
	switch s.Replicates {
	case "", "mean":
	default:
		return fmt.Errorf("data spec: replicates: %q is not \"mean\" (or empty: replicates are an error)", s.Replicates)
	}
	switch s.MissingRows {
	case "", "absent":
	default:
		return fmt.Errorf("data spec: missing_rows: %q is not \"absent\" (or empty: a missing row is an error)", s.MissingRows)
	}
	if sp := s.Split; sp != nil {
		if sp.Column == "" {
			return errors.New("data spec: split: no column named")
		}
		if sp.File == "" && s.ResponseFile == "" {
			return errors.New("data spec: split: no file, and no response file to take it from")
		}
		if err := sp.Format.Check(); err != nil {
			return fmt.Errorf("data spec: split.%w", err)
		}
	}
	seen := make(map[string]bool)
	for i, m := range s.Modalities {
		switch {
		case m.Name == "":
			return fmt.Errorf("data spec: modality %d has no name", i)
		case seen[m.Name]:
			return fmt.Errorf("data spec: two modalities are named %q", m.Name)
		case m.File == "" && len(m.JCAMP) == 0:
			return fmt.Errorf("data spec: modality %q has no file (or jcamp files)", m.Name)
		case m.File != "" && len(m.JCAMP) > 0:
			return fmt.Errorf("data spec: modality %q has both a file and jcamp files; give one", m.Name)
		}
		seen[m.Name] = true
		if err := m.Format.Check(); err != nil {
			return fmt.Errorf("data spec: modality %q: %w", m.Name, err)
		}
		if len(m.JCAMP) > 0 {
			switch {
			case m.Format != Format{}:
				return fmt.Errorf("data spec: modality %q: delimiter, decimal and id_column do not apply to JCAMP-DX files (see jcamp_id)", m.Name)
			case len(m.Columns) > 0:
				return fmt.Errorf("data spec: modality %q: columns do not apply to JCAMP-DX files", m.Name)
			}
			switch m.JCAMPID {
			case "", "title", "file":
			default:
				return fmt.Errorf("data spec: modality %q: jcamp_id: %q is not \"title\" or \"file\"", m.Name, m.JCAMPID)
			}
		} else if m.JCAMPID != "" {
			return fmt.Errorf("data spec: modality %q: jcamp_id applies to JCAMP-DX files only", m.Name)
		}
		if len(m.Shape) == 0 && (m.Kind == Image || m.Kind == Sequence) {
			return fmt.Errorf("data spec: modality %q of kind %v needs a shape %s", m.Name, m.Kind, shapeHint[m.Kind])
		}
		if len(m.Shape) > 0 {
			if err := checkShape(m.Kind, m.Shape); err != nil {
				return fmt.Errorf("data spec: modality %q: %w", m.Name, err)
			}
		} else if !m.Kind.valid() {
			return fmt.Errorf("data spec: modality %q: invalid kind %d", m.Name, int(m.Kind))
		}
	}
	if s.ResponseFile == "" && len(s.Responses) > 0 {
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
	t, err := readTable(fsys, file, tableOpts{kind: labelTable, format: Format{IDColumn: "none"}, columns: []string{column}})
	if err != nil {
		return nil, nil, err
	}
	for i, l := range t.labels {
		if err := t.bad[i]; err != nil {
			return nil, nil, err
		}
		switch {
		case strings.EqualFold(l, "train"):
			train = append(train, i)
		case strings.EqualFold(l, "test"):
			test = append(test, i)
		default:
			return nil, nil, &FormatError{File: file, Line: t.lines[i], Column: t.cols[0] + 1, Header: column,
				Err: fmt.Errorf("split label %q: want train or test", l)}
		}
	}
	return train, test, nil
}
