package data

import (
	"math"
	"slices"
	"testing"
)

func TestRealDatasets(t *testing.T) {
	fsys := sharedData(t)
	type mod struct {
		name  string
		kind  Kind
		shape []int
	}
	tests := []struct {
		name  string
		read  func() (*Dataset, error)
		n     int
		mods  []mod
		means map[string]float64 // README means, to 3 decimals (Tecator 2)
	}{
		{"CornP2", func() (*Dataset, error) { return CornP2(fsys) }, 80,
			[]mod{{"m5", Signal, []int{1, 700}}, {"mp5", Signal, []int{1, 700}}, {"mp6", Signal, []int{1, 700}}},
			map[string]float64{"moisture": 10.234, "oil": 3.498, "protein": 8.668, "starch": 64.696}},
		{"CornP1/oil", func() (*Dataset, error) { return CornP1(fsys, "oil") }, 80,
			[]mod{{"spectrum", Signal, []int{1, 700}}, {"vector", Vector, []int{3}}},
			map[string]float64{"oil": 3.498}},
		{"TecatorSpectra", func() (*Dataset, error) { return TecatorSpectra(fsys) }, 215,
			[]mod{{"spectrum", Signal, []int{1, 100}}},
			map[string]float64{"fat": 18.14, "water": 63.20, "protein": 17.68}},
		{"TecatorP1/protein", func() (*Dataset, error) { return TecatorP1(fsys, "protein") }, 215,
			[]mod{{"spectrum", Signal, []int{1, 100}}, {"vector", Vector, []int{2}}},
			map[string]float64{"protein": 17.68}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ds, err := tt.read()
			if err != nil {
				t.Fatal(err)
			}
			if ds.Len() != tt.n {
				t.Errorf("Len = %d, want %d", ds.Len(), tt.n)
			}
			if got := len(ds.Modalities); got != len(tt.mods) {
				t.Fatalf("%d modalities, want %d", got, len(tt.mods))
			}
			for i, want := range tt.mods {
				m := ds.Modalities[i]
				if m.Name != want.name || m.Kind != want.kind || !slices.Equal(m.Shape, want.shape) {
					t.Errorf("modality %d = %s %v %v, want %s %v %v", i, m.Name, m.Kind, m.Shape, want.name, want.kind, want.shape)
				}
				if m.Present != nil {
					t.Errorf("modality %s has absent samples", m.Name)
				}
			}
			if len(ds.ResponseNames) != len(tt.means) {
				t.Errorf("responses %v, want %d", ds.ResponseNames, len(tt.means))
			}
			for name, want := range tt.means {
				j := ds.ResponseIndex(name)
				if j < 0 {
					t.Errorf("no response %q in %v", name, ds.ResponseNames)
					continue
				}
				if got := mean(ds.Response(j)); math.Abs(got-want) > 0.006 {
					t.Errorf("mean %s = %.4f, want %.3f", name, got, want)
				}
			}
		})
	}
}

// TestP1VectorHoldsOtherResponses checks that P1's vector modality is the
// other responses, row by row, in file order.
func TestP1VectorHoldsOtherResponses(t *testing.T) {
	fsys := sharedData(t)
	all, err := CornP2(fsys)
	if err != nil {
		t.Fatal(err)
	}
	p1, err := CornP1(fsys, "protein")
	if err != nil {
		t.Fatal(err)
	}
	v := p1.Modality("vector")
	for i := range all.Len() {
		row := all.Y[i*4 : i*4+4] // moisture, oil, protein, starch
		want := []float32{row[0], row[1], row[3]}
		if !slices.Equal(v.Sample(i), want) {
			t.Fatalf("sample %d: vector %v, want %v", i, v.Sample(i), want)
		}
		if p1.Y[i] != row[2] {
			t.Fatalf("sample %d: y %v, want %v", i, p1.Y[i], row[2])
		}
	}
	if !slices.Equal(p1.Modality("spectrum").Data, all.Modality("m5").Data) {
		t.Error("P1 spectrum differs from P2's m5")
	}
	if _, err := CornP1(fsys, "fat"); err == nil {
		t.Error("CornP1(fat): no error")
	}
}

func TestTecatorSplit(t *testing.T) {
	train, test, err := TecatorSplit(sharedData(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(train) != 172 || len(test) != 43 || train[171] != 171 || test[0] != 172 || test[42] != 214 {
		t.Errorf("split: %d train (last %d), %d test (%d…%d); want 172 (0–171) and 43 (172–214)",
			len(train), train[len(train)-1], len(test), test[0], test[len(test)-1])
	}
}

func BenchmarkCornP2(b *testing.B) {
	fsys := sharedData(b)
	for b.Loop() {
		if _, err := CornP2(fsys); err != nil {
			b.Fatal(err)
		}
	}
}

func mean(x []float32) float64 {
	var s float64
	for _, v := range x {
		s += float64(v)
	}
	return s / float64(len(x))
}
