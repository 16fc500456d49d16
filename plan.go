package fdrmfl

import (
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/model"
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
	mc, err := ModelFor(mc, ds)
	if err != nil {
		return mc, err
	}
	return mc.Defaults(), nil
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

// roundMetrics summarises a round's report; ySD converts the validation
// error back to the responses' units.
func roundMetrics(r fed.RoundReport, responses int, ySD []float64) RoundMetrics {
	rm := RoundMetrics{Round: r.Round, Clients: len(r.Accepted), Rejected: r.Rejected, Train: r.Train}
	if r.EvalClients > 0 && r.Eval["n"] > 0 {
		rm.Val = unscale(metricsOf(metricsStats(r.Eval, responses)), ySD)
	}
	return rm
}
