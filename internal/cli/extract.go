package cli

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
)

// modalityFlags collects repeated --modality name=file.csv flags.
type modalityFlags []string

func (m *modalityFlags) String() string     { return strings.Join(*m, ",") }
func (m *modalityFlags) Set(v string) error { *m = append(*m, v); return nil }

func runExtract(ctx context.Context, e *env, args []string) error {
	return applyModel(e, args, "extract", "the features Z (z1…zd; a PLS model's X-scores) of every sample")
}

func runPredict(ctx context.Context, e *env, args []string) error {
	return applyModel(e, args, "predict", "the predicted responses of every sample")
}

func applyModel(e *env, args []string, name, what string) error {
	fs := newFlags(e, name, "--model dir (--modality name=file.csv ... | --data file.yaml) [--out file.csv]", fmt.Sprintf(`
Applies a trained model (a folder written by "fdrmfl simulate" or "fdrmfl
server", e.g. out/model: the network or a linear model) to new data and
writes %s
as CSV, one row per sample in file order, keyed by sample ID when the files
have IDs (else by row). The data are standardised with the statistics stored
in the model. Each modality is a CSV file in the layout of the training data
(one header line, one row per sample), or JCAMP-DX spectra (a .jdx file or a
folder of them); --responses adds observed responses, and then the error of
the predictions is printed. The delimiter, decimal separator and ID column
are detected unless given.`, what))
	modelDir := fs.String("model", "", "trained model `folder` (with manifest.json and model.safetensors)")
	in := addDataFlags(fs, "CSV `file` of observed responses (optional)")
	out := fs.String("out", "", "output CSV `file` (default: standard output)")
	force := fs.Bool("force", false, "replace an existing --out file")
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := checkOutFile(*out, *force); err != nil {
		return err
	}
	if *modelDir == "" {
		return usagef("--model is required")
	}
	m, weights, err := loadModel(*modelDir)
	if err != nil {
		return err
	}
	if name == "extract" && m.Model.Features == 0 {
		return fmt.Errorf("%s: a %s model has no features Z beyond its predictions; use fdrmfl predict", *modelDir, m.Model.Kind)
	}
	ds, rep, err := in.read(m)
	if err != nil {
		return err
	}
	if rep != nil {
		fmt.Fprintf(e.stderr, "data: %s\n", rep.Summary())
		shown := map[string]bool{}
		for _, f := range rep.Files {
			if len(f.Detected) > 0 && (f.Delimiter != "," || f.Decimal != "." || f.IDColumn != "") && !shown[f.File] {
				shown[f.File] = true
				id := f.IDColumn
				if id == "" {
					id = "none"
				}
				fmt.Fprintf(e.stderr, "data: %s read with delimiter %q, decimal %q, ID column %s (detected: %s)\n", f.File, f.Delimiter, f.Decimal, id, strings.Join(f.Detected, ", "))
			}
		}
	}
	x, err := fdrmfl.Extract(m, weights, ds)
	if err != nil {
		return err
	}
	for _, mi := range m.Modalities {
		if n := x.Absent[mi.Name]; n > 0 {
			fmt.Fprintf(e.stderr, "warning: modality %s is absent for %d of %d samples; the model was trained with it, so those predictions rest on the other modalities alone\n", mi.Name, n, ds.Len())
		}
	}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	head := []string{"row"}
	if ds.IDs != nil {
		head[0] = "id"
	}
	width := m.Model.Features
	vals := x.Z
	if name == "predict" {
		width = len(m.Responses)
		vals = x.Pred
		for _, r := range m.Responses {
			head = append(head, "pred_"+r)
		}
	} else {
		for k := range width {
			head = append(head, "z"+strconv.Itoa(k+1))
		}
	}
	w.Write(head)
	for i := range ds.Len() {
		rec := []string{strconv.Itoa(i + 1)}
		if ds.IDs != nil {
			rec[0] = ds.IDs[i]
		}
		for _, v := range vals[i*width : (i+1)*width] {
			rec = append(rec, f32(v))
		}
		w.Write(rec)
	}
	w.Flush()
	if *out == "" {
		_, err = e.stdout.Write(buf.Bytes())
	} else {
		err = writeFile(*out, buf.Bytes())
	}
	if err != nil {
		return err
	}
	if x.Stats != nil {
		for j, r := range m.Responses {
			fmt.Fprintf(e.stderr, "%s: n = %d, MSE = %.5g, R² = %.4f\n", r, x.Stats.Observed(j), x.Stats.MSE(j), x.Stats.R2(j))
		}
	}
	return nil
}

// dataFlags are the flags that name the data a model is applied to.
type dataFlags struct {
	mods              modalityFlags
	config, responses string
	format            data.Format
}

