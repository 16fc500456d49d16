package baseline

import (
	"fmt"

	"gonum.org/v1/gonum/mat"
)

// An Extractor learns a feature map from training rows without looking at
// the response (PCA, TruncatedSVD, RandomProjection, Scaler).
//
// Fit learns the map from x (one sample per row). Transform applies it to
// any rows with the same columns and returns a new matrix, one row per
// input row. Neither modifies x.
type Extractor interface {
	Fit(x *mat.Dense) error
	Transform(x *mat.Dense) (*mat.Dense, error)
}

// A SupervisedExtractor learns a feature map from training rows and their
// response (PLS). Use Supervised to treat an Extractor as one.
type SupervisedExtractor interface {
	Fit(x *mat.Dense, y []float64) error
	Transform(x *mat.Dense) (*mat.Dense, error)
}

// A Regressor predicts a scalar response (Ridge, PLS, forest.Forest).
//
// Fit learns from rows x and responses y (len(y) = rows of x). Predict
// returns one prediction per row of x.
type Regressor interface {
	Fit(x *mat.Dense, y []float64) error
	Predict(x *mat.Dense) ([]float64, error)
}

// Supervised adapts an unsupervised Extractor to SupervisedExtractor: its
// Fit ignores y.
func Supervised(e Extractor) SupervisedExtractor { return supervised{e} }

type supervised struct{ e Extractor }

func (s supervised) Fit(x *mat.Dense, _ []float64) error        { return s.e.Fit(x) }
func (s supervised) Transform(x *mat.Dense) (*mat.Dense, error) { return s.e.Transform(x) }

// errorf returns an error prefixed with the package and function name.
func errorf(fn, format string, args ...any) error {
	return fmt.Errorf("baseline: "+fn+": "+format, args...)
}

// checkXY checks that y has one entry per row of x.
func checkXY(fn string, x *mat.Dense, ny int) error {
	if x == nil {
		return errorf(fn, "x is nil")
	}
	n, p := x.Dims()
	if n != ny {
		return errorf(fn, "x has %d rows, y has %d", n, ny)
	}
	if p == 0 {
		return errorf(fn, "x has no columns")
	}
	return nil
}

// checkCols checks that x has the p columns a model was fitted on.
func checkCols(fn string, x *mat.Dense, p int) error {
	if p == 0 {
		return errorf(fn, "not fitted")
	}
	if x == nil {
		return errorf(fn, "x is nil")
	}
	if _, c := x.Dims(); c != p {
		r, _ := x.Dims()
		return errorf(fn, "x is %d×%d, fitted on %d columns", r, c, p)
	}
	return nil
}
