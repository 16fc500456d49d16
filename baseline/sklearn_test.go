package baseline

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/mat"
)

// sklearnRef is testdata/sklearn_ref.json, written by sklearn_ref.py.
type sklearnRef struct {
	Tall struct {
		XTrain [][]float64 `json:"xtrain"`
		XTest  [][]float64 `json:"xtest"`
		YTrain [][]float64 `json:"ytrain"`
	} `json:"tall"`
	Wide struct {
		XTrain [][]float64 `json:"xtrain"`
		XTest  [][]float64 `json:"xtest"`
		YTrain []float64   `json:"ytrain"`
	} `json:"wide"`
	Scaler struct {
		X, Z        [][]float64
		Mean, Scale []float64
	} `json:"scaler"`
	PCA []struct {
		Name              string
		Standardize       bool
		Variance          float64
		Components, K     int
		Basis, Scores     [][]float64
		Variances, Ratios []float64
	} `json:"pca"`
	TSVD struct {
		Singular      []float64
		Basis, Scores [][]float64
		K90, K99      int
	} `json:"tsvd"`
	Ridge []struct {
		Name               string
		Standardize, Multi bool
		Alpha              float64
		Coef, Pred         [][]float64
		Intercept          []float64
	} `json:"ridge"`
	RidgeCV []struct {
		Name          string
		Standardize   bool
		Alphas, CVMSE []float64
		Alpha         float64
	} `json:"ridgecv"`
	PLS []struct {
		Name                                     string
		Components                               int
		Multi                                    bool
		Weights, XLoadings, YLoadings, Rotations [][]float64
		Scores, Pred                             [][]float64
	} `json:"pls"`
	Metrics struct {
		Y, YHat []float64
		MSE, R2 float64
	} `json:"metrics"`
}

func loadRef(t *testing.T) *sklearnRef {
	t.Helper()
	var r sklearnRef
	readJSON(t, "sklearn_ref.json", &r)
	return &r
}

// data returns the named training/test design of the reference file.
func (r *sklearnRef) data(name string) (xtr, xte, ytr *mat.Dense) {
	if len(name) >= 4 && name[:4] == "wide" {
		return dense(r.Wide.XTrain), dense(r.Wide.XTest), mat.NewDense(len(r.Wide.YTrain), 1, r.Wide.YTrain)
	}
	return dense(r.Tall.XTrain), dense(r.Tall.XTest), dense(r.Tall.YTrain)
}

func TestScalerMatchesSklearn(t *testing.T) {
	ref := loadRef(t)
	var s Scaler
	if err := s.Fit(dense(ref.Scaler.X)); err != nil {
		t.Fatal(err)
	}
	z, err := s.Transform(dense(ref.Scaler.X))
	if err != nil {
		t.Fatal(err)
	}
	if d := vecDiff(s.Mean, ref.Scaler.Mean); d > 1e-13 {
		t.Errorf("mean differs by %g", d)
	}
	if d := vecDiff(s.Scale, ref.Scaler.Scale); d > 1e-13 {
		t.Errorf("scale differs by %g (constant column must get 1)", d)
	}
	if d := relDiff(z, dense(ref.Scaler.Z)); d > 1e-13 {
		t.Errorf("z differs by %g", d)
	}
}

func TestPCAMatchesSklearn(t *testing.T) {
	ref := loadRef(t)
	for _, c := range ref.PCA {
		t.Run(c.Name, func(t *testing.T) {
			xtr, xte, _ := ref.data(c.Name)
			m := PCA{Components: c.Components, Variance: c.Variance, Standardize: c.Standardize}
			if err := m.Fit(xtr); err != nil {
				t.Fatal(err)
			}
			if _, k := m.Basis.Dims(); k != c.K {
				t.Fatalf("kept %d components, sklearn %d", k, c.K)
			}
			if d := relDiffSigned(m.Basis, dense(c.Basis)); d > 1e-9 {
				t.Errorf("basis differs by %g", d)
			}
			if d := vecDiff(m.Variances, c.Variances); d > 1e-10 {
				t.Errorf("variances differ by %g", d)
			}
			if d := vecDiff(m.Ratios, c.Ratios); d > 1e-10 {
				t.Errorf("ratios differ by %g", d)
			}
			z, err := m.Transform(xte)
			if err != nil {
				t.Fatal(err)
			}
			if d := relDiffSigned(z, dense(c.Scores)); d > 1e-9 {
				t.Errorf("scores differ by %g", d)
			}
		})
	}
}

func TestTruncatedSVDMatchesSklearn(t *testing.T) {
	ref := loadRef(t)
	xtr, xte, _ := ref.data("tall")
	m := TruncatedSVD{Components: 4}
	if err := m.Fit(xtr); err != nil {
		t.Fatal(err)
	}
	if d := vecDiff(m.Singular, ref.TSVD.Singular); d > 1e-10 {
		t.Errorf("singular values differ by %g", d)
	}
	if d := relDiffSigned(m.Basis, dense(ref.TSVD.Basis)); d > 1e-8 {
		t.Errorf("basis differs by %g", d)
	}
	z, err := m.Transform(xte)
	if err != nil {
		t.Fatal(err)
	}
	if d := relDiffSigned(z, dense(ref.TSVD.Scores)); d > 1e-8 {
		t.Errorf("scores differ by %g", d)
	}
	for _, c := range []struct {
		energy float64
		want   int
	}{{0.9, ref.TSVD.K90}, {0.99, ref.TSVD.K99}} {
		m := TruncatedSVD{Energy: c.energy}
		if err := m.Fit(xtr); err != nil {
			t.Fatal(err)
		}
		if _, k := m.Basis.Dims(); k != c.want {
			t.Errorf("energy %g: %d components, numpy count %d", c.energy, k, c.want)
		}
	}
}

