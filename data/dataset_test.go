package data

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// small returns a 4-sample dataset: a vector [2], a signal [1, 3] whose
// sample 2 is absent, and two responses.
func small() *Dataset {
	ds, err := New(4, []Modality{
		{Name: "v", Kind: Vector, Shape: []int{2}, Data: []float32{0, 1, 10, 11, 20, 21, 30, 31}},
		{Name: "s", Kind: Signal, Shape: []int{1, 3},
			Data:    []float32{1, 2, 3, 4, 5, 6, 0, 0, 0, 7, 8, 9},
			Present: []bool{true, true, false, true}},
	}, []string{"a", "b"}, []float32{0, -0.5, 1, -1.5, 2, -2.5, 3, -3.5})
	if err != nil {
		panic(err)
	}
	return ds
}

func TestKind(t *testing.T) {
	for _, k := range []Kind{Vector, Signal, Image, Sequence} {
		got, err := ParseKind(strings.ToUpper(k.String()))
		if err != nil || got != k {
			t.Errorf("ParseKind(%q) = %v, %v", strings.ToUpper(k.String()), got, err)
		}
		b, err := json.Marshal(k)
		if err != nil {
			t.Fatal(err)
		}
		var back Kind
		if err := json.Unmarshal(b, &back); err != nil || back != k {
			t.Errorf("JSON %s decoded to %v, %v", b, back, err)
		}
	}
	if _, err := ParseKind("tensor"); err == nil || !strings.Contains(err.Error(), `"tensor"`) {
		t.Errorf("ParseKind(tensor) error = %v", err)
	}
	if s := Kind(9).String(); s != "Kind(9)" {
		t.Errorf("Kind(9).String() = %q", s)
	}
	if _, err := json.Marshal(Kind(9)); err == nil {
		t.Error("marshalling Kind(9): no error")
	}
}

func TestValidate(t *testing.T) {
	vec := func(name string, n int) Modality {
		return Modality{Name: name, Kind: Vector, Shape: []int{2}, Data: make([]float32, 2*n)}
	}
	tests := []struct {
		name  string
		n     int
		mods  []Modality
		resp  []string
		y     []float32
		error string // "" for a valid dataset
	}{
		{"valid", 3, []Modality{vec("a", 3), vec("b", 3)}, []string{"y"}, make([]float32, 3), ""},
		{"no responses", 3, []Modality{vec("a", 3)}, nil, nil, ""},
		{"no modalities", 2, nil, []string{"y"}, []float32{1, 2}, ""},
		{"negative n", -1, nil, nil, nil, "dataset has -1 samples"},
		{"unnamed modality", 3, []Modality{{Kind: Vector, Shape: []int{1}}}, nil, nil, "modality 0 has no name"},
		{"duplicate modality", 3, []Modality{vec("a", 3), vec("a", 3)}, nil, nil, `two modalities are named "a"`},
		{"wrong rank", 1, []Modality{{Name: "i", Kind: Image, Shape: []int{3, 4}, Data: make([]float32, 12)}}, nil, nil,
			`modality "i": kind image needs a shape of 3 dimensions ([C, H, W]), got [3 4]`},
		{"zero dimension", 1, []Modality{{Name: "s", Kind: Signal, Shape: []int{0, 4}}}, nil, nil,
			`modality "s": shape [0 4] has a dimension ≤ 0`},
		{"bad kind", 1, []Modality{{Name: "s", Kind: 7, Shape: []int{4}}}, nil, nil, `modality "s": invalid kind 7`},
		{"short data", 3, []Modality{vec("a", 2)}, nil, nil, `modality "a": 4 values, want 3 samples × 2 = 6`},
		{"short mask", 3, []Modality{{Name: "a", Kind: Vector, Shape: []int{1}, Data: make([]float32, 3), Present: []bool{true}}}, nil, nil,
			`modality "a": presence mask for 1 samples, want 3`},
		{"absent but non-zero", 2, []Modality{{Name: "a", Kind: Vector, Shape: []int{1}, Data: []float32{1, 2}, Present: []bool{true, false}}}, nil, nil,
			`modality "a": sample 1 is absent but holds non-zero values`},
		{"short y", 3, nil, []string{"y"}, make([]float32, 2), "2 response values, want 3 samples × 1 responses = 3"},
		{"y without names", 1, nil, nil, []float32{1}, "1 response values, want 1 samples × 0 responses = 0"},
		{"duplicate response", 1, nil, []string{"y", "y"}, make([]float32, 2), `two responses are named "y"`},
		{"unnamed response", 1, nil, []string{""}, make([]float32, 1), "response 0 has no name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.n, tt.mods, tt.resp, tt.y)
			switch {
			case tt.error == "" && err != nil:
				t.Errorf("unexpected error: %v", err)
			case tt.error != "" && (err == nil || err.Error() != tt.error):
				t.Errorf("error %v, want %s", err, tt.error)
			}
		})
	}
}

