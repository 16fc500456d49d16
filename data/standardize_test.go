package data

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
)

// colStats returns the mean and population sd of column j (of width) over
// the rows in idx.
func colStats(x []float32, width, j int, idx []int) (mean, sd float64) {
	for _, i := range idx {
		mean += float64(x[i*width+j])
	}
	mean /= float64(len(idx))
	for _, i := range idx {
		d := float64(x[i*width+j]) - mean
		sd += d * d
	}
	return mean, math.Sqrt(sd / float64(len(idx)))
}

func TestStandardizerUsesTrainingRowsOnly(t *testing.T) {
	ds, err := Simulate(1, 60, newRand(3))
	if err != nil {
		t.Fatal(err)
	}
	train, test, err := TrainTestSplit(ds.Len(), 0.25, newRand(4))
	if err != nil {
		t.Fatal(err)
	}
	st, err := FitStandardizer(ds.Subset(train), nil)
	if err != nil {
		t.Fatal(err)
	}
	out, err := st.Apply(ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range out.Modalities {
		w := m.SampleSize()
		for _, j := range []int{0, 1, w / 2, w - 1} {
			mu, sd := colStats(m.Data, w, j, train)
			if math.Abs(mu) > 1e-5 || math.Abs(sd-1) > 1e-5 {
				t.Errorf("%s feature %d on train: mean %.2g sd %.6f, want 0 and 1", m.Name, j, mu, sd)
			}
		}
	}
	if mu, sd := colStats(out.Y, 1, 0, train); math.Abs(mu) > 1e-5 || math.Abs(sd-1) > 1e-5 {
		t.Errorf("y on train: mean %.2g sd %.6f", mu, sd)
	}

	// Changing the test rows must not change the fit.
	wild := ds.Clone()
	for _, i := range test {
		for k := range wild.Modalities {
			for j := range wild.Modalities[k].Sample(i) {
				wild.Modalities[k].Sample(i)[j] = 1e6
			}
		}
		wild.Y[i] = -1e6
	}
	st2, err := FitStandardizer(wild.Subset(train), nil)
	if err != nil {
		t.Fatal(err)
	}
	b1, _ := json.Marshal(st)
	b2, _ := json.Marshal(st2)
	if string(b1) != string(b2) {
		t.Error("the fit changed when only test rows changed")
	}
}

func TestStandardizerModes(t *testing.T) {
	// Columns: a ramp, a constant, and a column that is constant on the
	// present samples (sample 2 is absent).
	ds, err := New(4, []Modality{
		{Name: "p", Kind: Vector, Shape: []int{3}, Data: []float32{
			1, 5, 7,
			2, 5, 7,
			0, 0, 0,
			3, 5, 7,
		}, Present: []bool{true, true, false, true}},
		{Name: "g", Kind: Signal, Shape: []int{1, 2}, Data: []float32{0, 2, 4, 6, 0, 2, 4, 6}},
		{Name: "n", Kind: Vector, Shape: []int{1}, Data: []float32{9, 8, 7, 6}},
	}, []string{"y"}, []float32{1, 2, 3, 4})
	if err != nil {
		t.Fatal(err)
	}
	st, err := FitStandardizer(ds, &StandardizeOptions{Modes: map[string]Mode{"g": Global, "n": None}, Y: None})
	if err != nil {
		t.Fatal(err)
	}
	p, g, n := st.Modalities[0], st.Modalities[1], st.Modalities[2]
	if !slices.Equal(p.Mean, []float64{2, 5, 7}) || p.Std[1] != 1 || p.Std[2] != 1 || math.Abs(p.Std[0]-math.Sqrt(2.0/3)) > 1e-12 {
		t.Errorf("per-feature fit %+v: want means 2 5 7, sd √(2/3) 1 1", p)
	}
	if g.Mode != Global || !slices.Equal(g.Mean, []float64{3}) || math.Abs(g.Std[0]-math.Sqrt(5)) > 1e-12 {
		t.Errorf("global fit %+v: want mean 3, sd √5", g)
	}
	if n.Mode != None || n.Mean != nil || st.Y.Mode != None {
		t.Errorf("none fit %+v, y %+v", n, st.Y)
	}
	out, err := st.Apply(ds)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range out.Modalities[0].Data {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			t.Fatalf("non-finite value after Apply: %v", out.Modalities[0].Data)
		}
	}
	if got := out.Modalities[0].Sample(2); !slices.Equal(got, []float32{0, 0, 0}) {
		t.Errorf("absent sample became %v, want zeros", got)
	}
	if got := out.Modalities[0].Sample(3); got[1] != 0 || got[2] != 0 {
		t.Errorf("constant features became %v, want centred to 0", got[1:])
	}
	if !slices.Equal(out.Modalities[2].Data, ds.Modalities[2].Data) || !slices.Equal(out.Y, ds.Y) {
		t.Error("mode None changed the values")
	}
	if ds.Modalities[1].Data[0] != 0 || ds.Modalities[1].Data[1] != 2 {
		t.Error("Apply changed its input")
	}
}

