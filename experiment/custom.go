package experiment

import (
	"encoding/csv"
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl"
)

// Study describes an experiment on a user's data: the dataset in the CSV
// layout of fdrmfl's configuration (its data section) and how to repeat it.
// Each response of the data is studied as its own task.
type Study struct {
	Name         string   `yaml:"name" json:"name"`
	Splits       []string `yaml:"splits" json:"splits"`               // default iid and response
	Seeds        int      `yaml:"seeds" json:"seeds"`                 // default 10
	Clients      int      `yaml:"clients" json:"clients"`             // default 3
	TestFraction float64  `yaml:"test_fraction" json:"test_fraction"` // default 0.2
	// SplitFile, if set, is a fixed split: a CSV file (in the data's
	// folder) with a header line and, per data row in the data files'
	// order, the row's set — train, validation or test — in the column
	// SplitColumn (default: the file's only column). Every repetition
	// keeps it; TestFraction is then not used.
	SplitFile   string `yaml:"split_file" json:"split_file,omitempty"`
	SplitColumn string `yaml:"split_column" json:"split_column,omitempty"`
}

// Custom returns the Spec of a study of the data cfg describes, with cfg's
// model and training settings for FDRMFL beside the author's (as for the
// real NIR data).
func Custom(cfg fdrmfl.Config, st Study) (Spec, error) {
	if cfg.Data.Source != "csv" {
		return Spec{}, fmt.Errorf("study: data.source must be csv")
	}
	if cfg.IsLinear() {
		return Spec{}, fmt.Errorf("model.kind: %s: the study trains the %s network and compares it with baselines that include federated PLS and ridge; fit a linear model with fdrmfl simulate", cfg.Model.Kind, fdrmfl.KindFDRMFL)
	}
	if st.Name == "" {
		st.Name = "custom"
	}
	if len(st.Splits) == 0 {
		st.Splits = []string{"iid", "response"}
	}
	for _, s := range st.Splits {
		if s != "iid" && s != "response" {
			return Spec{}, fmt.Errorf("study.splits: %q is not \"iid\" or \"response\"", s)
		}
	}
	if st.Seeds == 0 {
		st.Seeds = 10
	}
	if st.Clients == 0 {
		st.Clients = 3
	}
	if st.TestFraction == 0 {
		st.TestFraction = 0.2
	}
	base := realData(st.Name, "Study of "+st.Name, st.TestFraction, 15, nil)
	base.Splits, base.Seeds, base.Clients = st.Splits, st.Seeds, st.Clients
	ours := cfg
	ours.Data = fdrmfl.Data{Source: "csv"}
	if ours.Federation.Rounds == 0 {
		ours.Federation.Rounds = base.FDRMFL.Federation.Rounds
	}
	if ours.Model.Features == 0 {
		ours.Model = base.FDRMFL.Model
	}
	if ours.Train.Epochs == 0 {
		ours.Train = base.FDRMFL.Train
	}
	base.FDRMFL = ours
	base.Preprocess = cfg.Data.Preprocess
	if st.SplitFile != "" && cfg.Data.Rows != "" {
		return Spec{}, fmt.Errorf("study.split_file: give it or data.rows, not both")
	}
	base.Tasks = func(fsys fs.FS) ([]Task, error) {
		ds, err := fdrmfl.LoadData(cfg, fsys)
		if err != nil {
			return nil, err
		}
		var sets []string
		if st.SplitFile != "" {
			if sets, err = ReadSplit(fsys, st.SplitFile, st.SplitColumn, ds.Len()); err != nil {
				return nil, fmt.Errorf("study.split_file: %w", err)
			}
		}
		var out []Task
		for _, r := range ds.ResponseNames {
			t, err := only(ds, r)
			if err != nil {
				return nil, err
			}
			out = append(out, Task{Name: r, Data: t, Sets: sets})
		}
		return out, nil
	}
	if len(ours.Model.Modalities) > 0 {
		base.Encoder = nil // the configuration's own encoders
	}
	return base, nil
}

// ReadSplit reads a fixed split from the CSV file name in fsys: a header
// line, then one row per data row holding, in column (default: the only
// column), the row's set — train, validation or test (val is read as
// validation). It must have rows data rows.
func ReadSplit(fsys fs.FS, name, column string, rows int) ([]string, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.TrimLeadingSpace = true
	recs, err := r.ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty, want a header line", name)
	}
	col := 0
	switch {
	case column != "":
		if col = slices.Index(recs[0], column); col < 0 {
			return nil, fmt.Errorf("%s: no column %q (the header has %s)", name, column, strings.Join(recs[0], ", "))
		}
	case len(recs[0]) != 1:
		return nil, fmt.Errorf("%s: %d columns; name the one with the sets (study.split_column)", name, len(recs[0]))
	}
	if len(recs)-1 != rows {
		return nil, fmt.Errorf("%s: %d rows, the data have %d", name, len(recs)-1, rows)
	}
	out := make([]string, rows)
	for i, rec := range recs[1:] {
		v := strings.ToLower(strings.TrimSpace(rec[col]))
		if v == "val" {
			v = "validation"
		}
		switch v {
		case "train", "validation", "test":
		default:
			return nil, fmt.Errorf("%s line %d: set %q: want train, validation or test", name, i+2, rec[col])
		}
		out[i] = v
	}
	return out, nil
}
