package partition

import (
	"slices"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
)

func TestByModality(t *testing.T) {
	ds, err := data.Simulate(1, 12, newRand(1))
	if err != nil {
		t.Fatal(err)
	}
	parts, err := IID(ds.Len(), 3, newRand(2))
	if err != nil {
		t.Fatal(err)
	}
	clients, err := ByModality(ds, parts, map[int][]string{1: {"text"}, 2: {"image", "vector"}})
	if err != nil {
		t.Fatal(err)
	}
	want := [][]bool{{true, true, true}, {true, false, true}, {false, true, false}}
	for c, cd := range clients {
		if err := cd.Validate(); err != nil {
			t.Fatal(err)
		}
		if cd.Len() != len(parts[c]) || !slices.Equal(cd.ModalityNames(), ds.ModalityNames()) {
			t.Errorf("client %d: %d samples, modalities %v", c, cd.Len(), cd.ModalityNames())
		}
		for k, m := range cd.Modalities {
			if has := m.NumPresent() == cd.Len(); has != want[c][k] {
				t.Errorf("client %d modality %s: present %v, want %v", c, m.Name, has, want[c][k])
			}
		}
		if !slices.Equal(cd.Y, ds.Subset(parts[c]).Y) {
			t.Errorf("client %d: responses differ from its samples'", c)
		}
	}
	if ds.Modality("text").Present != nil {
		t.Error("ByModality changed its input")
	}

	for _, tt := range []struct {
		lacks map[int][]string
		parts [][]int
		want  string
	}{
		{map[int][]string{3: {"text"}}, parts, "partition: missing modalities given for client 3, want 0 ≤ client < 3"},
		{map[int][]string{-1: {"text"}}, parts, "partition: missing modalities given for client -1, want 0 ≤ client < 3"},
		{map[int][]string{0: {"audio"}}, parts, `partition: client 0 lacks modality "audio", which the dataset does not have (it has [image text vector])`},
		{map[int][]string{2: {"image", "text", "vector"}}, parts, "partition: client 2 would lack every modality"},
		{nil, [][]int{{0, 12}}, "partition: client 0 holds sample 12, out of range [0, 12)"},
	} {
		if _, err := ByModality(ds, tt.parts, tt.lacks); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("ByModality(%v): error %v, want %s", tt.lacks, err, tt.want)
		}
	}
}
