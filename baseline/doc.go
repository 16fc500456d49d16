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
// Regressors: Ridge, PLS, ElasticNet (lasso when its L1 ratio is 1) and
// BlockPLS (PLS on the modality, or set of modalities, that
// cross-validation picks) here, the random forest in package forest. Each
// satisfies Regressor. A client's slope/bias Correction of a global
// model's out-of-fold predictions (PLS.OutOfFold) personalises it.
//
// # Federated forms
//
// A client reduces its rows to SuffStats (count, means and centred
// cross-products) and sends only those; the server merges them (Merge is
// exact) and fits ridge, PLS or PCA exactly as on the pooled rows
// (Ridge.FitStats, PLS.FitStats, PCA.FitStats), equal up to rounding.
//
// Ridge's α can be chosen from the merged statistics alone by generalised
// cross-validation over a fine grid (Ridge.FitGCV: one eigendecomposition,
// RidgeSpectrum, then every α costs O(rank)), or by exact leave-one-out
// with one more exchange (Ridge.FitLOO: each client scores its own rows
// against the spectrum). Statistics of few rows against many inputs
// (spectra) are worked on as factors Sxx = FFᵀ of rank at most N − 1, so
// no p×p product or decomposition is needed (see lowrank.go).
//
// Choosing α or the number of PLS components otherwise needs held-out
// errors, and the server has no rows. Ridge.FitFolds, PLS.FitFolds, ElasticNet.FitFolds and BlockPLS.FitFolds take folds of
// statistics: folds[f] lists the statistics whose rows form fold f (from any
// clients). For each f the server fits on the merge of the other folds and
// computes the held-out squared error of fold f from its statistics alone,
//
//	SSE = tr Syy − 2·tr(BᵀSxy) + tr(BᵀSxxB) + N·‖ȳ − b0 − Bᵀx̄‖²,
//
// picks the candidate with the least Σ SSE/(N·q) and refits on everything.
// Two schemes fit this form:
//
//   - Within-client k-fold (the recommended default): each client splits its
//     rows with KFold and sends FoldStats; ByFold groups fold f of every
//     client. This is exactly pooled k-fold CV with folds stratified by
//     client.
//   - Leave-one-client-out: folds[k] = {client k's SuffStats}. No extra
//     statistics are sent, and the score measures transfer to an unseen
//     client (harsh under non-IID clients; with 3 clients each fit sees 2/3
//     of the rows).
//
// Privacy: statistics of few rows reveal much about them (N = 1 reveals the
// row), so folds should hold many rows; that is the caller's call.
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
