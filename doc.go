// Package fdrmfl is federated, multi-modal, task-driven feature extraction
// for regression. Organisations that may not pool their data each hold
// samples of several modalities (spectra, images, sensor vectors,
// sequences) with a numeric response; FDRMFL trains one encoder per
// modality by federated learning, fuses them into a low-dimensional
// feature vector Z, and shapes Z with MSE on the response, a
// mutual-information term (the "retention" knob), a symmetric-KL term that
// aligns the modalities and a model-contrastive term against client
// drift. Z then feeds any downstream regressor.
//
// # Train
//
// Describe a federation — data, clients, model, training — in a Config
// (its zero value is the built-in default: the paper's simulation
// function 1 with 3 clients) and run it with every client in this
// process:
//
//	res, err := fdrmfl.Simulate(ctx, cfg, fdrmfl.Options{})
//
// The Result holds the trained model, per-round metrics and the features
// Z of every client's samples. Save it with res.Model().Save(dir).
//
// # Linear models
//
// Config.Model.Kind may name a linear model instead of the network: PLS
// (KindPLS) or ridge (KindRidge), fitted exactly from the clients' summed
// sufficient statistics, with their settings (Config.Linear) chosen by
// cross-validation over folds of every client's training rows.
// LinearStats is a client's share, LinearPool merges the clients' and
// fits; Simulate and package deploy both use them, so a real federation
// reaches the simulated model bit for bit. The model folder has the
// network's layout (the fit recorded in Manifest.Linear) and applies the
// same way; a PLS model's Z holds its X-scores, a ridge model has none.
//
// # Apply
//
// LoadModel reads a model folder (written by Model.Save, fdrmfl simulate
// or fdrmfl server); Model.Extract applies it to new raw data, returning
// Z and the predictions in the responses' units:
//
//	m, err := fdrmfl.LoadModel("out/model")
//	x, err := m.Extract(ds) // ds from LoadData or package data
//
// # Deploy
//
// The same federation runs for real, a server and one process per site
// over gRPC with TLS, with package deploy; it reaches the simulation's
// model for the same data and seed.
//
// # Study
//
// Prepare splits and standardises a dataset once, so that several
// trainings (federated, local-only, centralised, other settings) see the
// same samples; package experiment runs the paper's studies on it.
package fdrmfl