func TestSubset(t *testing.T) {
	ds := small()
	sub := ds.Subset([]int{3, 2, 3})
	if err := sub.Validate(); err != nil {
		t.Fatal(err)
	}
	if sub.Len() != 3 {
		t.Fatalf("Len = %d", sub.Len())
	}
	if got, want := sub.Modality("v").Data, []float32{30, 31, 20, 21, 30, 31}; !slices.Equal(got, want) {
		t.Errorf("v = %v, want %v", got, want)
	}
	if got, want := sub.Modality("s").Present, []bool{true, false, true}; !slices.Equal(got, want) {
		t.Errorf("s.Present = %v, want %v", got, want)
	}
	if got, want := sub.Y, []float32{3, -3.5, 2, -2.5, 3, -3.5}; !slices.Equal(got, want) {
		t.Errorf("Y = %v, want %v", got, want)
	}
	sub.Modalities[0].Data[0] = 99
	sub.Modalities[0].Shape[0] = 99
	sub.Y[0] = 99
	if ds.Modalities[0].Data[6] == 99 || ds.Modalities[0].Shape[0] == 99 || ds.Y[6] == 99 {
		t.Error("Subset shares memory with its source")
	}
	if sub := ds.Subset(nil); sub.Len() != 0 || sub.Validate() != nil {
		t.Errorf("empty subset: Len %d, %v", sub.Len(), sub.Validate())
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "index 4 out of range [0, 4)") {
			t.Errorf("Subset out of range: recovered %v", r)
		}
	}()
	ds.Subset([]int{4})
}

func TestCloneIsDeep(t *testing.T) {
	ds := small()
	c := ds.Clone()
	c.Modalities[1].Present[0] = false
	c.ResponseNames[0] = "z"
	if !ds.Modalities[1].Present[0] || ds.ResponseNames[0] != "a" {
		t.Error("Clone shares memory with its source")
	}
}

func TestGatherDoesNotAllocate(t *testing.T) {
	ds := small()
	s := ds.Modality("s")
	idx := []int{3, 0}
	x := make([]float32, 8)
	present := make([]bool, 2)
	y := make([]float32, 4)
	allocs := testing.AllocsPerRun(100, func() {
		s.Gather(x, idx)
		s.GatherPresent(present, idx)
		ds.GatherY(y, idx)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per batch, want 0", allocs)
	}
	if got := s.Gather(x, idx); !slices.Equal(got, []float32{7, 8, 9, 1, 2, 3}) {
		t.Errorf("Gather = %v", got)
	}
	if got := s.GatherPresent(present, []int{2, 1}); !slices.Equal(got, []bool{false, true}) {
		t.Errorf("GatherPresent = %v", got)
	}
	if got := ds.GatherY(y, idx); !slices.Equal(got, []float32{3, -3.5, 0, -0.5}) {
		t.Errorf("GatherY = %v", got)
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), `needs dst of 6 values, have 5`) {
			t.Errorf("short dst: recovered %v", r)
		}
	}()
	s.Gather(x[:5], idx)
}

func TestModalityEdits(t *testing.T) {
	ds := small()
	if err := ds.MarkAbsent("v"); err != nil {
		t.Fatal(err)
	}
	v := ds.Modality("v")
	if v.NumPresent() != 0 || slices.ContainsFunc(v.Data, func(x float32) bool { return x != 0 }) {
		t.Errorf("after MarkAbsent: present %d, data %v", v.NumPresent(), v.Data)
	}
	if err := ds.Validate(); err != nil {
		t.Error(err)
	}

	s := ds.Modality("s")
	s.SetAbsent(0)
	if s.Has(0) || s.NumPresent() != 2 || s.Sample(0)[0] != 0 {
		t.Errorf("after SetAbsent(0): present %v, sample %v", s.Present, s.Sample(0))
	}
	v2 := Modality{Name: "w", Kind: Vector, Shape: []int{1}, Data: []float32{5, 6}}
	v2.SetAbsent(1)
	if !slices.Equal(v2.Present, []bool{true, false}) || v2.Data[1] != 0 {
		t.Errorf("SetAbsent on a full modality: %v %v", v2.Present, v2.Data)
	}

	if err := ds.RemoveModality("v"); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ds.ModalityNames(), []string{"s"}) {
		t.Errorf("names after RemoveModality: %v", ds.ModalityNames())
	}
	for _, err := range []error{ds.RemoveModality("v"), ds.MarkAbsent("x")} {
		if err == nil || !strings.Contains(err.Error(), "the dataset has s") {
			t.Errorf("unknown modality: error %v", err)
		}
	}
}

func TestResponse(t *testing.T) {
	ds := small()
	if j := ds.ResponseIndex("b"); j != 1 {
		t.Fatalf("ResponseIndex(b) = %d", j)
	}
	if got := ds.Response(1); !slices.Equal(got, []float32{-0.5, -1.5, -2.5, -3.5}) {
		t.Errorf("Response(1) = %v", got)
	}
	if ds.ResponseIndex("c") != -1 || ds.ModalityIndex("c") != -1 || ds.Modality("c") != nil {
		t.Error("lookup of an unknown name found something")
	}
}

func BenchmarkGather(b *testing.B) {
	img := &Modality{Name: "image", Kind: Image, Shape: []int{3, 32, 32}, Data: make([]float32, 512*3072)}
	idx := newRand(2).Perm(512)[:32]
	dst := make([]float32, 32*img.SampleSize())
	b.SetBytes(int64(len(dst) * 4))
	for b.Loop() {
		img.Gather(dst, idx)
	}
}
