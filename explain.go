package fdrmfl

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/train"
)

// Importance says how much each input value of one modality — a feature,
// or a spectrum's channel — matters to a model's predictions, beside what
// a PLS regression fitted on the same inputs says of it. Values are in the
// model's standardised units: inputs after its spectral preprocessing and
// standardisation, responses in standard deviations.
type Importance struct {
	Modality string
	// Shape is the modality's per-sample shape; the slices below have
	// prod(Shape) entries per response, row-major [input][response].
	Shape []int
	// Responses names the model's responses.
	Responses []string
	// Sensitivity[j·q + r] is the mean over the samples of |Δŷ_r| / h
	// when input j alone moves by h (central differences, h = 0.1 sd):
	// for a linear model its standardised coefficient's magnitude, for
	// the network a local linearisation averaged over the samples.
	Sensitivity []float64
	// VIP[j] is input j's variable importance in projection in a PLS
	// regression of the responses on every modality's inputs of the same
	// samples (components by 5-fold cross-validation); nil without
	// responses. PLSCoef[j·q + r] is that PLS's standardised coefficient.
	VIP, PLSCoef []float64
	// PLSComponents is that PLS's number of components (0: none fitted).
	PLSComponents int
	// Samples is the number of samples the importances were measured on.
	Samples int
}

// explainSamples caps the samples the sensitivities are averaged over: a
// central difference per input costs two passes over them.
const explainSamples = 256

// Explain measures, for every modality of the model, the importance of
// each input value to the predictions on the samples of raw data ds (see
// Importance): the model's sensitivity and, when ds has responses, a PLS
// regression's VIP and coefficients on the same preprocessed and
// standardised inputs, for comparison. Samples that lack a modality do not
// count towards its sensitivity. At most 256 samples are used, evenly
// spaced through ds.
func (m *Model) Explain(ds *data.Dataset) ([]Importance, error) {
	man := m.Manifest
	if err := man.Check(); err != nil {
		return nil, err
	}
	if ds.Len() == 0 {
		return nil, fmt.Errorf("explain: no samples")
	}
	if ds.Len() > explainSamples {
		idx := make([]int, explainSamples)
		for k := range idx {
			idx[k] = k * ds.Len() / explainSamples
		}
		ds = ds.Subset(idx)
	}
	for _, mi := range man.Modalities {
		if dm := ds.Modality(mi.Name); dm != nil && dm.SampleSize() != prod(mi.Shape) {
			return nil, fmt.Errorf("explain: modality %q has %d values per sample, the model expects shape %v", mi.Name, dm.SampleSize(), mi.Shape)
		}
	}
	pre, err := ApplyPreprocessing(man.Preprocess, ds)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	std, err := man.Standardizer.Apply(pre)
	if err != nil {
		return nil, fmt.Errorf("explain: %w", err)
	}
	predict, err := predictor(man, m.Weights)
	if err != nil {
		return nil, err
	}
	q := len(man.Responses)
	var out []Importance
	const h = 0.1
	for _, mi := range man.Modalities {
		imp := Importance{Modality: mi.Name, Shape: append([]int(nil), mi.Shape...), Responses: man.Responses}
		size := prod(mi.Shape)
		imp.Sensitivity = make([]float64, size*q)
		dm := std.Modality(mi.Name)
		if dm == nil {
			out = append(out, imp)
			continue
		}
		var rows []int
		for i := range std.Len() {
			if dm.Has(i) {
				rows = append(rows, i)
			}
		}
		imp.Samples = len(rows)
		for j := range size {
			saved := make([]float32, len(rows))
			for k, i := range rows {
				saved[k] = dm.Data[i*size+j]
				dm.Data[i*size+j] = saved[k] + h/2
			}
			up, err := predict(std)
			if err != nil {
				return nil, err
			}
			for k, i := range rows {
				dm.Data[i*size+j] = saved[k] - h/2
			}
			down, err := predict(std)
			if err != nil {
				return nil, err
			}
			for k, i := range rows {
				dm.Data[i*size+j] = saved[k]
			}
			for _, i := range rows {
				for r := range q {
					imp.Sensitivity[j*q+r] += math.Abs(float64(up[i*q+r]-down[i*q+r])) / h
				}
			}
			if len(rows) > 0 {
				for r := range q {
					imp.Sensitivity[j*q+r] /= float64(len(rows))
				}
			}
		}
		out = append(out, imp)
	}
	if ds.NumResponses() > 0 {
		if err := explainPLS(man, std, out); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// predictor returns the model's predictions (standardised) of
// standardised data.
func predictor(man *Manifest, weights []float32) (func(*data.Dataset) ([]float32, error), error) {
	if man.IsLinear() {
		return func(ds *data.Dataset) ([]float32, error) {
			_, pred, err := applyLinear(man, weights, ds)
			return pred, err
		}, nil
	}
	tr, err := train.New(man.Model, man.Train)
	if err != nil {
		return nil, err
	}
	return func(ds *data.Dataset) ([]float32, error) {
		_, pred, err := tr.Apply(weights, ds)
		return pred, err
	}, nil
}

// explainPLS fits a PLS regression of std's responses (standardised) on
// every modality's standardised inputs, side by side, on the samples with
// every response observed, and fills each Importance's VIP and PLSCoef.
func explainPLS(man *Manifest, std *data.Dataset, imps []Importance) error {
	if std.NumResponses() != len(man.Responses) {
		return fmt.Errorf("explain: the data have %d responses, the model %d", std.NumResponses(), len(man.Responses))
	}
	var names []string
	var shapes [][]int
	for _, mi := range man.Modalities {
		names, shapes = append(names, mi.Name), append(shapes, mi.Shape)
	}
	x, err := linearInputs(std, names, shapes, true)
	if err != nil {
		return err
	}
	q := std.NumResponses()
	var keep []int
	for i := range std.Len() {
		ok := true
		for r := range q {
			ok = ok && std.ResponseObserved(i, r)
		}
		if ok {
			keep = append(keep, i)
		}
	}
	if len(keep) < 6 {
		return nil // too few samples to cross-validate a PLS: no comparison
	}
	x = rowsOf(x, keep)
	y := mat.NewDense(len(keep), q, nil)
	for k, i := range keep {
		for r := range q {
			y.Set(k, r, float64(std.Y[i*q+r]))
		}
	}
	pls := baseline.PLS{MaxComponents: min(20, len(keep)/2), Folds: 5, Seed: man.Seed}
	if err := pls.FitMulti(x, y); err != nil {
		return fmt.Errorf("explain: PLS: %w", err)
	}
	vip, err := pls.VIP(x)
	if err != nil {
		return fmt.Errorf("explain: %w", err)
	}
	_, a := pls.Weights.Dims()
	off := 0
	for k := range imps {
		size := prod(shapes[k])
		imps[k].VIP = vip[off : off+size]
		imps[k].PLSCoef = make([]float64, size*q)
		for j := range size {
			for r := range q {
				imps[k].PLSCoef[j*q+r] = pls.Coef.At(off+j, r)
			}
		}
		imps[k].PLSComponents = a
		off += size
	}
	return nil
}
