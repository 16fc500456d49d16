package modelio

import (
	"fmt"
	"io"
	"slices"

	"github.com/fdrmfl/fdrmfl/nn"
)

// StateTensors returns every parameter and buffer of s as a named tensor
// (a copy, in float32), in the state's order.
func StateTensors[T nn.Float](s *nn.State[T]) []Tensor {
	out := make([]Tensor, len(s.Entries))
	for i, e := range s.Entries {
		d := make([]float32, e.Param.Len())
		for j, v := range e.Param.Value {
			d[j] = float32(v)
		}
		out[i] = Tensor{Name: e.Name, Shape: slices.Clone(e.Param.Shape), Data: d}
	}
	return out
}

// SaveState writes the parameters and buffers of s as a safetensors file
// whose names and shapes are those of the model (torch state_dict style).
func SaveState[T nn.Float](w io.Writer, s *nn.State[T], meta map[string]string) error {
	return WriteSafetensors(w, StateTensors(s), meta)
}

// LoadState reads a safetensors file into s. Every parameter and buffer of
// s must be present with its exact shape; tensors the model does not have
// are an error unless ignoreExtra is set (a PyTorch file may carry, for
// instance, num_batches_tracked). On error s is unchanged.
func LoadState[T nn.Float](r io.Reader, s *nn.State[T], ignoreExtra bool) (map[string]string, error) {
	ts, meta, err := ReadSafetensors(r)
	if err != nil {
		return nil, err
	}
	return meta, AssignTensors(s, ts, ignoreExtra)
}

// AssignTensors copies named tensors into s, with the checks of LoadState.
func AssignTensors[T nn.Float](s *nn.State[T], ts []Tensor, ignoreExtra bool) error {
	byName := make(map[string]Tensor, len(ts))
	for _, t := range ts {
		byName[t.Name] = t
	}
	for _, e := range s.Entries {
		t, ok := byName[e.Name]
		if !ok {
			return fmt.Errorf("%w: tensor %q (shape %v) is missing", ErrMismatch, e.Name, e.Param.Shape)
		}
		if !slices.Equal(t.Shape, e.Param.Shape) {
			return fmt.Errorf("%w: tensor %q has shape %v, the model needs %v", ErrMismatch, e.Name, t.Shape, e.Param.Shape)
		}
		delete(byName, e.Name)
	}
	if len(byName) > 0 && !ignoreExtra {
		var extra []string
		for n := range byName {
			extra = append(extra, n)
		}
		slices.Sort(extra)
		return fmt.Errorf("%w: the model has no tensor named %q (%d unknown in all)", ErrMismatch, extra[0], len(extra))
	}
	for _, t := range ts {
		if e, ok := s.Lookup(t.Name); ok {
			for j, v := range t.Data {
				e.Param.Value[j] = T(v)
			}
		}
	}
	return nil
}
