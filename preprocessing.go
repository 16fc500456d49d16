package fdrmfl

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strings"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/preprocess"
	"github.com/fdrmfl/fdrmfl/site"
)

// Preprocessing is the fitted spectral preprocessing of one modality: the
// chain (package preprocess) applied to its raw values before
// standardisation, wherever the model meets data — in training, in
// predict and extract, and on every client of a deployment. A model's
// manifest stores it.
type Preprocessing struct {
	Modality string           `json:"modality"`
	Spec     string           `json:"spec"`  // the chain, readable (Chain.String)
	Chain    preprocess.Chain `json:"chain"` // with its msc references
	// Auto is set when the chain was chosen by data.preprocess "auto";
	// Scores then holds every candidate's cross-validated MSE of federated
	// PLS on the training data (standardised responses), by chain.
	Auto   bool               `json:"auto,omitempty"`
	Scores map[string]float64 `json:"scores,omitempty"`
}

// AutoPreprocess is the data.preprocess value that chooses the chain by
// federated cross-validation.
const AutoPreprocess = "auto"

// checkPreprocessSyntax validates data.preprocess without the data.
func checkPreprocessSyntax(pre map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(pre)) {
		v := pre[k]
		if strings.TrimSpace(v) == AutoPreprocess {
			continue
		}
		if _, err := preprocess.Parse(v); err != nil {
			return fmt.Errorf("data.preprocess.%s: %w", k, err)
		}
	}
	return nil
}

// preprocessSpecs resolves data.preprocess against the data's layout:
// modality → chain or "auto", the key "*" standing for every signal
// modality not named. Modalities without a chain are left out.
func preprocessSpecs(pre map[string]string, ds *data.Dataset) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range slices.Sorted(maps.Keys(pre)) {
		if k == "*" {
			continue
		}
		if ds.Modality(k) == nil {
			return nil, fmt.Errorf("data.preprocess: the data have no modality %q (they have %s)", k, strings.Join(ds.ModalityNames(), ", "))
		}
		out[k] = strings.TrimSpace(pre[k])
	}
	if all, ok := pre["*"]; ok {
		for _, m := range ds.Modalities {
			if _, named := out[m.Name]; !named && m.Kind == data.Signal {
				out[m.Name] = strings.TrimSpace(all)
			}
		}
	}
	for k, v := range out {
		if v == "none" || v == "" {
			delete(out, k)
		}
	}
	return out, nil
}

// spectrumWidth is the length of one spectrum of a modality: the last
// dimension of its shape.
func spectrumWidth(m *data.Modality) int {
	return m.Shape[len(m.Shape)-1]
}

// ApplyPreprocessing returns a copy of ds with each modality's chain
// applied (modalities without one are shared, not copied). A chain whose
// modality ds lacks is skipped: Extract treats the modality as absent.
func ApplyPreprocessing(pp []Preprocessing, ds *data.Dataset) (*data.Dataset, error) {
	if len(pp) == 0 {
		return ds, nil
	}
	mods := slices.Clone(ds.Modalities)
	for _, p := range pp {
		i := ds.ModalityIndex(p.Modality)
		if i < 0 {
			continue
		}
		m := mods[i]
		m.Data = slices.Clone(m.Data)
		if err := p.Chain.Apply(m.Data, m.SampleSize(), spectrumWidth(&m), m.Present); err != nil {
			return nil, fmt.Errorf("preprocessing %s (%s): %w", p.Modality, p.Spec, err)
		}
		mods[i] = m
	}
	return data.New(ds.Len(), mods, slices.Clone(ds.ResponseNames), ds.Y)
}

// fitChains fits the msc references of chains (modality → chain) on the
// clients' training sets, from summed spectra: summed in the clear, or
// under secure aggregation when secure (the server sees only the sums,
// as a deployment's does).
func fitChains(chains map[string]preprocess.Chain, trains []*data.Dataset, secure bool) (map[string]preprocess.Chain, error) {
	out := map[string]preprocess.Chain{}
	for name, c := range chains {
		f, err := c.Fit(func(prefix preprocess.Chain) ([]float64, int, error) {
			var tot []float64
			var parts [][]float64
			var blocks []int
			n := 0
			for _, tr := range trains {
				m := tr.Modality(name)
				s, k, err := prefix.Sum(m.Data, m.SampleSize(), spectrumWidth(m), m.Present)
				if err != nil {
					return nil, 0, err
				}
				if secure {
					var x []float64
					x, blocks = preprocess.FlatSum(s, k)
					parts = append(parts, x)
					continue
				}
				if tot == nil {
					tot = s
				} else {
					for j, v := range s {
						tot[j] += v
					}
				}
				n += k
			}
			if !secure {
				return tot, n, nil
			}
			if len(parts) < 2 { // one client: its own sum is the total
				tot, n = preprocess.UnflatSum(parts[0])
				return tot, n, nil
			}
			sum, err := secagg.SumFloats(parts, blocks, nil)
			if err != nil {
				return nil, 0, fmt.Errorf("secure aggregation: %w", err)
			}
			tot, n = preprocess.UnflatSum(sum)
			return tot, n, nil
		})
		if err != nil {
			return nil, fmt.Errorf("data.preprocess.%s: %w", name, err)
		}
		out[name] = f
	}
	return out, nil
}

