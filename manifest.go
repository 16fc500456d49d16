package fdrmfl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// ManifestFormat identifies the manifest layout; it changes when a new
// version could not read an old one.
const ManifestFormat = "fdrmfl-model/1"

// Manifest describes a trained model well enough to apply it to new data:
// the model's kind and architecture, the inputs it expects, the
// standardisation fitted on the training data, and where the run came
// from. The weights are stored beside it (a safetensors file).
type Manifest struct {
	Format string `json:"format"`
	// Model is the network's configuration, or for a linear kind
	// (Model.Kind) its inputs (Modalities: names and shapes), responses
	// and, for PLS, the number of features Z (the components).
	Model      model.Config   `json:"model"`
	Modalities []ModalityInfo `json:"modalities"`
	Responses  []string       `json:"responses"`
	// Preprocess is the spectral preprocessing applied to raw inputs
	// before the Standardizer (none when empty).
	Preprocess   []Preprocessing    `json:"preprocess,omitempty"`
	Standardizer *data.Standardizer `json:"standardizer"`
	// Values is the length of the flat weight vector.
	Values int `json:"values"`
	// Linear records the fit of a linear model: the settings chosen (PLS
	// components, α, l1_ratio) and the cross-validation behind them.
	Linear *LinearFit `json:"linear,omitempty"`
	// Provenance: the settings of the run that trained the model (Train:
	// the network's only).
	Seed       uint64       `json:"seed"`
	Train      train.Config `json:"train,omitzero"`
	Federation Federation   `json:"federation"`
	DataSource string       `json:"data_source"`
}

// ModalityInfo is one input the model expects.
type ModalityInfo struct {
	Name  string    `json:"name"`
	Kind  data.Kind `json:"kind"`
	Shape []int     `json:"shape"`
}

// Check reports whether the manifest is complete and consistent.
func (m *Manifest) Check() error {
	if m.Format != ManifestFormat {
		return fmt.Errorf("manifest: format %q, this version reads %q", m.Format, ManifestFormat)
	}
	if m.Standardizer == nil {
		return fmt.Errorf("manifest: no standardizer")
	}
	if k := m.Model.Kind; k != "" && k != KindFDRMFL && !IsLinearKind(k) {
		return fmt.Errorf("manifest: model.kind %q is not one of %s (a newer version's model?)", k, strings.Join(Kinds, ", "))
	}
	if len(m.Modalities) != len(m.Model.Modalities) {
		return fmt.Errorf("manifest: %d modalities listed for a model of %d", len(m.Modalities), len(m.Model.Modalities))
	}
	for i, mi := range m.Modalities {
		if mi.Name != m.Model.Modalities[i].Name || !slices.Equal(mi.Shape, m.Model.Modalities[i].Shape) {
			return fmt.Errorf("manifest: modality %d is %s %v, the model's is %s %v", i, mi.Name, mi.Shape, m.Model.Modalities[i].Name, m.Model.Modalities[i].Shape)
		}
	}
	for _, p := range m.Preprocess {
		i := slices.IndexFunc(m.Modalities, func(mi ModalityInfo) bool { return mi.Name == p.Modality })
		if i < 0 {
			return fmt.Errorf("manifest: preprocessing of %q, which the model has no modality of", p.Modality)
		}
		sh := m.Modalities[i].Shape
		if err := p.Chain.Check(prod(sh), sh[len(sh)-1], true); err != nil {
			return fmt.Errorf("manifest: preprocessing of %s: %w", p.Modality, err)
		}
	}
	if m.IsLinear() {
		return m.checkLinear()
	}
	if m.Linear != nil {
		return fmt.Errorf("manifest: a linear fit (\"linear\") in a model of kind %s", KindFDRMFL)
	}
	return nil
}

