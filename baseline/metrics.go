package baseline

import "math"

// MSE is the mean squared error (1/n) Σ (y_i − ŷ_i)².
func MSE(y, yhat []float64) (float64, error) {
	if len(y) != len(yhat) {
		return 0, errorf("MSE", "y has %d entries, ŷ has %d", len(y), len(yhat))
	}
	if len(y) == 0 {
		return 0, errorf("MSE", "no entries")
	}
	var s float64
	for i, v := range y {
		d := v - yhat[i]
		s += d * d
	}
	return s / float64(len(y)), nil
}

// RMSE is the root mean squared error √MSE.
func RMSE(y, yhat []float64) (float64, error) {
	m, err := MSE(y, yhat)
	if err != nil {
		return 0, errorf("RMSE", "%v", err)
	}
	return math.Sqrt(m), nil
}

// R2 is the coefficient of determination on the evaluated rows,
//
//	R² = 1 − Σ (y_i − ŷ_i)² / Σ (y_i − ȳ)²,
//
// with ȳ the mean of y itself (the test mean, as sklearn's r2_score). It is
// 1 for perfect predictions, 0 for predicting the test mean and negative for
// worse. It is NaN when y is constant.
func R2(y, yhat []float64) (float64, error) {
	if len(y) == 0 {
		return 0, errorf("R2", "no entries")
	}
	var m float64
	for _, v := range y {
		m += v
	}
	r, err := R2Ref(y, yhat, m/float64(len(y)))
	if err != nil {
		return 0, errorf("R2", "%v", err)
	}
	return r, nil
}

// R2Ref is 1 − Σ (y_i − ŷ_i)² / Σ (y_i − ref)²: R² against a given reference
// mean, such as the training mean (then 0 means "no better than predicting
// the training mean", which R2's test mean slightly favours). It is NaN
// when every y_i equals ref.
func R2Ref(y, yhat []float64, ref float64) (float64, error) {
	if len(y) != len(yhat) {
		return 0, errorf("R2Ref", "y has %d entries, ŷ has %d", len(y), len(yhat))
	}
	if len(y) == 0 {
		return 0, errorf("R2Ref", "no entries")
	}
	var sse, sst float64
	for i, v := range y {
		d := v - yhat[i]
		sse += d * d
		t := v - ref
		sst += t * t
	}
	if sst == 0 {
		return math.NaN(), nil
	}
	return 1 - sse/sst, nil
}

// MeanSD returns the mean and the sample standard deviation
// √(Σ (x_i − x̄)² / (n − 1)) of x, as reported over repeated runs. The sd is
// NaN when len(x) < 2 and both are NaN when x is empty.
func MeanSD(x []float64) (mean, sd float64) {
	if len(x) == 0 {
		return math.NaN(), math.NaN()
	}
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	if len(x) < 2 {
		return mean, math.NaN()
	}
	for _, v := range x {
		d := v - mean
		sd += d * d
	}
	return mean, math.Sqrt(sd / float64(len(x)-1))
}