func TestRidgeMatchesSklearn(t *testing.T) {
	ref := loadRef(t)
	for _, c := range ref.Ridge {
		t.Run(c.Name, func(t *testing.T) {
			xtr, xte, ytr := ref.data(c.Name)
			m := Ridge{Alpha: c.Alpha, Standardize: c.Standardize}
			var err error
			if c.Multi {
				err = m.FitMulti(xtr, ytr)
			} else {
				err = m.Fit(xtr, mat.Col(nil, 0, ytr))
			}
			if err != nil {
				t.Fatal(err)
			}
			tol := 1e-9
			if c.Alpha == 0 {
				tol = 1e-7 // least squares: conditioning of the tall design
			}
			if d := relDiff(m.Coef, dense(c.Coef)); d > tol {
				t.Errorf("coef differs by %g", d)
			}
			if d := vecDiff(m.Intercept, c.Intercept); d > tol {
				t.Errorf("intercept differs by %g", d)
			}
			pred, err := m.PredictMulti(xte)
			if err != nil {
				t.Fatal(err)
			}
			if d := relDiff(pred, dense(c.Pred)); d > tol {
				t.Errorf("predictions differ by %g", d)
			}
		})
	}
}

func TestRidgeLOOMatchesSklearnRidgeCV(t *testing.T) {
	ref := loadRef(t)
	for _, c := range ref.RidgeCV {
		t.Run(c.Name, func(t *testing.T) {
			xtr, _, ytr := ref.data(c.Name)
			m := Ridge{Alphas: c.Alphas, Standardize: c.Standardize}
			if err := m.Fit(xtr, mat.Col(nil, 0, ytr)); err != nil {
				t.Fatal(err)
			}
			if m.AlphaUsed != c.Alpha {
				t.Errorf("chose α = %g, sklearn %g", m.AlphaUsed, c.Alpha)
			}
			if d := vecDiff(m.CVMSE, c.CVMSE); d > 1e-8 {
				t.Errorf("LOO MSE differs by %g:\n got %v\nwant %v", d, m.CVMSE, c.CVMSE)
			}
		})
	}
}

func TestPLSMatchesSklearn(t *testing.T) {
	ref := loadRef(t)
	for _, c := range ref.PLS {
		t.Run(c.Name, func(t *testing.T) {
			xtr, xte, ytr := ref.data(c.Name)
			m := PLS{Components: c.Components}
			var err error
			if c.Multi {
				err = m.FitMulti(xtr, ytr)
			} else {
				err = m.Fit(xtr, mat.Col(nil, 0, ytr))
			}
			if err != nil {
				t.Fatal(err)
			}
			tol := 1e-9
			if c.Multi {
				tol = 1e-7 // sklearn's power iteration stops at tol 1e-15 on ‖Δw‖²
			}
			for _, mm := range []struct {
				name      string
				got, want *mat.Dense
			}{
				{"weights", m.Weights, dense(c.Weights)},
				{"x loadings", m.XLoadings, dense(c.XLoadings)},
				{"y loadings", m.YLoadings, dense(c.YLoadings)},
				{"rotations", m.Rotations, dense(c.Rotations)},
			} {
				if d := relDiff(mm.got, mm.want); d > tol {
					t.Errorf("%s differ by %g", mm.name, d)
				}
			}
			z, err := m.Transform(xte)
			if err != nil {
				t.Fatal(err)
			}
			if d := relDiff(z, dense(c.Scores)); d > tol {
				t.Errorf("scores differ by %g", d)
			}
			pred, err := m.PredictMulti(xte)
			if err != nil {
				t.Fatal(err)
			}
			if d := relDiff(pred, dense(c.Pred)); d > tol {
				t.Errorf("predictions differ by %g", d)
			}
		})
	}
}

func TestMetricsMatchSklearn(t *testing.T) {
	ref := loadRef(t)
	mse, err := MSE(ref.Metrics.Y, ref.Metrics.YHat)
	if err != nil {
		t.Fatal(err)
	}
	r2, err := R2(ref.Metrics.Y, ref.Metrics.YHat)
	if err != nil {
		t.Fatal(err)
	}
	rmse, _ := RMSE(ref.Metrics.Y, ref.Metrics.YHat)
	if math.Abs(mse-ref.Metrics.MSE) > 1e-14 || math.Abs(r2-ref.Metrics.R2) > 1e-14 ||
		math.Abs(rmse-math.Sqrt(ref.Metrics.MSE)) > 1e-14 {
		t.Errorf("MSE %g R² %g RMSE %g, sklearn %g %g", mse, r2, rmse, ref.Metrics.MSE, ref.Metrics.R2)
	}
}
