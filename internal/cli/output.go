package cli

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"

	"go.yaml.in/yaml/v3"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/modelio"
	"github.com/fdrmfl/fdrmfl/nn"
)

// writeFile writes data atomically: to a temporary file in the same
// folder, synced, then renamed over path, so a reader never sees half a file.
func writeFile(path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

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

// saveModel writes dir/manifest.json and dir/model.safetensors.
func saveModel(dir string, m *fdrmfl.Manifest, weights []float32) error {
	st, err := modelState(m)
	if err != nil {
		return err
	}
	if err := st.Load(weights); err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := modelio.SaveState(&buf, st, map[string]string{"format": "pt", "fdrmfl": fdrmfl.ManifestFormat}); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, "model.safetensors"), buf.Bytes()); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "manifest.json"), m)
}

// modelState builds the network a manifest describes, bound to a state.
func modelState(m *fdrmfl.Manifest) (*nn.State[float32], error) {
	net, err := model.New[float32](m.Model, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	return nn.Bind[float32](net), nil
}

// loadModel reads a model folder written by saveModel.
func loadModel(dir string) (*fdrmfl.Manifest, []float32, error) {
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return nil, nil, err
	}
	var m fdrmfl.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	if err := m.Check(); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", filepath.Join(dir, "manifest.json"), err)
	}
	st, err := modelState(&m)
	if err != nil {
		return nil, nil, err
	}
	path := filepath.Join(dir, "model.safetensors")
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	if _, err := modelio.LoadState(f, st, false); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	return &m, st.Values, nil
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
		w.Write(row)
	}
	w.Flush()
	if err := writeFile(filepath.Join(dir, "rounds.csv"), buf.Bytes()); err != nil {
		return err
	}
	return writeJSON(filepath.Join(dir, "rounds.json"), res.Rounds)
}

// writeFeatures writes one CSV per client: split, sample row, z1…zd, the
// observed and predicted responses.
func writeFeatures(dir string, res *fdrmfl.Result) error {
	d := res.Manifest.Model.Features
	resp := res.Manifest.Responses
	for _, c := range res.Clients {
		var buf bytes.Buffer
		w := csv.NewWriter(&buf)
		head := []string{"split", "row"}
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
				for _, v := range sp.Z[i*d : (i+1)*d] {
					rec = append(rec, f32(v))
				}
				for j := range resp {
					rec = append(rec, f32(sp.Y[i*len(resp)+j]), f32(sp.Pred[i*len(resp)+j]))
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
	for _, c := range res.Clients {
		s.Clients[c.Name] = c.Test
	}
	return writeJSON(filepath.Join(dir, "results.json"), s)
}
