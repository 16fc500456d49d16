package partition

import (
	"fmt"
	"maps"
	"slices"

	"github.com/fdrmfl/fdrmfl/data"
)

// ByModality returns one dataset per part of parts, a copy of the samples
// parts[c] of ds in which every modality named in lacks[c] is marked absent
// for all samples of client c (its values zeroed). The modality keeps its
// place and shape, so all clients share one model layout. parts may be any
// index partition, such as the result of IID or ByResponse; a nil lacks
// just splits ds.
//
// It is an error for lacks to name a client outside parts or a modality
// that ds does not have, or to leave a client with no modality at all.
func ByModality(ds *data.Dataset, parts [][]int, lacks map[int][]string) ([]*data.Dataset, error) {
	for _, c := range slices.Sorted(maps.Keys(lacks)) { // sorted: the same error every run
		if c < 0 || c >= len(parts) {
			return nil, fmt.Errorf("partition: missing modalities given for client %d, want 0 ≤ client < %d", c, len(parts))
		}
		names := lacks[c]
		for _, name := range names {
			if ds.ModalityIndex(name) < 0 {
				return nil, fmt.Errorf("partition: client %d lacks modality %q, which the dataset does not have (it has %v)",
					c, name, ds.ModalityNames())
			}
		}
		if left := slices.DeleteFunc(ds.ModalityNames(), func(m string) bool { return slices.Contains(names, m) }); len(left) == 0 {
			return nil, fmt.Errorf("partition: client %d would lack every modality", c)
		}
	}
	for c, p := range parts {
		for _, i := range p {
			if i < 0 || i >= ds.Len() {
				return nil, fmt.Errorf("partition: client %d holds sample %d, out of range [0, %d)", c, i, ds.Len())
			}
		}
	}
	out := make([]*data.Dataset, len(parts))
	for c, p := range parts {
		out[c] = ds.Subset(p)
		for _, name := range lacks[c] {
			if err := out[c].MarkAbsent(name); err != nil {
				return nil, err // checked above; cannot happen
			}
		}
	}
	return out, nil
}
