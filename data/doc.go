// Package data holds multi-modal regression datasets for FDRMFL: one
// [Modality] per input source (a vector, a 1-D signal such as a spectrum,
// an image or a step sequence), each with its own per-sample shape, and a
// matrix of responses.
//
// The package reads a user's files from an [io/fs.FS] ([Load], [Read]):
// CSV files, their delimiter and decimal separator detected, joined by a
// column of sample IDs or aligned by row, and JCAMP-DX spectra (package
// data/jcamp decodes them); replicate rows averaged; missing responses
// kept as NaN, which training and evaluation skip; a fixed
// train/validation/test split ([Role]); and a [Report] of what it found,
// with the file and line of each absent modality row and missing response.
// It reads the paper's datasets ([CornP1], [TecatorP1], …), generates the
// simulated data of the paper ([Simulate]), standardises with statistics of the training rows only
// ([FitStandardizer]) and splits samples into train and test sets
// ([TrainTestSplit], [KFold]). It never opens a path itself and keeps no
// global state: files arrive as an fs.FS, randomness as a caller-seeded
// *rand.Rand, so a seed reproduces a run bit for bit.
//
// Splitting samples among federated clients is left to package
// data/partition.
package data
