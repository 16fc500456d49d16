package baseline

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// readCSV reads a numeric CSV with one header line.
func readCSV(t *testing.T, path string) *mat.Dense {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	recs = recs[1:]
	m := mat.NewDense(len(recs), len(recs[0]), nil)
	for i, r := range recs {
		for j, s := range r {
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				t.Fatalf("%s:%d:%d: %v", path, i+2, j+1, err)
			}
			m.Set(i, j, v)
		}
	}
	return m
}

// TestCornRidge cross-validates ridge on the real corn m5 spectra (80×700)
// with the contiguous 5 folds of testdata/corn_ref.py and compares with
// sklearn: R² for moisture ≈ 0.91 with standardised spectra and α = √10,
// as the corn README's 0.90.
func TestCornRidge(t *testing.T) {
	dir := filepath.Join(sharedData(t), "corn")
	x := readCSV(t, filepath.Join(dir, "m5.csv"))
	resp := readCSV(t, filepath.Join(dir, "responses.csv"))
	var ref struct {
		Alpha             float64
		Alphas            []float64
		RidgeR2           []float64 `json:"ridge_r2"`
		RidgeCVR2Moisture float64   `json:"ridgecv_r2_moisture"`
		PLS10R2Moisture   float64   `json:"pls10_r2_moisture"`
	}
	readJSON(t, "corn_ref.json", &ref)
	n, _ := x.Dims()
	folds := make([]int, n)
	for i := range folds {
		folds[i] = i / 16
	}
	r2 := func(y []float64, model func() Regressor) float64 {
		t.Helper()
		pred, err := CrossValPredict(model, x, y, folds)
		if err != nil {
			t.Fatal(err)
		}
		r, err := R2(y, pred)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	names := []string{"moisture", "oil", "protein", "starch"}
	for j, name := range names {
		got := r2(mat.Col(nil, j, resp), func() Regressor { return &Ridge{Alpha: ref.Alpha, Standardize: true} })
		if math.Abs(got-ref.RidgeR2[j]) > 1e-8 {
			t.Errorf("%s: ridge CV R² %.10f, sklearn %.10f", name, got, ref.RidgeR2[j])
		}
		if j == 0 && (got < 0.85 || got > 0.95) {
			t.Errorf("moisture: ridge CV R² %.3f, README says about 0.90", got)
		}
	}
	moisture := mat.Col(nil, 0, resp)
	if got := r2(moisture, func() Regressor { return &Ridge{Alphas: ref.Alphas, Standardize: true} }); math.Abs(got-ref.RidgeCVR2Moisture) > 1e-8 {
		t.Errorf("moisture: nested LOO ridge R² %.10f, sklearn RidgeCV %.10f", got, ref.RidgeCVR2Moisture)
	}
	if got := r2(moisture, func() Regressor { return &PLS{Components: 10} }); math.Abs(got-ref.PLS10R2Moisture) > 1e-7 {
		t.Errorf("moisture: 10-component PLS R² %.10f, sklearn %.10f", got, ref.PLS10R2Moisture)
	}
}
