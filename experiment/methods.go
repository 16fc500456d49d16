package experiment

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/baseline/forest"
	"github.com/fdrmfl/fdrmfl/baseline/vae"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// maxFedPCA bounds the inputs of a modality for federated PCA: its
// statistics are p×p per client, and where the components needed for 90 %
// of the variance are many (the simulation's 3072-value noise image needs
// hundreds) only a full p×p eigendecomposition finds them, which takes
// minutes at p = 3072.
const maxFedPCA = 1024

// features are one client's training and test features with responses.
type features struct {
	train, test   *mat.Dense
	yTrain, yTest []float64
	head          []float64 // the network head's test predictions, if any
}

// runUnit runs every method on one unit.
func runUnit(ctx context.Context, s Spec, t Task, u Unit, methods []string) (*unitResult, error) {
	s.FDRMFL.Model, s.Paper.Model = withEncoders(s.FDRMFL.Model, s.Encoder, t.Data), withEncoders(s.Paper.Model, s.PaperEncoder, t.Data)
	cfg := splitConfig(s, u)
	p, err := fdrmfl.Prepare(cfg, t.Data)
	if err != nil {
		return nil, err
	}
	ur := &unitResult{}
	clients := p.Clients()
	has := func(m string) bool { return slices.Contains(methods, m) }
	for _, m := range []string{MFDRMFL, MPaper, MLocal, MCentral, MMSE, MNoMI, MNoKL, MNoCon} {
		if !has(m) {
			continue
		}
		start := time.Now()
		vcfg, mode := variant(s, cfg, m)
		res, err := p.Train(ctx, vcfg, mode, fdrmfl.Options{})
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		for _, r := range res.Rounds {
			ur.curves = append(ur.curves, Curve{Unit: u, Method: m, Round: r.Round, Loss: r.Train["loss"], ValMSE: math.NaN()})
		}
		fs := make([]features, len(res.Clients))
		for k, c := range res.Clients {
			tr, te := c.Splits[0], c.Splits[2]
			fs[k] = features{train: dense(tr.Z, len(tr.Index)), test: dense(te.Z, len(te.Index)),
				yTrain: f64(tr.Y), yTest: f64(te.Y), head: f64(te.Pred)}
		}
		if err := ur.judge(u, m, clients, fs, []string{RegHead, RegForest, RegRidge}); err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		ur.timings = append(ur.timings, Timing{Unit: u, Method: m, Seconds: time.Since(start).Seconds()})
	}
	raw := rawClients(p, t.Data)
	pcaDims := map[[2]int]int{} // (client, modality) → components of its PCA
	for _, m := range []string{MPCA, MTSVD, MRP, MVAE, MFedPCA, MPLS, MRidge} {
		if !has(m) {
			continue
		}
		start := time.Now()
		var err error
		switch m {
		case MPLS, MRidge:
			err = ur.federatedRegression(u, m, clients, raw)
		default:
			var fs []features
			if fs, err = extract(m, u, raw, pcaDims); err == nil && fs != nil {
				err = ur.judge(u, m, clients, fs, []string{RegForest, RegRidge})
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		ur.timings = append(ur.timings, Timing{Unit: u, Method: m, Seconds: time.Since(start).Seconds()})
	}
	return ur, nil
}

// variant returns the configuration and mode of an FDRMFL method: our
// settings, the author's, or ours with a loss term removed.
func variant(s Spec, split fdrmfl.Config, m string) (fdrmfl.Config, fdrmfl.Mode) {
	cfg := s.FDRMFL
	if m == MPaper {
		cfg = s.Paper
	}
	cfg.Seed, cfg.Data, cfg.Federation.Clients, cfg.Federation.Partition, cfg.Federation.Workers =
		split.Seed, split.Data, split.Federation.Clients, split.Federation.Partition, 1
	loss := train.DefaultLoss()
	if cfg.Loss != nil {
		loss = *cfg.Loss
	}
	switch m {
	case MMSE:
		loss.MI, loss.KL, loss.Con = 0, 0, 0
	case MNoMI:
		loss.MI = 0
	case MNoKL:
		loss.KL = 0
	case MNoCon:
		loss.Con = 0
	}
	cfg.Loss = &loss
	switch m {
	case MLocal:
		return cfg, fdrmfl.Local
	case MCentral:
		return cfg, fdrmfl.Central
	}
	return cfg, fdrmfl.Federated
}

// rawClient is a client's standardised inputs, one matrix per modality,
// with the responses in their units.
type rawClient struct {
	train, test   []*mat.Dense // per modality
	yTrain, yTest []float64
}

func rawClients(p *fdrmfl.Prepared, all *data.Dataset) []rawClient {
	var out []rawClient
	for _, c := range p.Clients() {
		rc := rawClient{yTrain: responses(all, c.TrainIndex), yTest: responses(all, c.TestIndex)}
		for i := range c.Train.Modalities {
			rc.train = append(rc.train, modalityMatrix(&c.Train.Modalities[i], c.Train.Len()))
			rc.test = append(rc.test, modalityMatrix(&c.Test.Modalities[i], c.Test.Len()))
		}
		out = append(out, rc)
	}
	return out
}

func responses(ds *data.Dataset, idx []int) []float64 {
	out := make([]float64, len(idx))
	for i, r := range idx {
		out[i] = float64(ds.Y[r*ds.NumResponses()])
	}
	return out
}

func modalityMatrix(m *data.Modality, n int) *mat.Dense {
	return dense(m.Data, n)
}

// dense returns the n rows of x (row-major float32) as a matrix.
func dense(x []float32, n int) *mat.Dense {
	if n == 0 {
		return nil
	}
	p := len(x) / n
	d := make([]float64, len(x))
	for i, v := range x {
		d[i] = float64(v)
	}
	return mat.NewDense(n, p, d)
}

func f64(x []float32) []float64 {
	out := make([]float64, len(x))
	for i, v := range x {
		out[i] = float64(v)
	}
	return out
}

// concatCols joins matrices side by side.
func concatCols(ms []*mat.Dense) *mat.Dense {
	n, _ := ms[0].Dims()
	p := 0
	for _, m := range ms {
		_, c := m.Dims()
		p += c
	}
	out := mat.NewDense(n, p, nil)
	off := 0
	for _, m := range ms {
		_, c := m.Dims()
		out.Slice(0, n, off, off+c).(*mat.Dense).Copy(m)
		off += c
	}
	return out
}

// extract fits a classical feature extractor per client (or federated,
// for PCA) and returns each client's features. It returns nil features for
// a method that does not apply to these data. pcaDims remembers the size
// of each client's PCA per modality, which the random projection matches.
func extract(m string, u Unit, raw []rawClient, pcaDims map[[2]int]int) ([]features, error) {
	out := make([]features, len(raw))
	seed := unitSeed(u)
	if m == MFedPCA {
		return fedPCA(raw)
	}
	for k, c := range raw {
		var tr, te []*mat.Dense
		switch m {
		case MVAE:
			x := concatCols(c.train)
			n, p := x.Dims()
			v, err := vae.Fit(f32(x), n, p, vae.Config{}, seed+uint64(k))
			if err != nil {
				return nil, err
			}
			ztr, _ := v.Encode(f32(x), n)
			xt := concatCols(c.test)
			nt, _ := xt.Dims()
			zte, _ := v.Encode(f32(xt), nt)
			out[k] = features{train: dense(ztr, n), test: dense(zte, nt), yTrain: c.yTrain, yTest: c.yTest}
			continue
		}
		for mi := range c.train {
			var e baseline.Extractor
			switch m {
			case MPCA:
				e = &baseline.PCA{Variance: 0.9}
			case MTSVD:
				e = &baseline.TruncatedSVD{Energy: 0.9}
			case MRP:
				dims, ok := pcaDims[[2]int{k, mi}]
				if !ok {
					pca := &baseline.PCA{Variance: 0.9}
					if err := pca.Fit(c.train[mi]); err != nil {
						return nil, err
					}
					_, dims = pca.Basis.Dims()
				}
				e = &baseline.RandomProjection{Components: dims, Seed: seed + uint64(100*k+mi)}
			}
			if err := e.Fit(c.train[mi]); err != nil {
				return nil, fmt.Errorf("client %d modality %d: %w", k+1, mi, err)
			}
			if pca, ok := e.(*baseline.PCA); ok {
				_, pcaDims[[2]int{k, mi}] = pca.Basis.Dims()
			}
			a, err := e.Transform(c.train[mi])
			if err != nil {
				return nil, err
			}
			b, err := e.Transform(c.test[mi])
			if err != nil {
				return nil, err
			}
			tr, te = append(tr, a), append(te, b)
		}
		out[k] = features{train: concatCols(tr), test: concatCols(te), yTrain: c.yTrain, yTest: c.yTest}
	}
	return out, nil
}

// fedPCA fits PCA per modality on the clients' merged statistics.
func fedPCA(raw []rawClient) ([]features, error) {
	out := make([]features, len(raw))
	for mi := range raw[0].train {
		if _, p := raw[0].train[mi].Dims(); p > maxFedPCA {
			return nil, nil
		}
		var stats []*baseline.SuffStats
		for _, c := range raw {
			n, _ := c.train[mi].Dims()
			s, err := baseline.NewSuffStats(c.train[mi], mat.NewDense(n, 1, c.yTrain))
			if err != nil {
				return nil, err
			}
			stats = append(stats, s)
		}
		merged, err := baseline.MergeStats(stats...)
		if err != nil {
			return nil, err
		}
		pca := &baseline.PCA{Variance: 0.9}
		if err := pca.FitStats(merged); err != nil {
			return nil, err
		}
		for k, c := range raw {
			a, err := pca.Transform(c.train[mi])
			if err != nil {
				return nil, err
			}
			b, err := pca.Transform(c.test[mi])
			if err != nil {
				return nil, err
			}
			if out[k].train == nil {
				out[k] = features{train: a, test: b, yTrain: c.yTrain, yTest: c.yTest}
			} else {
				out[k].train, out[k].test = concatCols([]*mat.Dense{out[k].train, a}), concatCols([]*mat.Dense{out[k].test, b})
			}
		}
	}
	return out, nil
}

// federatedRegression fits federated ridge or PLS on every modality's
// inputs from the clients' fold statistics and predicts each client's
// test set. Each client splits its rows into k folds and sends one set of
// statistics per fold; the server merges fold f of every client (pooled
// k-fold CV stratified by client), chooses α or the number of components,
// and refits on everything.
func (ur *unitResult) federatedRegression(u Unit, m string, clients []fdrmfl.ClientSplit, raw []rawClient) error {
	_, p := concatCols(raw[0].train).Dims()
	k := 5
	if p > 2048 {
		k = 3 // each fold costs a p×p factorisation per candidate
	}
	merged := make([]*baseline.SuffStats, k)
	for c, rc := range raw {
		x := concatCols(rc.train)
		n, _ := x.Dims()
		folds := baseline.KFold(n, min(k, n), unitSeed(u)+uint64(c))
		fs, err := baseline.FoldStats(x, mat.NewDense(n, 1, rc.yTrain), folds)
		if err != nil {
			return err
		}
		for f, s := range fs {
			if merged[f] == nil {
				merged[f] = &baseline.SuffStats{}
			}
			if err := merged[f].Merge(s); err != nil {
				return err
			}
		}
	}
	var folds [][]*baseline.SuffStats
	for _, s := range merged {
		if s != nil && s.N > 0 {
			folds = append(folds, []*baseline.SuffStats{s})
		}
	}
	var reg interface {
		FitFolds([][]*baseline.SuffStats) error
		Predict(*mat.Dense) ([]float64, error)
	}
	if m == MRidge {
		reg = &baseline.Ridge{Alphas: baseline.LogSpace(-2, 4, 7)}
	} else {
		reg = &baseline.PLS{MaxComponents: 10}
	}
	if err := reg.FitFolds(folds); err != nil {
		return err
	}
	var pool [][2][]float64
	for c, rc := range raw {
		pred, err := reg.Predict(concatCols(rc.test))
		if err != nil {
			return err
		}
		ur.add(u, m, RegOwn, clients[c].Name, rc.yTest, pred)
		pool = append(pool, [2][]float64{rc.yTest, pred})
	}
	ur.addPooled(u, m, RegOwn, pool)
	return nil
}

// judge fits each downstream regressor on each client's training features
// and records its test error, per client and pooled.
func (ur *unitResult) judge(u Unit, m string, clients []fdrmfl.ClientSplit, fs []features, regs []string) error {
	for _, reg := range regs {
		var pool [][2][]float64
		for k, f := range fs {
			var pred []float64
			switch reg {
			case RegHead:
				pred = f.head
			case RegForest:
				rf := &forest.Forest{Trees: 100, FeatureFraction: 1.0 / 3, Seed: unitSeed(u) + uint64(k), Workers: 1}
				if err := rf.Fit(f.train, f.yTrain); err != nil {
					return err
				}
				var err error
				if pred, err = rf.Predict(f.test); err != nil {
					return err
				}
			case RegRidge:
				r := &baseline.Ridge{Alphas: baseline.LogSpace(-3, 4, 15), Standardize: true}
				if err := r.Fit(f.train, f.yTrain); err != nil {
					return err
				}
				var err error
				if pred, err = r.Predict(f.test); err != nil {
					return err
				}
			}
			ur.add(u, m, reg, clients[k].Name, f.yTest, pred)
			pool = append(pool, [2][]float64{f.yTest, pred})
		}
		ur.addPooled(u, m, reg, pool)
	}
	return nil
}

// add records one client's test error and predictions.
func (ur *unitResult) add(u Unit, m, reg, client string, y, pred []float64) {
	mse, r2 := errors(y, pred)
	ur.rows = append(ur.rows, Row{Unit: u, Method: m, Regressor: reg, Client: client, N: len(y), MSE: mse, R2: r2})
	for i := range y {
		ur.preds = append(ur.preds, Prediction{Unit: u, Method: m, Regressor: reg, Client: client, Y: y[i], Pred: pred[i]})
	}
}

// addPooled records the error over every client's test samples together.
func (ur *unitResult) addPooled(u Unit, m, reg string, parts [][2][]float64) {
	var y, pred []float64
	for _, p := range parts {
		y, pred = append(y, p[0]...), append(pred, p[1]...)
	}
	mse, r2 := errors(y, pred)
	ur.rows = append(ur.rows, Row{Unit: u, Method: m, Regressor: reg, Client: "pooled", N: len(y), MSE: mse, R2: r2})
}

// errors returns the MSE and R² = 1 − SSE/SST (SST about the mean of y).
func errors(y, pred []float64) (mse, r2 float64) {
	var mean float64
	for _, v := range y {
		mean += v
	}
	mean /= float64(len(y))
	var sse, sst float64
	for i, v := range y {
		sse += (pred[i] - v) * (pred[i] - v)
		sst += (v - mean) * (v - mean)
	}
	mse = sse / float64(len(y))
	if sst > 0 {
		r2 = 1 - sse/sst
	}
	return mse, r2
}

func f32(m *mat.Dense) []float32 {
	r, c := m.Dims()
	out := make([]float32, 0, r*c)
	for i := range r {
		for _, v := range m.RawRowView(i) {
			out = append(out, float32(v))
		}
	}
	return out
}

// unitSeed derives the seed of a unit's baselines.
func unitSeed(u Unit) uint64 {
	return uint64(u.Seed)*0x9e3779b97f4a7c15 + uint64(len(u.Task))*31 + uint64(len(u.Split))
}

// withEncoders gives a network configuration without modalities one per
// modality of ds, each with the encoder enc chooses for its kind.
func withEncoders(mc model.Config, enc func(data.Kind) model.Encoder, ds *data.Dataset) model.Config {
	if len(mc.Modalities) > 0 || enc == nil {
		return mc
	}
	for _, m := range ds.Modalities {
		mc.Modalities = append(mc.Modalities, model.Modality{Name: m.Name, Encoder: enc(m.Kind)})
	}
	return mc
}
