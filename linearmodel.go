package fdrmfl

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// A linear model folder has the network's layout: manifest.json (with
// model.kind, the fit in "linear", and the standardisation) and
// model.safetensors with the tensors of torch.nn.Linear layers on the
// standardised inputs x, the model's modalities flattened side by side:
//
//	PLS:               Z = features.weight·x + features.bias   (A×p, A)
//	                   ŷ = head.weight·Z + head.bias            (q×A, q)
//	ridge, lasso, enet: ŷ = head.weight·x + head.bias           (q×p, q)
//
// ŷ is in standardised units, as the network's head; the standardizer
// maps it back to the responses' units.

// newLinearManifest describes the linear model cfg fits to data laid out
// as ds, standardised by std, before the fit: its inputs (cfg's
// model.modalities by name, or every modality of ds) and responses.
func newLinearManifest(cfg Config, ds *data.Dataset, std *data.Standardizer) (*Manifest, error) {
	mc := model.Config{Kind: cfg.Model.Kind, Responses: len(ds.ResponseNames)}
	names := ds.ModalityNames()
	if len(cfg.Model.Modalities) > 0 {
		names = nil
		for i, mm := range cfg.Model.Modalities {
			dm := ds.Modality(mm.Name)
			if dm == nil {
				return nil, fmt.Errorf("model.modalities[%d]: the data have no modality %q (they have %s)", i, mm.Name, strings.Join(ds.ModalityNames(), ", "))
			}
			if slices.Contains(names, mm.Name) {
				return nil, fmt.Errorf("model.modalities[%d]: %q is listed twice", i, mm.Name)
			}
			if mm.Shape != nil && prod(mm.Shape) != dm.SampleSize() {
				return nil, fmt.Errorf("model.modalities[%d] (%s): shape %v does not fit the data's %v", i, mm.Name, mm.Shape, dm.Shape)
			}
			names = append(names, mm.Name)
		}
	}
	if mc.Responses == 0 {
		return nil, fmt.Errorf("data: no response to learn")
	}
	m := &Manifest{
		Format: ManifestFormat, Responses: ds.ResponseNames, Standardizer: std,
		Seed: cfg.Seed, Federation: cfg.Federation, DataSource: cfg.Data.Source,
	}
	for _, name := range names {
		dm := ds.Modality(name)
		mc.Modalities = append(mc.Modalities, model.Modality{Name: name, Shape: slices.Clone(dm.Shape)})
		m.Modalities = append(m.Modalities, ModalityInfo{Name: name, Kind: dm.Kind, Shape: slices.Clone(dm.Shape)})
	}
	m.Model = mc
	return m, nil
}

// IsLinear reports whether the manifest describes a linear model.
func (m *Manifest) IsLinear() bool { return IsLinearKind(m.Model.Kind) }

// inputs returns p, the number of input values of the model.
func (m *Manifest) inputs() int {
	p := 0
	for _, mi := range m.Modalities {
		p += prod(mi.Shape)
	}
	return p
}

// linearLayout lists the tensors of a linear model in the order of its
// flat weight vector.
func (m *Manifest) linearLayout() []TensorShape {
	p, q, a := m.inputs(), len(m.Responses), m.Model.Features
	if a > 0 {
		return []TensorShape{
			{"features.weight", []int{a, p}}, {"features.bias", []int{a}},
			{"head.weight", []int{q, a}}, {"head.bias", []int{q}},
		}
	}
	return []TensorShape{{"head.weight", []int{q, p}}, {"head.bias", []int{q}}}
}