func TestStandardizerNoPresentSamples(t *testing.T) {
	ds, _ := New(2, []Modality{{Name: "a", Kind: Vector, Shape: []int{2}, Data: make([]float32, 4), Present: []bool{false, false}}}, nil, nil)
	st, err := FitStandardizer(ds, nil)
	if err != nil {
		t.Fatal(err)
	}
	if sc := st.Modalities[0]; !slices.Equal(sc.Mean, []float64{0, 0}) || !slices.Equal(sc.Std, []float64{1, 1}) {
		t.Errorf("fit with no present samples: %+v, want identity", sc)
	}
}

func TestStandardizerJSONAndInverse(t *testing.T) {
	ds := small()
	st, err := FitStandardizer(ds, &StandardizeOptions{Default: Global})
	if err != nil {
		t.Fatal(err)
	}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"mode":"global"`) || !strings.Contains(string(b), `"mode":"per-feature"`) {
		t.Errorf("JSON does not name the modes: %s", b)
	}
	var back Standardizer
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	out, err := back.Apply(ds)
	if err != nil {
		t.Fatal(err)
	}
	y := slices.Clone(out.Y)
	back.InverseY(y)
	for i := range y {
		if math.Abs(float64(y[i]-ds.Y[i])) > 1e-6 {
			t.Fatalf("InverseY(Apply(y)) = %v, want %v", y, ds.Y)
		}
	}
}

func TestStandardizerErrors(t *testing.T) {
	ds := small()
	tests := []struct {
		name string
		run  func() error
		want string
	}{
		{"unknown modality in options", func() error {
			_, err := FitStandardizer(ds, &StandardizeOptions{Modes: map[string]Mode{"x": Global}})
			return err
		}, `standardize: no modality "x"; the dataset has v, s`},
		{"invalid mode", func() error {
			_, err := FitStandardizer(ds, &StandardizeOptions{Default: 5})
			return err
		}, `standardize "v": invalid mode 5`},
		{"modality not fitted", func() error {
			st, _ := FitStandardizer(ds, nil)
			st.Modalities = st.Modalities[:1]
			_, err := st.Apply(ds)
			return err
		}, `standardize: no scaling fitted for modality "s"`},
		{"size mismatch", func() error {
			st, _ := FitStandardizer(ds, nil)
			st.Modalities[1].Mean = st.Modalities[1].Mean[:2]
			st.Modalities[1].Std = st.Modalities[1].Std[:2]
			_, err := st.Apply(ds)
			return err
		}, `standardize "s": fitted per-feature for 2 values, data have 3 per sample`},
		{"responses differ", func() error {
			st, _ := FitStandardizer(ds, nil)
			st.ResponseNames = []string{"a", "c"}
			_, err := st.Apply(ds)
			return err
		}, `standardize: responses [a b], fitted for [a c]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.run(); err == nil || err.Error() != tt.want {
				t.Errorf("error %v, want %s", err, tt.want)
			}
		})
	}
}

func TestParseMode(t *testing.T) {
	for _, m := range []Mode{PerFeature, Global, None} {
		if got, err := ParseMode(m.String()); err != nil || got != m {
			t.Errorf("ParseMode(%q) = %v, %v", m, got, err)
		}
	}
	if _, err := ParseMode("minmax"); err == nil {
		t.Error("ParseMode(minmax): no error")
	}
}
