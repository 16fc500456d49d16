package fdrmfl_test

import (
	"os"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/internal/shareddata"
)

// BenchmarkLinearCorn fits PLS (1…20 components, 5-fold CV) and ridge
// (13 penalties by 5-fold CV, and 81 by GCV from one block per client, the
// default) to corn's three spectrometers (p = 2100) as a federation of 3
// clients does — each client's fold statistics, their merge, the fit —
// beside the same fit on the pooled rows (baseline's Fit, NIPALS or ridge
// on the data matrix), the reference without federation, and under
// secure aggregation (statistics-secure):
//
//	go test -run '^$' -bench LinearCorn -benchtime 3x -benchmem
func BenchmarkLinearCorn(b *testing.B) {
	root := shareddata.Dir(b)
	for _, c := range []struct {
		kind, name string
		folds      int
	}{{fdrmfl.KindPLS, "pls", 5}, {fdrmfl.KindRidge, "ridge-kfold", 5}, {fdrmfl.KindRidge, "ridge-gcv", 1}} {
		kind := c.kind
		cfg := fdrmfl.Config{Seed: 1, Data: fdrmfl.Data{Source: "csv", ResponseFile: "corn/responses.csv", Responses: []string{"protein"}},
			Federation: fdrmfl.Federation{Clients: 3, Partition: "response", Mix: 0.3}}
		for _, m := range []string{"m5", "mp5", "mp6"} {
			cfg.Data.Modalities = append(cfg.Data.Modalities, data.ModalitySpec{Name: m, File: "corn/" + m + ".csv", Kind: data.Signal})
		}
		cfg.Model.Kind = kind
		cfg.Linear.Folds = c.folds
		if kind == fdrmfl.KindPLS {
			cfg.Linear.MaxComponents = 20
		}
		cfg = cfg.Defaults()
		ds, err := fdrmfl.LoadData(cfg, os.DirFS(root))
		if err != nil {
			b.Fatal(err)
		}
		p, err := fdrmfl.Prepare(cfg, ds)
		if err != nil {
			b.Fatal(err)
		}
		skel, err := fdrmfl.NewManifest(cfg, ds, p.Standardizer)
		if err != nil {
			b.Fatal(err)
		}
		clients := p.Clients()
		b.Run(c.name+"/statistics", func(b *testing.B) {
			for range b.N {
				pool := fdrmfl.NewLinearPool(skel)
				for k, c := range clients {
					st, err := fdrmfl.LinearStats(c.Train, cfg.LinearStatsSpec(skel, k))
					if err != nil {
						b.Fatal(err)
					}
					if err := pool.Add(st, 0); err != nil {
						b.Fatal(err)
					}
				}
				if _, err := pool.Fit(skel, cfg.Linear); err != nil {
					b.Fatal(err)
				}
			}
		})
		// The same under secure aggregation: each fold merged by the two
		// secure sums of baseline.SecureMerge among the three clients in
		// this process (keys, masks and fixed point, as simulate runs it).
		b.Run(c.name+"/statistics-secure", func(b *testing.B) {
			for range b.N {
				var per [][]*baseline.SuffStats
				for k, c := range clients {
					st, err := fdrmfl.LinearStats(c.Train, cfg.LinearStatsSpec(skel, k))
					if err != nil {
						b.Fatal(err)
					}
					per = append(per, st)
				}
				folds, err := baseline.SecureByFold(per, func(parts [][]float64, blocks []int) ([]float64, error) {
					return secagg.SumFloats(parts, blocks, nil)
				})
				if err != nil {
					b.Fatal(err)
				}
				var merged []*baseline.SuffStats
				for _, f := range folds {
					merged = append(merged, f[0])
				}
				pool := fdrmfl.NewLinearPool(skel)
				if err := pool.AddMerged(merged, len(per)); err != nil {
					b.Fatal(err)
				}
				if _, err := pool.Fit(skel, cfg.Linear); err != nil {
					b.Fatal(err)
				}
			}
		})
		var xs, ys []float64
		cols := 0
		for _, c := range clients {
			for i := range c.Train.Len() {
				cols = 0
				for _, m := range c.Train.Modalities {
					for _, v := range m.Sample(i) {
						xs, cols = append(xs, float64(v)), cols+1
					}
				}
				ys = append(ys, float64(c.Train.Y[i]))
			}
		}
		x := mat.NewDense(len(ys), cols, xs)
		if cols != 2100 {
			b.Fatalf("%d inputs", cols)
		}
		if c.name == "ridge-gcv" {
			continue // the same pooled-rows reference as ridge-kfold
		}
		b.Run(c.name+"/pooled-rows", func(b *testing.B) {
			for range b.N {
				var err error
				if kind == fdrmfl.KindPLS {
					err = (&baseline.PLS{MaxComponents: 20, Folds: 5, Seed: 1}).Fit(x, ys)
				} else {
					err = (&baseline.Ridge{Alphas: fdrmfl.AlphaGrid(mustStats(b, x, ys)), Folds: 5, Seed: 1}).Fit(x, ys)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func mustStats(b *testing.B, x *mat.Dense, y []float64) *baseline.SuffStats {
	s, err := baseline.NewSuffStats(x, mat.NewDense(len(y), 1, y))
	if err != nil {
		b.Fatal(err)
	}
	return s
}