// preprocessClients fits data.preprocess on the clients' training sets —
// msc references from summed spectra; "auto" by federated cross-validation
// of PLS — and applies it to every set of every client, in place of the
// raw ones.
func preprocessClients(cfg Config, clients []*site.Sets) ([]Preprocessing, error) {
	if len(cfg.Data.Preprocess) == 0 {
		return nil, nil
	}
	specs, err := preprocessSpecs(cfg.Data.Preprocess, clients[0].Train)
	if err != nil {
		return nil, err
	}
	if len(specs) == 0 {
		return nil, nil
	}
	var trains []*data.Dataset
	for _, c := range clients {
		trains = append(trains, c.Train)
	}
	fixed := map[string]preprocess.Chain{}
	var auto []string
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		m := clients[0].Train.Modality(name)
		if specs[name] == AutoPreprocess {
			auto = append(auto, name)
			continue
		}
		c, err := preprocess.Parse(specs[name])
		if err != nil {
			return nil, fmt.Errorf("data.preprocess.%s: %w", name, err)
		}
		if err := c.Check(m.SampleSize(), spectrumWidth(m), false); err != nil {
			return nil, fmt.Errorf("data.preprocess.%s: %w", name, err)
		}
		fixed[name] = c
	}
	fitted, err := fitChains(fixed, trains, cfg.Privacy.Secure.Enabled)
	if err != nil {
		return nil, err
	}
	var out []Preprocessing
	for _, name := range slices.Sorted(maps.Keys(fitted)) {
		out = append(out, Preprocessing{Modality: name, Spec: fitted[name].String(), Chain: fitted[name]})
	}
	if len(auto) > 0 {
		chosen, scores, err := choosePreprocessing(auto, fitted, clients, cfg.Seed, cfg.Privacy.Secure.Enabled)
		if err != nil {
			return nil, err
		}
		for _, name := range auto {
			out = append(out, Preprocessing{Modality: name, Spec: chosen[name].String(), Chain: chosen[name], Auto: true, Scores: scores})
		}
		slices.SortFunc(out, func(a, b Preprocessing) int { return strings.Compare(a.Modality, b.Modality) })
	}
	for _, c := range clients {
		for _, d := range []**data.Dataset{&c.Train, &c.Val, &c.Test} {
			if *d, err = ApplyPreprocessing(out, *d); err != nil {
				return nil, fmt.Errorf("%s: %w", c.Name, err)
			}
		}
	}
	return out, nil
}

// autoFolds is the number of cross-validation folds "auto" uses per client.
const autoFolds = 5

