// Package data holds multi-modal regression datasets for FDRMFL: one
// [Modality] per input source (a vector, a 1-D signal such as a spectrum,
// an image or a step sequence), each with its own per-sample shape, and a
// matrix of responses.
//
// The package reads row-aligned CSV files from an [io/fs.FS] ([Read],
// [CornP1], [TecatorP1], …), generates the simulated data of the paper
// ([Simulate]), standardises with statistics of the training rows only
// ([FitStandardizer]) and splits samples into train and test sets
// ([TrainTestSplit], [KFold]). It never opens a path itself and keeps no
// global state: files arrive as an fs.FS, randomness as a caller-seeded
// *rand.Rand, so a seed reproduces a run bit for bit.
//
// Splitting samples among federated clients is left to package
// data/partition.
package data