// Extraction holds what a model makes of a dataset.
type Extraction struct {
	// Z holds the features, n×Features row-major: the network's Z, or a
	// PLS model's X-scores; nil for a linear model without features
	// (ridge, lasso, elastic net).
	Z    []float32
	Pred []float32 // n×Responses, in the responses' original units
	// Stats compares Pred with the data's responses when it has them.
	Stats *train.Stats
	// Absent counts, for each of the model's modalities that some samples
	// lack (a modality missing from the data altogether counts every
	// sample), the samples the model had to treat without it. Predictions
	// from fewer modalities than the model was trained on are usually
	// worse.
	Absent map[string]int
}

// Extract applies a trained model (manifest and flat weights) to raw data
// ds: it applies the model's spectral preprocessing, standardises ds with
// the model's statistics, computes the features Z and the predictions,
// and, if ds has responses, their error.
// ds must have the model's modalities (by name, any order; a missing one
// is treated as absent for every sample).
func Extract(m *Manifest, weights []float32, ds *data.Dataset) (*Extraction, error) {
	if err := m.Check(); err != nil {
		return nil, err
	}
	for _, mi := range m.Modalities {
		if dm := ds.Modality(mi.Name); dm != nil && dm.SampleSize() != prod(mi.Shape) {
			return nil, fmt.Errorf("extract: modality %q has %d values per sample, the model expects shape %v", mi.Name, dm.SampleSize(), mi.Shape)
		}
	}
	known := map[string]bool{}
	for _, mi := range m.Modalities {
		known[mi.Name] = true
	}
	for _, dm := range ds.Modalities {
		if !known[dm.Name] {
			return nil, fmt.Errorf("extract: the model has no modality %q (it has %v)", dm.Name, names(m.Modalities))
		}
	}
	if ds.NumResponses() > 0 && !slices.Equal(ds.ResponseNames, m.Responses) {
		return nil, fmt.Errorf("extract: data responses %v, the model predicts %v", ds.ResponseNames, m.Responses)
	}
	pre, err := ApplyPreprocessing(m.Preprocess, ds)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	std, err := m.Standardizer.Apply(pre)
	if err != nil {
		return nil, fmt.Errorf("extract: %w", err)
	}
	var z, pred []float32
	if m.IsLinear() {
		z, pred, err = applyLinear(m, weights, std)
	} else {
		var tr *train.Trainer
		if tr, err = train.New(m.Model, m.Train); err != nil {
			return nil, err
		}
		z, pred, err = tr.Apply(weights, std)
	}
	if err != nil {
		return nil, err
	}
	m.Standardizer.InverseY(pred)
	out := &Extraction{Z: z, Pred: pred}
	for _, mi := range m.Modalities {
		missing := 0
		if dm := ds.Modality(mi.Name); dm == nil {
			missing = ds.Len()
		} else {
			for i := range ds.Len() {
				if !dm.Has(i) {
					missing++
				}
			}
		}
		if missing > 0 {
			if out.Absent == nil {
				out.Absent = map[string]int{}
			}
			out.Absent[mi.Name] = missing
		}
	}
	if ds.NumResponses() > 0 {
		s := train.PredictionStats(pred, ds.Y, ds.NumResponses())
		out.Stats = &s
	}
	return out, nil
}

func names(ms []ModalityInfo) []string {
	var s []string
	for _, m := range ms {
		s = append(s, m.Name)
	}
	return s
}

// TensorShape names one tensor of a model's flat weight vector.
type TensorShape struct {
	Name  string
	Shape []int
}

// Tensors lists the tensors of the manifest's model in the order of its
// flat weight vector.
func (m *Manifest) Tensors() ([]TensorShape, error) {
	if m.IsLinear() {
		return m.linearLayout(), nil
	}
	tr, err := train.New(m.Model, m.Train)
	if err != nil {
		return nil, err
	}
	var out []TensorShape
	for _, e := range tr.Layout() {
		out = append(out, TensorShape{Name: e.Name, Shape: slices.Clone(e.Param.Shape)})
	}
	return out, nil
}