// choosePreprocessing picks, for the modalities set to "auto", one
// candidate kind (preprocess.Candidates, each with windows for its
// modality's width) applied to all of them, by the least cross-validated
// MSE of federated PLS (up to 30 components, standardised inputs) on the
// clients' training sets, every modality side by side, the responses
// standardised with their pooled moments. The other modalities carry
// their fixed chains. Each client makes its own folds; the server sees
// fold statistics only (each client's: secure fits the msc references
// from secure sums, not the choice).
func choosePreprocessing(auto []string, fixed map[string]preprocess.Chain, clients []*site.Sets, sd uint64, secure bool) (map[string]preprocess.Chain, map[string]float64, error) {
	first := clients[0].Train
	cands := map[string][]preprocess.Chain{}
	k := -1
	for _, name := range auto {
		cs := preprocess.Candidates(spectrumWidth(first.Modality(name)))
		if k >= 0 && len(cs) != k {
			return nil, nil, fmt.Errorf("data.preprocess: \"auto\" modalities of such different lengths have different candidates")
		}
		k = len(cs)
		cands[name] = cs
	}
	// Pooled moments of the responses, from the clients' sums.
	q := first.NumResponses()
	mean, sq := make([]float64, q), make([]float64, q)
	n := 0
	for _, c := range clients {
		for i := range c.Train.Len() {
			for j := range q {
				v := float64(c.Train.Y[i*q+j])
				mean[j] += v
				sq[j] += v * v
			}
		}
		n += c.Train.Len()
	}
	ysd := make([]float64, q)
	for j := range q {
		mean[j] /= float64(n)
		ysd[j] = math.Sqrt(max(sq[j]/float64(n)-mean[j]*mean[j], 0))
		if ysd[j] == 0 {
			ysd[j] = 1
		}
	}
	scores := map[string]float64{}
	best, bestScore := -1, math.Inf(1)
	var trains []*data.Dataset
	for _, c := range clients {
		trains = append(trains, c.Train)
	}
	for ci := range k {
		chains := maps.Clone(fixed)
		for _, name := range auto {
			chains[name] = cands[name][ci]
		}
		fitted, err := fitChains(chains, trains, secure)
		if err != nil {
			return nil, nil, err
		}
		var pp []Preprocessing
		for name, c := range fitted {
			pp = append(pp, Preprocessing{Modality: name, Chain: c})
		}
		var perClient [][]*baseline.SuffStats
		for ck, c := range clients {
			tr, err := ApplyPreprocessing(pp, c.Train)
			if err != nil {
				return nil, nil, err
			}
			x, y := flatRows(tr, mean, ysd)
			rows, _ := x.Dims()
			if rows < 2 {
				continue
			}
			folds := baseline.KFold(rows, min(autoFolds, rows), seed.For(sd, seed.Split, uint64(ck), 0x70726570)) // "prep"
			fs, err := baseline.FoldStats(x, y, folds)
			if err != nil {
				return nil, nil, err
			}
			perClient = append(perClient, fs)
		}
		pls := baseline.PLS{MaxComponents: 30, Standardize: true}
		if err := pls.FitFolds(baseline.ByFold(perClient)); err != nil {
			return nil, nil, fmt.Errorf("data.preprocess: auto, candidate %s: %w", cands[auto[0]][ci], err)
		}
		score := slices.Min(pls.CVMSE)
		scores[cands[auto[0]][ci].String()] = score
		if score < bestScore {
			best, bestScore = ci, score
		}
	}
	if best < 0 {
		return nil, nil, fmt.Errorf("data.preprocess: auto scored no candidate")
	}
	all := map[string]preprocess.Chain{}
	for _, name := range auto {
		all[name] = cands[name][best]
	}
	chosen, err := fitChains(all, trains, secure)
	if err != nil {
		return nil, nil, err
	}
	return chosen, scores, nil
}

// flatRows returns the samples of ds that have every modality, their
// values side by side, and their responses standardised.
func flatRows(ds *data.Dataset, mean, sd []float64) (*mat.Dense, *mat.Dense) {
	width := 0
	for i := range ds.Modalities {
		width += ds.Modalities[i].SampleSize()
	}
	q := ds.NumResponses()
	var xs, ys []float64
	rows := 0
	for i := range ds.Len() {
		ok := true
		for m := range ds.Modalities {
			ok = ok && ds.Modalities[m].Has(i)
		}
		if !ok {
			continue
		}
		for m := range ds.Modalities {
			for _, v := range ds.Modalities[m].Sample(i) {
				xs = append(xs, float64(v))
			}
		}
		for j := range q {
			ys = append(ys, (float64(ds.Y[i*q+j])-mean[j])/sd[j])
		}
		rows++
	}
	if rows == 0 {
		return mat.NewDense(1, width, nil), mat.NewDense(1, q, nil)
	}
	return mat.NewDense(rows, width, xs), mat.NewDense(rows, q, ys)
}

// FitPreprocessing fits data.preprocess for a deployment, whose server
// sees no samples: layout describes the clients' data (no rows needed),
// and sum(modality, prefix) must return the sum over every client's
// training samples of that modality after prefix, and their count (each
// client computes its part with preprocess.Chain.Sum on its raw samples).
// "auto" needs cross-validation on the clients' data, which a deployment
// does not run: it is refused with a pointer to how to choose.
func FitPreprocessing(pre map[string]string, layout *data.Dataset, sum func(modality string, prefix preprocess.Chain) ([]float64, int, error)) ([]Preprocessing, error) {
	specs, err := preprocessSpecs(pre, layout)
	if err != nil {
		return nil, err
	}
	var out []Preprocessing
	for _, name := range slices.Sorted(maps.Keys(specs)) {
		if specs[name] == AutoPreprocess {
			return nil, fmt.Errorf("data.preprocess.%s: \"auto\" chooses by cross-validation, which a deployment does not run; choose the chain with fdrmfl simulate or reproduce on data like the clients' (it reports its choice) and name it here", name)
		}
		c, err := preprocess.Parse(specs[name])
		if err != nil {
			return nil, fmt.Errorf("data.preprocess.%s: %w", name, err)
		}
		m := layout.Modality(name)
		if err := c.Check(m.SampleSize(), spectrumWidth(m), false); err != nil {
			return nil, fmt.Errorf("data.preprocess.%s: %w", name, err)
		}
		f, err := c.Fit(func(prefix preprocess.Chain) ([]float64, int, error) { return sum(name, prefix) })
		if err != nil {
			return nil, fmt.Errorf("data.preprocess.%s: %w", name, err)
		}
		out = append(out, Preprocessing{Modality: name, Spec: f.String(), Chain: f})
	}
	return out, nil
}
