package preprocess

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"
)

type reference struct {
	X     [][]float64 `json:"x"`
	Cases []struct {
		Chain string      `json:"chain"`
		Y     [][]float64 `json:"y"`
	} `json:"cases"`
}

// fitLocal fits a chain's msc references on rows held in one place.
func fitLocal(t *testing.T, c Chain, x []float32, width int) Chain {
	t.Helper()
	f, err := c.Fit(func(prefix Chain) ([]float64, int, error) { return prefix.Sum(x, width, width, nil) })
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestMatchesScipy compares every step, and chains of them, with
// scipy.signal.savgol_filter (mode "interp"), scipy.signal.detrend and
// numpy formulas for SNV, MSC and polynomial detrending.
func TestMatchesScipy(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "preprocess_ref.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	width := len(ref.X[0])
	var worst float64
	for _, tc := range ref.Cases {
		c, err := Parse(tc.Chain)
		if err != nil {
			t.Fatalf("%s: %v", tc.Chain, err)
		}
		if c.String() != tc.Chain {
			t.Errorf("%s reads back as %s", tc.Chain, c)
		}
		var x []float32
		for _, row := range ref.X {
			for _, v := range row {
				x = append(x, float32(v))
			}
		}
		// Work in float64 rows to compare to 1e-12 (float32 samples
		// round the inputs).
		rows := make([][]float64, len(ref.X))
		fitted := fitLocal(t, c, x, width)
		for i, row := range ref.X {
			rows[i] = append([]float64(nil), row...)
		}
		if fitted.NeedsFit() {
			fitted = fitFloat64(t, c, rows)
		}
		var d, scale float64
		for i, row := range rows {
			got := append([]float64(nil), row...)
			if err := fitted.ApplyRow(got, width); err != nil {
				t.Fatal(err)
			}
			for j, v := range got {
				d = max(d, math.Abs(v-tc.Y[i][j]))
				scale = max(scale, math.Abs(tc.Y[i][j]))
			}
		}
		worst = max(worst, d/scale)
		if d > 1e-10*scale {
			t.Errorf("%s: differs from the reference by %.2g (largest value %.3g)", tc.Chain, d, scale)
		}
	}
	t.Logf("every chain within %.2g of scipy/numpy (relative to the largest value)", worst)
}

// fitFloat64 fits msc references from float64 rows (as numpy does).
func fitFloat64(t *testing.T, c Chain, rows [][]float64) Chain {
	t.Helper()
	width := len(rows[0])
	f, err := c.Fit(func(prefix Chain) ([]float64, int, error) {
		sum := make([]float64, width)
		for _, row := range rows {
			r := append([]float64(nil), row...)
			if err := prefix.ApplyRow(r, width); err != nil {
				return nil, 0, err
			}
			for j, v := range r {
				sum[j] += v
			}
		}
		return sum, len(rows), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestFederatedFitEqualsPooled checks that msc references fitted from the
// sums of three clients equal those of the pooled rows, and that several
// spectra per sample are transformed one by one.
func TestFederatedFitEqualsPooled(t *testing.T) {
	const n, channels, width = 9, 2, 30
	x := make([]float32, n*channels*width)
	for i := range x {
		x[i] = float32(1 + math.Sin(float64(i%width)/4) + 0.1*float64(i/(channels*width)) + 0.01*float64(i%7))
	}
	c, err := Parse("sg1(7,2)+msc")
	if err != nil {
		t.Fatal(err)
	}
	size := channels * width
	pooled, err := c.Fit(func(p Chain) ([]float64, int, error) { return p.Sum(x, size, width, nil) })
	if err != nil {
		t.Fatal(err)
	}
	parts := [][2]int{{0, 2}, {2, 6}, {6, 9}}
	fed, err := c.Fit(func(p Chain) ([]float64, int, error) {
		tot := make([]float64, size)
		cnt := 0
		for _, r := range parts {
			s, k, err := p.Sum(x[r[0]*size:r[1]*size], size, width, nil)
			if err != nil {
				return nil, 0, err
			}
			for j, v := range s {
				tot[j] += v
			}
			cnt += k
		}
		return tot, cnt, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for j, v := range pooled[1].Ref {
		if math.Abs(v-fed[1].Ref[j]) > 1e-12 {
			t.Fatalf("reference %d: pooled %g, federated %g", j, v, fed[1].Ref[j])
		}
	}
	// A sample of two spectra equals the two transformed alone.
	y := append([]float32(nil), x[:size]...)
	if err := fed.Apply(y, size, width, nil); err != nil {
		t.Fatal(err)
	}
	for ch := range channels {
		one := Chain{fed[0], {Op: "msc", Ref: fed[1].Ref[ch*width : (ch+1)*width]}}
		z := append([]float32(nil), x[ch*width:(ch+1)*width]...)
		if err := one.Apply(z, width, width, nil); err != nil {
			t.Fatal(err)
		}
		for j, v := range z {
			if v != y[ch*width+j] {
				t.Fatalf("channel %d value %d: %g alone, %g in the sample", ch, j, v, y[ch*width+j])
			}
		}
	}
	// Absent samples are left alone.
	w := append([]float32(nil), x[:2*size]...)
	if err := fed.Apply(w, size, width, []bool{false, true}); err != nil {
		t.Fatal(err)
	}
	for j := range size {
		if w[j] != x[j] {
			t.Fatal("an absent sample was transformed")
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, s := range []string{"sg(10,2)", "sg1(11,1)+", "sg2(5,1)", "sg(5,5)", "snv(3)", "wavelet", "none+snv", "detrend(9)", "sg1(11", "sg(a,2)"} {
		if _, err := Parse(s); err == nil {
			t.Errorf("%q: no error", s)
		}
	}
	for _, s := range []string{"", "none", " snv + sg1(11,2) ", "msc+sg2(15,3)+detrend(2)"} {
		if _, err := Parse(s); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
	c, _ := Parse("sg1(31,2)")
	if err := c.Check(20, 20, true); err == nil {
		t.Error("a window longer than the spectrum: no error")
	}
	m, _ := Parse("msc")
	if err := m.Apply(make([]float32, 20), 20, 20, nil); err == nil {
		t.Error("msc without a reference: no error")
	}
}

func TestCandidates(t *testing.T) {
	for _, width := range []int{100, 700} {
		cs := Candidates(width)
		if len(cs) < 8 || cs[0].String() != "none" {
			t.Errorf("%d channels: candidates %v", width, cs)
		}
		for _, c := range cs {
			if err := c.Check(width, width, false); err != nil {
				t.Errorf("%d channels: %v", width, err)
			}
		}
	}
	if got := Candidates(700)[5].String(); got != "sg1(11,2)" {
		t.Errorf("700 channels: first derivative %s, want sg1(11,2)", got)
	}
}

// TestFlatSumRoundTrip lays two clients' parts of Fit out as vectors,
// adds them and splits the sum: the summed spectra and the total count,
// made whole again when a fixed-point sum left it a hair off.
func TestFlatSumRoundTrip(t *testing.T) {
	a, blocks := FlatSum([]float64{1, 2.5, -3}, 4)
	b, _ := FlatSum([]float64{0.5, 0.5, 1}, 6)
	if len(a) != 4 || len(blocks) != 2 || blocks[0] != 3 || blocks[1] != 1 {
		t.Fatalf("vector %v in blocks %v", a, blocks)
	}
	sum := make([]float64, len(a))
	for i := range a {
		sum[i] = a[i] + b[i]
	}
	sum[3] -= 1e-9
	tot, n := UnflatSum(sum)
	if n != 10 || len(tot) != 3 || tot[0] != 1.5 || tot[1] != 3 || tot[2] != -2 {
		t.Fatalf("sum %v of %d samples", tot, n)
	}
}
