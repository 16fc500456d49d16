package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/internal/disk"
)

// writeFile writes data atomically: readers see the old file or the new
// one, never a mix, even across a crash.
func writeFile(path string, data []byte) error { return disk.WriteFile(path, data) }

func writeJSON(path string, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return writeFile(path, append(b, '\n'))
}

func writeYAML(path string, v any) error {
	b, err := yaml.Marshal(v)
	if err != nil {
		return err
	}
	return writeFile(path, b)
}

func ff(v float64) string  { return strconv.FormatFloat(v, 'g', -1, 64) }
func f32(v float32) string { return strconv.FormatFloat(float64(v), 'g', -1, 32) }

// observed formats an observed response, empty when it is missing (NaN).
func observed(v float32) string {
	if v != v {
		return ""
	}
	return f32(v)
}

// saveModel writes dir/manifest.json and dir/model.safetensors.
func saveModel(dir string, m *fdrmfl.Manifest, weights []float32) error {
	return (&fdrmfl.Model{Manifest: m, Weights: weights}).Save(dir)
}

// loadModel reads a model folder written by saveModel.
func loadModel(dir string) (*fdrmfl.Manifest, []float32, error) {
	m, err := fdrmfl.LoadModel(dir)
	if err != nil {
		return nil, nil, err
	}
	return m.Manifest, m.Weights, nil
}

// writeRounds writes per-round metrics as CSV and JSON.
func writeRounds(dir string, res *fdrmfl.Result) error {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	resp := res.Manifest.Responses
	head := []string{"round", "clients", "rejected", "loss", "mse", "mi", "kl", "con"}
	for _, r := range resp {
		head = append(head, "val_mse_"+r, "val_r2_"+r)
	}
	private := false
	for _, r := range res.Rounds {
		private = private || r.Delta > 0
	}
	if private {
		head = append(head, "epsilon", "delta")
	}
	w.Write(head)
	for _, r := range res.Rounds {
		row := []string{strconv.Itoa(r.Round), strconv.Itoa(r.Clients), strconv.Itoa(len(r.Rejected)),
			ff(r.Train["loss"]), ff(r.Train["mse"]), ff(r.Train["mi"]), ff(r.Train["kl"]), ff(r.Train["con"])}
		for j := range resp {
			if r.Val != nil {
				row = append(row, ff(r.Val.MSE[j]), ff(r.Val.R2[j]))
			} else {
				row = append(row, "", "")
			}
		}
		if private {
			row = append(row, ff(r.Epsilon), ff(r.Delta))
		}
		w.Write(row)
	}
	w.Flush()
	if err := writeFile(filepath.Join(dir, "rounds.csv"), buf.Bytes()); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "rounds.json"), res.Rounds)
}

// writeFeatures writes one CSV per client: split, the sample's ID (or its
// row when the data have no IDs), z1…zd, the observed (empty when missing)
// and predicted responses.
func writeFeatures(dir string, res *fdrmfl.Result) error {
	d := res.Manifest.Model.Features
	resp := res.Manifest.Responses
	for _, c := range res.Clients {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		byID := false
		for _, sp := range c.Splits {
			byID = byID || sp.IDs != nil
		}
		key := "row"
		if byID {
			key = "id"
		}
		head := []string{"split", key}
		for k := range d {
			head = append(head, "z"+strconv.Itoa(k+1))
		}
		for _, r := range resp {
			head = append(head, r, "pred_"+r)
		}
		w.Write(head)
		for _, sp := range c.Splits {
			for i, row := range sp.Index {
				rec := []string{sp.Name, strconv.Itoa(row + 1)}
				if byID {
					rec[1] = sp.IDs[i]
				}
				for _, v := range sp.Z[i*d : (i+1)*d] {
					rec = append(rec, f32(v))
				}
				for j := range resp {
					rec = append(rec, observed(sp.Y[i*len(resp)+j]), f32(sp.Pred[i*len(resp)+j]))
				}
				w.Write(rec)
			}
		}
		w.Flush()
		if err := writeFile(filepath.Join(dir, "features", c.Name+".csv"), buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// summary is results.json: the final test metrics.
type summary struct {
	Responses []string                   `json:"responses"`
	Pooled    *fdrmfl.Metrics            `json:"pooled_test"`
	Clients   map[string]*fdrmfl.Metrics `json:"client_test"`
	Rounds    int                        `json:"rounds"`
}

func writeSummary(dir string, res *fdrmfl.Result) error {
	s := summary{Responses: res.Manifest.Responses, Pooled: res.Test, Clients: map[string]*fdrmfl.Metrics{}, Rounds: len(res.Rounds)}
	if s.Rounds == 0 { // a client of a real federation: the server ran the rounds
		s.Rounds = res.Manifest.Federation.Rounds
	}
	for _, c := range res.Clients {
		s.Clients[c.Name] = c.Test
	}
	return writeJSON(filepath.Join(dir, "results.json"), s)
}
