package experiment

import (
	"fmt"
	"io/fs"

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
}

// Custom returns the Spec of a study of the data cfg describes, with cfg's
// model and training settings for FDRMFL beside the author's (as for the
// real NIR data).
func Custom(cfg fdrmfl.Config, st Study) (Spec, error) {
	if cfg.Data.Source != "csv" {
		return Spec{}, fmt.Errorf("study: data.source must be csv")
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
	base.Tasks = func(fsys fs.FS) ([]Task, error) {
		ds, err := fdrmfl.LoadData(cfg, fsys)
		if err != nil {
			return nil, err
		}
		var out []Task
		for _, r := range ds.ResponseNames {
			t, err := only(ds, r)
			if err != nil {
				return nil, err
			}
			out = append(out, Task{Name: r, Data: t})
		}
		return out, nil
	}
	if len(ours.Model.Modalities) > 0 {
		base.Encoder = nil // the configuration's own encoders
	}
	return base, nil
}