// checkLinear reports a linear manifest that is incomplete or
// inconsistent.
func (m *Manifest) checkLinear() error {
	f := m.Linear
	if f == nil {
		return fmt.Errorf("manifest: a %s model without its fit (\"linear\")", m.Model.Kind)
	}
	if len(m.Modalities) == 0 {
		return fmt.Errorf("manifest: a %s model without inputs", m.Model.Kind)
	}
	if m.Model.Responses != len(m.Responses) || len(m.Responses) == 0 {
		return fmt.Errorf("manifest: model.responses is %d, %d responses are named", m.Model.Responses, len(m.Responses))
	}
	if f.Inputs != m.inputs() {
		return fmt.Errorf("manifest: linear.inputs is %d, the modalities hold %d values", f.Inputs, m.inputs())
	}
	switch {
	case m.Model.Kind == KindPLS && (f.Components < 1 || m.Model.Features != f.Components):
		return fmt.Errorf("manifest: a PLS model of %d components with model.features %d", f.Components, m.Model.Features)
	case m.Model.Kind != KindPLS && m.Model.Features != 0:
		return fmt.Errorf("manifest: a %s model has no features Z, model.features is %d", m.Model.Kind, m.Model.Features)
	}
	n := 0
	for _, t := range m.linearLayout() {
		n += prod(t.Shape)
	}
	if m.Values != n {
		return fmt.Errorf("manifest: %d values for a %s model of %d", m.Values, m.Model.Kind, n)
	}
	return nil
}

// applyLinear returns Z (n×A, none without features) and the
// standardised predictions (n×q) of a linear model for a standardised
// dataset, computed in float64.
func applyLinear(m *Manifest, w []float32, ds *data.Dataset) (z, pred []float32, err error) {
	n := ds.Len()
	var names []string
	var shapes [][]int
	for _, mi := range m.Modalities {
		names, shapes = append(names, mi.Name), append(shapes, mi.Shape)
	}
	x, err := linearInputs(ds, names, shapes, true)
	if err != nil {
		return nil, nil, err
	}
	if len(w) != m.Values {
		return nil, nil, fmt.Errorf("linear model: %d weights, the manifest says %d", len(w), m.Values)
	}
	p, q, a := m.inputs(), len(m.Responses), m.Model.Features
	// affine returns out (n×rows) = in (n×cols) · Wᵀ + b for the next
	// weight and bias tensors of w.
	affine := func(in []float64, rows, cols int) []float64 {
		wt, b := w[:rows*cols], w[rows*cols:rows*cols+rows]
		w = w[rows*cols+rows:]
		out := make([]float64, n*rows)
		for i := range n {
			xi := in[i*cols : (i+1)*cols]
			for r := range rows {
				s := float64(b[r])
				for c, v := range wt[r*cols : (r+1)*cols] {
					s += float64(v) * xi[c]
				}
				out[i*rows+r] = s
			}
		}
		return out
	}
	var in []float64
	if x != nil {
		in = x.RawMatrix().Data
	}
	if a > 0 {
		zs := affine(in, a, p)
		z = toFloat32(zs)
		pred = toFloat32(affine(zs, q, a))
	} else {
		pred = toFloat32(affine(in, q, p))
	}
	return z, pred, nil
}

func toFloat32(v []float64) []float32 {
	out := make([]float32, len(v))
	for i, x := range v {
		out[i] = float32(x)
	}
	return out
}

// LinearClientFeatures applies a fitted linear model to each of a
// client's sets, standardised as the federation standardised them, and
// returns the features (for PLS the X-scores; none otherwise),
// predictions and observed responses of each, in the responses' units,
// with the test error: what ClientFeatures returns for the network.
func LinearClientFeatures(mod *Model, sets *site.Sets) (ClientResult, error) {
	cr := ClientResult{Name: sets.Name}
	m := mod.Manifest
	for _, sp := range []struct {
		name string
		idx  []int
		ds   *data.Dataset
	}{{"train", sets.TrainIndex, sets.Train}, {"val", sets.ValIndex, sets.Val}, {"test", sets.TestIndex, sets.Test}} {
		s := Split{Name: sp.name, Index: sp.idx, IDs: sp.ds.IDs}
		if sp.ds.Len() > 0 {
			z, pred, err := applyLinear(m, mod.Weights, sp.ds)
			if err != nil {
				return cr, fmt.Errorf("%s %s: %w", sets.Name, sp.name, err)
			}
			m.Standardizer.InverseY(pred)
			y := slices.Clone(sp.ds.Y)
			m.Standardizer.InverseY(y)
			s.Z, s.Pred, s.Y = z, pred, y
			if sp.name == "test" {
				cr.Test = metricsOf(train.PredictionStats(pred, y, len(m.Responses)))
			}
		}
		cr.Splits = append(cr.Splits, s)
	}
	return cr, nil
}
