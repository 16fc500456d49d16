package fdrmfl

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/internal/disk"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/modelio"
	"github.com/fdrmfl/fdrmfl/nn"
)

// Model is a trained model: its manifest and its flat weight vector. A
// model folder holds the two as manifest.json and model.safetensors
// (every weight and buffer by its PyTorch state_dict name).
type Model struct {
	Manifest *Manifest
	Weights  []float32
}

// Model returns the result's trained model (nil when there is none, as
// for local-only training).
func (r *Result) Model() *Model {
	if r.Manifest == nil || r.Weights == nil {
		return nil
	}
	return &Model{Manifest: r.Manifest, Weights: r.Weights}
}

// LoadModel reads a model folder written by Model.Save (and by the
// fdrmfl command's simulate and server).
func LoadModel(dir string) (*Model, error) {
	path := filepath.Join(dir, "manifest.json")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if m.IsLinear() {
		return loadLinear(dir, &m)
	}
	st, err := modelState(&m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	path = filepath.Join(dir, "model.safetensors")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if _, err := modelio.LoadState(f, st, false); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &Model{Manifest: &m, Weights: st.Values}, nil
}

// NamedTensors returns the model's weights and buffers as named tensors,
// as model.safetensors stores them (PyTorch state_dict names).
func (m *Model) NamedTensors() ([]modelio.Tensor, error) {
	if m.Manifest.IsLinear() {
		return m.linearTensors()
	}
	st, err := modelState(m.Manifest)
	if err != nil {
		return nil, err
	}
	if err := st.Load(m.Weights); err != nil {
		return nil, err
	}
	return modelio.StateTensors(st), nil
}

// Save writes the model to the folder dir (manifest.json and
// model.safetensors), each file atomically.
func (m *Model) Save(dir string) error {
	ts, err := m.NamedTensors()
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if err := modelio.WriteSafetensors(&buf, ts, map[string]string{"format": "pt", "fdrmfl": ManifestFormat}); err != nil {
		return err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if err := disk.WriteFile(filepath.Join(dir, "model.safetensors"), buf.Bytes()); err != nil {
		return err
	}
	b, err := json.MarshalIndent(m.Manifest, "", "  ")
	if err != nil {
		return err
	}
	return disk.WriteFile(filepath.Join(dir, "manifest.json"), append(b, '\n'))
}

// Extract applies the model to raw data ds, as the package-level Extract.
func (m *Model) Extract(ds *data.Dataset) (*Extraction, error) {
	return Extract(m.Manifest, m.Weights, ds)
}

// modelState builds the network a manifest describes, bound to a state.
func modelState(m *Manifest) (*nn.State[float32], error) {
	net, err := model.New[float32](m.Model, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	return nn.Bind[float32](net), nil
}

// linearTensors cuts a linear model's flat weights into its tensors.
func (m *Model) linearTensors() ([]modelio.Tensor, error) {
	w := m.Weights
	if len(w) != m.Manifest.Values {
		return nil, fmt.Errorf("a %s model of %d values has %d weights", m.Manifest.Model.Kind, m.Manifest.Values, len(w))
	}
	var out []modelio.Tensor
	for _, t := range m.Manifest.linearLayout() {
		n := prod(t.Shape)
		out = append(out, modelio.Tensor{Name: t.Name, Shape: slices.Clone(t.Shape), Data: slices.Clone(w[:n])})
		w = w[n:]
	}
	return out, nil
}

// loadLinear reads the weights of the linear model m describes from the
// folder's model.safetensors: exactly the tensors of its layout.
func loadLinear(dir string, m *Manifest) (*Model, error) {
	path := filepath.Join(dir, "model.safetensors")
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	ts, _, err := modelio.ReadSafetensors(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	byName := map[string]modelio.Tensor{}
	for _, t := range ts {
		byName[t.Name] = t
	}
	layout := m.linearLayout()
	w := make([]float32, 0, m.Values)
	for _, want := range layout {
		t, ok := byName[want.Name]
		if !ok {
			return nil, fmt.Errorf("%s: no tensor %q (a %s model has %s)", path, want.Name, m.Model.Kind, tensorNames(layout))
		}
		if !slices.Equal(t.Shape, want.Shape) {
			return nil, fmt.Errorf("%s: tensor %q has shape %v, the manifest's model needs %v", path, want.Name, t.Shape, want.Shape)
		}
		for i, v := range t.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return nil, fmt.Errorf("%s: tensor %q: value %d is %v", path, want.Name, i, v)
			}
		}
		w = append(w, t.Data...)
		delete(byName, want.Name)
	}
	for name := range byName {
		return nil, fmt.Errorf("%s: tensor %q is not part of a %s model (it has %s)", path, name, m.Model.Kind, tensorNames(layout))
	}
	return &Model{Manifest: m, Weights: w}, nil
}

func tensorNames(ts []TensorShape) string {
	var s []string
	for _, t := range ts {
		s = append(s, t.Name)
	}
	return strings.Join(s, ", ")
}
