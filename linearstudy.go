package fdrmfl

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// trainLinear fits the linear model cfg names on the prepared clients:
// federated (every client's statistics pooled), local (each client's
// own) or central (every client's training rows as one client's, with
// the folds cut across them).
func (p *Prepared) trainLinear(ctx context.Context, cfg Config, mode Mode, opt Options) (*Result, error) {
	skeleton, err := NewManifest(cfg, p.Data, p.Standardizer)
	if err != nil {
		return nil, err
	}
	skeleton.Preprocess = p.Preprocess // the clients' data are preprocessed already
	log := opt.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	// fit pools the statistics of the given training sets, each as the
	// client numbered by its index, and fits.
	// Under secure aggregation the clients' statistics are merged fold by
	// fold by secure sums (baseline.SecureByFold over fed/secagg, the
	// arithmetic a deployment runs over its fleet), so that the server
	// holds each fold's merge only.
	secure := cfg.Privacy.Secure.Enabled && mode == Federated && len(p.clients) > 1
	fit := func(trains []*data.Dataset, index []int) (*Model, error) {
		pool := NewLinearPool(skeleton)
		var perClient [][]*baseline.SuffStats
		for i, tr := range trains {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			st, err := LinearStats(tr, cfg.LinearStatsSpec(skeleton, index[i]))
			if err != nil {
				return nil, err
			}
			if secure {
				perClient = append(perClient, st)
				continue
			}
			if err := pool.Add(st, 0); err != nil {
				return nil, err
			}
		}
		if secure {
			folds, err := baseline.SecureByFold(perClient, func(parts [][]float64, blocks []int) ([]float64, error) {
				return secagg.SumFloats(parts, blocks, nil)
			})
			if err != nil {
				return nil, fmt.Errorf("secure aggregation of the linear statistics: %w", err)
			}
			var merged []*baseline.SuffStats
			for _, f := range folds {
				merged = append(merged, f[0])
			}
			if err := pool.AddMerged(merged, len(perClient)); err != nil {
				return nil, err
			}
			log.Info("linear statistics merged by secure aggregation", "clients", len(perClient), "folds", len(merged))
		}
		m, err := pool.Fit(skeleton, cfg.Linear)
		if err != nil {
			return nil, err
		}
		f := m.Manifest.Linear
		log.Info("linear fit", "kind", cfg.Model.Kind, "mode", mode.String(), "rows", f.Rows, "folds", f.Folds, "chosen", f.Chosen())
		return m, nil
	}
	res := &Result{Config: cfg, Excluded: p.Excluded, Preprocess: p.Preprocess}
	var pooled train.Stats
	addClient := func(mod *Model, c *site.Sets) error {
		cr, err := LinearClientFeatures(mod, c)
		if err != nil {
			return err
		}
		res.Clients = append(res.Clients, cr)
		if cr.Test != nil {
			pooled.Add(clientTestStats(cr))
		}
		return nil
	}
	switch mode {
	case Federated, Central:
		var trains []*data.Dataset
		var index []int
		for k, c := range p.clients {
			trains, index = append(trains, c.Train), append(index, k)
		}
		if mode == Central {
			all, err := concat(trains)
			if err != nil {
				return nil, err
			}
			trains, index = []*data.Dataset{all}, []int{1 << 32}
		}
		mod, err := fit(trains, index)
		if err != nil {
			return nil, err
		}
		for _, c := range p.clients {
			if err := addClient(mod, c); err != nil {
				return nil, err
			}
		}
		res.Manifest, res.Weights = mod.Manifest, mod.Weights
	case Local:
		for k, c := range p.clients {
			own, err := fit([]*data.Dataset{c.Train}, []int{k})
			if err != nil {
				return nil, fmt.Errorf("%s alone: %w", c.Name, err)
			}
			if err := addClient(own, c); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("unknown training mode %d", mode)
	}
	if pooled.N > 0 {
		res.Test = metricsOf(pooled)
	}
	return res, nil
}
