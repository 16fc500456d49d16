// Package baseline holds the classical methods FDRMFL is compared against
// and the downstream regressors that judge every feature extractor.
//
// Feature extractors, fitted on training rows and applied to any rows:
//   - PCA: principal components of the centred (optionally standardised) data;
//     a fixed number or the fewest reaching a share of the variance (the
//     author used 0.90).
//   - TruncatedSVD: the same without centring (latent semantic analysis).
//   - RandomProjection: a seeded Gaussian random projection.
//   - PLS: partial least squares regression (PLS1/PLS2), whose latent scores are
//     features and whose predictions are a regression.
//
// Regressors: Ridge and PLS here, the random forest in package forest. Each
// satisfies Regressor.
//
// Federated forms: a client reduces its rows to SuffStats (counts, means and
// centred cross-products); the server merges them and fits ridge, PLS or PCA
// exactly as on the pooled rows, without any row leaving a client
// (Ridge.FitStats, PLS.FitStats, PCA.FitStats). Hyper-parameters are chosen
// by cross-validation over folds of statistics (Ridge.FitFolds,
// PLS.FitFolds): the server fits on all folds but one and scores the held-out
// fold from its statistics alone.
//
// Metrics (MSE, RMSE, R²), a train-only Scaler, fold assignment and
// cross-validated prediction complete the set.
//
// The package does no I/O and keeps no global state; randomness enters as a
// uint64 seed. Inputs are never modified. Mismatched shapes are returned as
// errors that name the function and both shapes. Types are not safe for
// concurrent Fit; a fitted value may be used by many goroutines for
// Transform and Predict.
package baseline
