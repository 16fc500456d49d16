package fdrmfl

import (
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// completeModel returns the network cfg describes, completed for data of
// ds's layout (ds may hold no samples: only its modalities' names, kinds
// and shapes and its responses are read). With no modalities given, the
// simulation's data get the built-in default network.
func completeModel(cfg Config, ds *data.Dataset) (model.Config, error) {
	mc := cfg.Model
	if len(mc.Modalities) == 0 && cfg.Data.Source == "simulation" {
		def := DefaultModel()
		if mc.Fusion.Type == "" && mc.Fusion.Hidden == nil {
			mc.Fusion = def.Fusion
		}
		if mc.Head.Hidden == nil {
			mc.Head = def.Head
		}
		def.Latent, def.Features, def.Fusion, def.Head, def.LearnedSigma = mc.Latent, mc.Features, mc.Fusion, mc.Head, mc.LearnedSigma
		if def.Latent == 0 {
			def.Latent = DefaultModel().Latent
		}
		if def.Features == 0 {
			def.Features = 16
		}
		mc = def
	}
	mc, err := modelFor(mc, ds)
	if err != nil {
		return mc, err
	}
	return mc.Defaults(), nil
}

// NewManifest describes the model that cfg trains on data laid out like
// layout — its modalities' names, kinds and shapes and its responses; its
// samples, if any, are not read — standardised by std. The network is
// cfg's, completed for the data as Simulate completes it. Call it on a
// Config after Defaults.
func NewManifest(cfg Config, layout *data.Dataset, std *data.Standardizer) (*Manifest, error) {
	mc, err := completeModel(cfg, layout)
	if err != nil {
		return nil, err
	}
	cfg.Model = mc
	w, err := train.InitialWeights(mc, seed.For(cfg.Seed, seed.Init))
	if err != nil {
		return nil, err
	}
	return newManifest(cfg, layout, std, len(w)), nil
}

// newManifest describes the model of a run whose completed configuration
// is cfg, trained on data laid out as ds, with values weights.
func newManifest(cfg Config, ds *data.Dataset, std *data.Standardizer, values int) *Manifest {
	m := &Manifest{
		Format: ManifestFormat, Model: cfg.Model, Responses: ds.ResponseNames, Standardizer: std,
		Values: values, Seed: cfg.Seed, Train: cfg.Train, Federation: cfg.Federation, DataSource: cfg.Data.Source,
	}
	for _, mm := range cfg.Model.Modalities {
		dm := ds.Modality(mm.Name)
		m.Modalities = append(m.Modalities, ModalityInfo{Name: mm.Name, Kind: dm.Kind, Shape: mm.Shape})
	}
	return m
}

// InitialWeights returns the first global model of a federation training
// the manifest's network: the same for every run with the same seed.
func (m *Manifest) InitialWeights() ([]float32, error) {
	return train.InitialWeights(m.Model, seed.For(m.Seed, seed.Init))
}

// Strategy returns the server's policy for training the manifest's
// model: FedAvg, with FedProx's μ or FedBN's local spans as configured,
// seeded as the simulation seeds it. Call it on a Config after Defaults.
func (c Config) Strategy(m *Manifest) (fed.Strategy, error) {
	pool, err := site.NewTrainerPool(m.Model, m.Train, 1)
	if err != nil {
		return nil, err
	}
	return c.rule(c.strategy(pool), pool), nil
}

// RoundMetrics summarises a round of a federation training the
// manifest's model, in the responses' units.
func (m *Manifest) RoundMetrics(r fed.RoundReport) RoundMetrics {
	return roundMetrics(r, m.Model.Responses, m.Standardizer.Y.Std)
}

// roundMetrics summarises a round's report; ySD converts the validation
// error back to the responses' units.
func roundMetrics(r fed.RoundReport, responses int, ySD []float64) RoundMetrics {
	rm := RoundMetrics{Round: r.Round, Clients: len(r.Accepted), Rejected: r.Rejected, Train: r.Train}
	if r.EvalClients > 0 && r.Eval["n"] > 0 {
		rm.Val = unscale(metricsOf(site.EvalStats(r.Eval, responses)), ySD)
	}
	return rm
}
