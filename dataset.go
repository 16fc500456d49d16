package fdrmfl

import (
	"fmt"
	"io/fs"
	"math/rand/v2"
	"strconv"
	"strings"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/model"
)

// LoadData returns every sample the configuration names: the simulated
// data, or the files read from fsys (the configuration's data root),
// keeping only data.rows if given. ReadData also returns what the data
// layer found in the files.
func LoadData(cfg Config, fsys fs.FS) (*data.Dataset, error) {
	ds, _, err := ReadData(cfg, fsys)
	return ds, err
}

// ReadData returns every sample the configuration names, as LoadData does,
// with the report of reading its files — their formats, replicates
// averaged, absent modality rows and missing responses, each with its file
// and line — for the caller to log (nil for simulated data and presets).
// For files, data.rows is applied before anything else is checked, so that
// a client reads only its own share.
func ReadData(cfg Config, fsys fs.FS) (*data.Dataset, *data.Report, error) {
	d := cfg.Data
	if d.Source == "csv" && d.Preset == "" {
		if fsys == nil {
			return nil, nil, fmt.Errorf("data: source csv needs a folder to read from")
		}
		if len(d.Modalities) == 0 {
			return nil, nil, fmt.Errorf("data: source csv needs modalities (or a preset: %s)", strings.Join(presets, ", "))
		}
		rows, err := parseRows(d.Rows, -1)
		if err != nil {
			return nil, nil, fmt.Errorf("data.rows: %w", err)
		}
		ds, rep, err := data.Load(fsys, d.spec(rows))
		if err != nil {
			return nil, nil, err
		}
		return ds, rep, nil
	}
	ds, err := loadData(cfg, fsys)
	if err != nil || cfg.Data.Rows == "" {
		return ds, nil, err
	}
	rows, err := parseRows(cfg.Data.Rows, ds.Len())
	if err != nil {
		return nil, nil, fmt.Errorf("data.rows: %w", err)
	}
	return ds.Subset(rows), nil, nil
}

// loadData returns simulated data, or a preset's.
func loadData(cfg Config, fsys fs.FS) (*data.Dataset, error) {
	d := cfg.Data
	if d.Source == "simulation" {
		return data.Simulate(d.Function, d.Samples, rand.New(rand.NewPCG(seed.For(cfg.Seed, seed.Data), 0)))
	}
	if fsys == nil {
		return nil, fmt.Errorf("data: source csv needs a folder to read from")
	}
	return loadPreset(d.Preset, fsys)
}

// parseRows turns 1-based inclusive row ranges ("1-27", "5", "1-20,41-47")
// into 0-based indices, in order, checking them against n rows (n < 0:
// syntax only). Ranges must not overlap.
func parseRows(spec string, n int) ([]int, error) {
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	var rows []int
	seen := map[int]bool{}
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		a, b, isRange := strings.Cut(part, "-")
		from, err1 := strconv.Atoi(strings.TrimSpace(a))
		to, err2 := from, error(nil)
		if isRange {
			to, err2 = strconv.Atoi(strings.TrimSpace(b))
		}
		if err1 != nil || err2 != nil || from < 1 || to < from {
			return nil, fmt.Errorf("%q is not a row or a range of rows like 1-27", part)
		}
		if n >= 0 && to > n {
			return nil, fmt.Errorf("row %d is past the data's %d rows", to, n)
		}
		for r := from; r <= to; r++ {
			if seen[r] {
				return nil, fmt.Errorf("row %d is selected twice", r)
			}
			seen[r] = true
			rows = append(rows, r-1)
		}
	}
	return rows, nil
}

func loadPreset(p string, fsys fs.FS) (*data.Dataset, error) {
	name, resp, _ := strings.Cut(p, "/")
	switch name {
	case "corn-p2":
		return data.CornP2(fsys)
	case "corn-p1":
		return data.CornP1(fsys, resp)
	case "tecator-p1":
		return data.TecatorP1(fsys, resp)
	case "tecator":
		return data.TecatorSpectra(fsys)
	}
	return nil, fmt.Errorf("data.preset: %q is not one of %s", p, strings.Join(presets, ", "))
}

// modelFor completes a network configuration for a dataset: with no
// modalities given it takes every modality of ds with an encoder chosen by
// its kind (vector: MLP; signal: 1-D convolutions; image: 2-D
// convolutions; sequence: BiLSTM); given modalities must exist in ds and
// take their shapes from it when they name none. Responses is set to the
// number of ds's responses.
func modelFor(mc model.Config, ds *data.Dataset) (model.Config, error) {
	if len(mc.Modalities) == 0 {
		for _, m := range ds.Modalities {
			mc.Modalities = append(mc.Modalities, model.Modality{Name: m.Name, Shape: append([]int(nil), m.Shape...), Encoder: defaultEncoder(m.Kind)})
		}
	} else {
		mods := make([]model.Modality, len(mc.Modalities))
		copy(mods, mc.Modalities)
		mc.Modalities = mods
		for i := range mc.Modalities {
			mm := &mc.Modalities[i]
			dm := ds.Modality(mm.Name)
			if dm == nil {
				return mc, fmt.Errorf("model.modalities[%d]: the data have no modality %q (they have %s)", i, mm.Name, strings.Join(ds.ModalityNames(), ", "))
			}
			if mm.Shape == nil {
				mm.Shape = append([]int(nil), dm.Shape...)
			} else if prod(mm.Shape) != dm.SampleSize() {
				return mc, fmt.Errorf("model.modalities[%d] (%s): shape %v does not fit the data's %v", i, mm.Name, mm.Shape, dm.Shape)
			}
			if mm.Encoder.Type == "" {
				enc := defaultEncoder(dm.Kind)
				enc.Hidden = mm.Encoder.Hidden
				if enc.Hidden == nil {
					enc.Hidden = defaultEncoder(dm.Kind).Hidden
				}
				mm.Encoder = enc
			}
		}
	}
	if len(ds.ResponseNames) == 0 {
		return mc, fmt.Errorf("data: no response to learn")
	}
	mc.Responses = len(ds.ResponseNames)
	return mc, nil
}

// defaultEncoder returns the encoder a modality of kind k gets when the
// configuration names none.
//
// Vectors and signals get a linear encoder (a dense map to the latent):
// on the NIR spectra it beat 1-D convolutions and hidden layers
// (docs/results.md); use type conv1d for signals with local structure.
func defaultEncoder(k data.Kind) model.Encoder {
	switch k {
	case data.Signal:
		return model.Encoder{Type: model.EncMLP, Hidden: []int{}}
	case data.Image:
		return model.Encoder{Type: model.EncConv2d, Channels: []int{16, 32}, Strides: []int{1, 2}, BatchNorm: true}
	case data.Sequence:
		return model.Encoder{Type: model.EncBiLSTM}
	}
	return model.Encoder{Type: model.EncMLP, Hidden: []int{}}
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