// addDataFlags declares the data flags on fs; responses describes
// --responses.
func addDataFlags(fs *flags, responses string) *dataFlags {
	d := &dataFlags{}
	fs.Var(&d.mods, "modality", "a modality as `name=file.csv` (repeat for each)")
	fs.StringVar(&d.config, "data", "", "read the data as the data section of this configuration `file` describes")
	fs.StringVar(&d.config, "config", "", "the same as --data")
	fs.StringVar(&d.responses, "responses", "", responses)
	fs.StringVar(&d.format.Delimiter, "delimiter", "", "field `delimiter` of the CSV files: , ; tab whitespace (default: detected)")
	fs.StringVar(&d.format.Decimal, "decimal", "", "decimal `separator`: . or , (default: detected)")
	fs.StringVar(&d.format.IDColumn, "id-column", "", "the `column` of sample IDs, or none (default: the first column if it holds IDs)")
	return d
}

// read checks the flags and reads the data they name for model m.
func (d *dataFlags) read(m *fdrmfl.Manifest) (*data.Dataset, *data.Report, error) {
	if err := d.format.Check(); err != nil {
		return nil, nil, usagef("--%v", err)
	}
	return readApplyData(m, d.mods, d.config, d.responses, d.format)
}

// readApplyData reads the data to apply a model to, from --modality flags
// (CSV files in format, or JCAMP-DX files) or a configuration's data
// section, with the report of reading them.
func readApplyData(m *fdrmfl.Manifest, mods modalityFlags, config, responses string, format data.Format) (*data.Dataset, *data.Report, error) {
	if config != "" {
		if len(mods) > 0 {
			return nil, nil, fmt.Errorf("give either --data or --modality, not both")
		}
		if format != (data.Format{}) {
			return nil, nil, usagef("--delimiter, --decimal and --id-column go with --modality; with --data, the configuration says")
		}
		cfg, err := loadConfig(config)
		if err != nil {
			return nil, nil, err
		}
		cfg = cfg.Defaults()
		if err := cfg.Validate(); err != nil {
			return nil, nil, fmt.Errorf("%s: %w", config, err)
		}
		root := cfg.Data.Root
		if root == "" {
			root = "."
		}
		ds, rep, err := fdrmfl.ReadData(cfg, os.DirFS(root))
		if err != nil {
			return nil, nil, err
		}
		ds, err = modelModalities(m, ds)
		return ds, rep, err
	}
	if len(mods) == 0 {
		return nil, nil, fmt.Errorf("name the data with --modality name=file.csv (the model has %s) or --data file.yaml", modalityList(m))
	}
	spec := data.Spec{Format: format}
	for _, s := range mods {
		name, file, ok := strings.Cut(s, "=")
		if !ok || name == "" || file == "" {
			return nil, nil, usagef("--modality %q: want name=file.csv", s)
		}
		var info *fdrmfl.ModalityInfo
		for i := range m.Modalities {
			if m.Modalities[i].Name == name {
				info = &m.Modalities[i]
			}
		}
		if info == nil {
			return nil, nil, fmt.Errorf("--modality %q: the model has no modality %q (it has %s)", s, name, modalityList(m))
		}
		ms := data.ModalitySpec{Name: name, File: file, Kind: info.Kind, Shape: info.Shape}
		if isJCAMP(file) {
			ms.File, ms.JCAMP = "", []string{file}
		}
		spec.Modalities = append(spec.Modalities, ms)
	}
	if responses != "" {
		spec.ResponseFile, spec.Responses = responses, m.Responses
	}
	ds, rep, err := data.Load(rootFS{}, spec)
	return ds, rep, err
}

// isJCAMP reports whether a --modality names JCAMP-DX spectra: a folder, or
// a file named like one.
func isJCAMP(file string) bool {
	if st, err := os.Stat(file); err == nil && st.IsDir() {
		return true
	}
	switch strings.ToLower(filepath.Ext(file)) {
	case ".jdx", ".dx", ".jcamp", ".jcm":
		return true
	}
	return strings.ContainsAny(file, "*?[")
}

func modalityList(m *fdrmfl.Manifest) string {
	var s []string
	for _, mi := range m.Modalities {
		s = append(s, fmt.Sprintf("%s %v", mi.Name, mi.Shape))
	}
	return strings.Join(s, ", ")
}

// modelModalities returns ds with only the modalities the model reads
// (a model may use a subset of a configuration's, as a linear model of
// chosen modalities does).
func modelModalities(m *fdrmfl.Manifest, ds *data.Dataset) (*data.Dataset, error) {
	var mods []data.Modality
	for _, mi := range m.Modalities {
		if dm := ds.Modality(mi.Name); dm != nil {
			mods = append(mods, *dm)
		}
	}
	if len(mods) == len(ds.Modalities) {
		return ds, nil
	}
	return data.New(ds.Len(), mods, ds.ResponseNames, ds.Y)
}
