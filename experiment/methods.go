package experiment

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"gonum.org/v1/gonum/mat"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/baseline/forest"
	"github.com/fdrmfl/fdrmfl/baseline/vae"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// features are one client's training and test features with responses.
type features struct {
	train, test   *mat.Dense
	yTrain, yTest []float64
	head          []float64 // the network head's test predictions, if any
	deployed      []float64 // the predictions the client deploys (personal head or global)
}

// runUnit runs every method and variant on one unit.
func runUnit(ctx context.Context, s Spec, t Task, u Unit, methods []string, variants []Variant, step func(method string)) (*UnitResults, error) {
	s.FDRMFL.Model, s.Paper.Model = withEncoders(s.FDRMFL.Model, s.Encoder, t.Data), withEncoders(s.Paper.Model, s.PaperEncoder, t.Data)
	cfg := splitConfig(s, u)
	p, err := fdrmfl.Prepare(cfg, t.Data)
	if err != nil {
		return nil, err
	}
	ur := &UnitResults{Unit: u}
	clients := p.Clients()
	for _, c := range clients {
		ur.Assignments = append(ur.Assignments,
			Assignment{Unit: u, Client: c.Name, Set: "train", Rows: slices.Clone(c.TrainIndex), IDs: slices.Clone(c.Train.IDs)},
			Assignment{Unit: u, Client: c.Name, Set: "test", Rows: slices.Clone(c.TestIndex), IDs: slices.Clone(c.Test.IDs)})
	}
	has := func(m string) bool { return slices.Contains(methods, m) }
	for _, m := range []string{MFDRMFL, MPaper, MLocal, MCentral, MMSE, MNoMI, MNoKL, MNoCon} {
		if !has(m) {
			continue
		}
		vcfg, mode := variant(s, cfg, m)
		if err := ur.network(ctx, p, u, m, vcfg, mode); err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		step(m)
	}
	for _, v := range variants {
		vcfg, ok := v.Config(s)
		if !ok {
			continue
		}
		if err := ur.network(ctx, p, u, v.Method(), onSplit(vcfg, cfg), fdrmfl.Federated); err != nil {
			return nil, fmt.Errorf("%s: %w", v.Method(), err)
		}
		step(v.Method())
	}
	raw := rawClients(p, t.Data)
	d := s.FDRMFL.Model.Features
	var stats *clientStats // the clients' statistics, shared by the federated baselines
	for _, m := range []string{MPCA, MPCA90, MTSVD, MRP, MVAE, MFedPCA, MPLS, MRidge} {
		if !has(m) {
			continue
		}
		start := time.Now()
		var err error
		if stats == nil && (m == MFedPCA || m == MPLS || m == MRidge) {
			if stats, err = newClientStats(u, raw, s.FDRMFL.Privacy.Secure.Enabled); err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
		}
		switch m {
		case MPLS, MRidge:
			err = ur.federatedRegression(u, m, clients, raw, stats)
		case MFedPCA:
			var fs []features
			if fs, err = fedPCA(raw, stats, d); err == nil {
				err = ur.judge(u, m, clients, fs, []string{RegForest, RegRidge})
			}
		default:
			regs := []string{RegForest, RegRidge}
			if m == MPCA90 {
				regs = []string{RegForest} // the author's protocol; ridge on hundreds of components adds nothing
			}
			var fs []features
			if fs, err = extract(m, u, raw, d, s.VAEEpochs); err == nil {
				err = ur.judge(u, m, clients, fs, regs)
			}
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m, err)
		}
		ur.Timings = append(ur.Timings, Timing{Unit: u, Method: m, Seconds: time.Since(start).Seconds()})
		step(m)
	}
	return ur, nil
}

// network trains an FDRMFL configuration on the unit's split and judges
// its features with every downstream regressor.
func (ur *UnitResults) network(ctx context.Context, p *fdrmfl.Prepared, u Unit, m string, cfg fdrmfl.Config, mode fdrmfl.Mode) error {
	start := time.Now()
	res, err := p.Train(ctx, cfg, mode, fdrmfl.Options{})
	if err != nil {
		return err
	}
	for _, r := range res.Rounds {
		ur.Curves = append(ur.Curves, Curve{Unit: u, Method: m, Round: r.Round, Loss: r.Train["loss"]})
	}
	fs := make([]features, len(res.Clients))
	for k, c := range res.Clients {
		tr, te := c.Splits[0], c.Splits[2]
		fs[k] = features{train: dense(tr.Z, len(tr.Index)), test: dense(te.Z, len(te.Index)),
			yTrain: f64(tr.Y), yTest: f64(te.Y), head: f64(te.Pred), deployed: f64(te.Deployed())}
	}
	if err := ur.judge(u, m, p.Clients(), fs, []string{RegHead, RegDeployed, RegForest, RegRidge}); err != nil {
		return err
	}
	ur.Timings = append(ur.Timings, Timing{Unit: u, Method: m, Seconds: time.Since(start).Seconds()})
	return nil
}

// onSplit gives an FDRMFL configuration the unit's data, split and seed.
func onSplit(cfg, split fdrmfl.Config) fdrmfl.Config {
	cfg.Seed, cfg.Data, cfg.Federation.Clients, cfg.Federation.Partition, cfg.Federation.Workers =
		split.Seed, split.Data, split.Federation.Clients, split.Federation.Partition, 1
	if cfg.Loss == nil {
		l := train.DefaultLoss()
		cfg.Loss = &l
	}
	return cfg
}

// variant returns the configuration and mode of an FDRMFL method: our
// settings, the author's, or ours with a loss term removed.
func variant(s Spec, split fdrmfl.Config, m string) (fdrmfl.Config, fdrmfl.Mode) {
	cfg := s.FDRMFL
	if m == MPaper {
		cfg = s.Paper
	}
	cfg = onSplit(cfg, split)
	loss := *cfg.Loss
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
// for PCA) and returns each client's features. Every extractor gives d
// features, the size of FDRMFL's Z, from all modalities side by side,
// except MPCA90, the author's rule: per modality, the components that
// explain 90 % of its variance. It returns nil features for a method that
// does not apply to these data.
func extract(m string, u Unit, raw []rawClient, d, vaeEpochs int) ([]features, error) {
	out := make([]features, len(raw))
	seed := unitSeed(u)
	for k, c := range raw {
		if m == MPCA90 {
			var tr, te []*mat.Dense
			for mi := range c.train {
				pca := &baseline.PCA{Variance: 0.9}
				if err := pca.Fit(c.train[mi]); err != nil {
					return nil, fmt.Errorf("client %d modality %d: %w", k+1, mi, err)
				}
				a, err := pca.Transform(c.train[mi])
				if err != nil {
					return nil, err
				}
				b, err := pca.Transform(c.test[mi])
				if err != nil {
					return nil, err
				}
				tr, te = append(tr, a), append(te, b)
			}
			out[k] = features{train: concatCols(tr), test: concatCols(te), yTrain: c.yTrain, yTest: c.yTest}
			continue
		}
		x, xt := concatCols(c.train), concatCols(c.test)
		n, p := x.Dims()
		nt, _ := xt.Dims()
		dd := min(d, n-1, p)
		var e baseline.Extractor
		switch m {
		case MVAE:
			v, err := vae.Fit(f32(x), n, p, vae.Config{Latent: d, Epochs: vaeEpochs}, seed+uint64(k))
			if err != nil {
				return nil, err
			}
			ztr, _ := v.Encode(f32(x), n)
			zte, _ := v.Encode(f32(xt), nt)
			out[k] = features{train: dense(ztr, n), test: dense(zte, nt), yTrain: c.yTrain, yTest: c.yTest}
			continue
		case MPCA:
			e = &baseline.PCA{Components: dd}
		case MTSVD:
			e = &baseline.TruncatedSVD{Components: dd}
		case MRP:
			e = &baseline.RandomProjection{Components: d, Seed: seed + uint64(k)}
		}
		if err := e.Fit(x); err != nil {
			return nil, fmt.Errorf("client %d: %w", k+1, err)
		}
		a, err := e.Transform(x)
		if err != nil {
			return nil, err
		}
		b, err := e.Transform(xt)
		if err != nil {
			return nil, err
		}
		out[k] = features{train: a, test: b, yTrain: c.yTrain, yTest: c.yTest}
	}
	return out, nil
}

// clientStats are the clients' sufficient statistics of all modalities
// side by side: each client splits its rows into k folds and sends one set
// per fold, and the server merges fold f of every client (pooled k-fold CV
// stratified by client). Their merge is everything.
type clientStats struct {
	folds [][]*baseline.SuffStats
	total *baseline.SuffStats
	p     int
}

// newClientStats computes each client's fold statistics and merges fold f
// of every client. With secure set (privacy.secure_aggregation in the study's
// configuration) each fold is merged by secure aggregation
// (baseline.SecureMerge over fed/secagg), so the server never holds one
// client's statistics; the fits equal the plain ones to about 1e-13.
func newClientStats(u Unit, raw []rawClient, secure bool) (*clientStats, error) {
	_, p := concatCols(raw[0].train).Dims()
	k := 5
	if p > 2048 {
		k = 2 // each fold costs a p×p factorisation per ridge candidate
	}
	merged := make([]*baseline.SuffStats, k)
	var perClient [][]*baseline.SuffStats
	for c, rc := range raw {
		x := concatCols(rc.train)
		n, _ := x.Dims()
		folds := baseline.KFold(n, min(k, n), unitSeed(u)+uint64(c))
		fs, err := baseline.FoldStats(x, mat.NewDense(n, 1, rc.yTrain), folds)
		if err != nil {
			return nil, err
		}
		if secure {
			perClient = append(perClient, fs)
			continue
		}
		for f, s := range fs {
			if merged[f] == nil {
				merged[f] = &baseline.SuffStats{}
			}
			if err := merged[f].Merge(s); err != nil {
				return nil, err
			}
		}
	}
	if secure && len(raw) > 1 {
		folds, err := baseline.SecureByFold(perClient, func(parts [][]float64, blocks []int) ([]float64, error) {
			return secagg.SumFloats(parts, blocks, nil)
		})
		if err != nil {
			return nil, fmt.Errorf("secure aggregation of the statistics: %w", err)
		}
		for f, fold := range folds {
			merged[f] = fold[0]
		}
	} else if secure { // one client: nothing to hide its statistics among
		for f, s := range perClient[0] {
			merged[f] = s
		}
	}
	cs := &clientStats{total: &baseline.SuffStats{}, p: p}
	for _, s := range merged {
		if s != nil && s.N > 0 {
			cs.folds = append(cs.folds, []*baseline.SuffStats{s})
			if err := cs.total.Merge(s); err != nil {
				return nil, err
			}
		}
	}
	return cs, nil
}

// fedPCA fits d principal components of all modalities side by side on the
// clients' merged statistics (no rows leave a client) and projects each
// client's samples.
func fedPCA(raw []rawClient, stats *clientStats, d int) ([]features, error) {
	pca := &baseline.PCA{Components: min(d, stats.total.N-1, stats.p)}
	if err := pca.FitStats(stats.total); err != nil {
		return nil, err
	}
	out := make([]features, len(raw))
	for k, c := range raw {
		a, err := pca.Transform(concatCols(c.train))
		if err != nil {
			return nil, err
		}
		b, err := pca.Transform(concatCols(c.test))
		if err != nil {
			return nil, err
		}
		out[k] = features{train: a, test: b, yTrain: c.yTrain, yTest: c.yTest}
	}
	return out, nil
}

// federatedRegression fits federated ridge or PLS from the clients' fold
// statistics — choosing α or the number of components by the pooled CV,
// then refitting on everything — and predicts each client's test set.
func (ur *UnitResults) federatedRegression(u Unit, m string, clients []site.Sets, raw []rawClient, stats *clientStats) error {
	var reg interface {
		FitFolds([][]*baseline.SuffStats) error
		Predict(*mat.Dense) ([]float64, error)
	}
	switch {
	case m == MPLS:
		reg = &baseline.PLS{MaxComponents: 10}
	case stats.p > 2048:
		// Each candidate costs a p×p factorisation per fold (a quarter
		// second at the simulation's p = 3604); the choices there fall
		// between 10² and 10³.
		reg = &baseline.Ridge{Alphas: []float64{30, 100, 300, 1000, 3000}}
	default:
		reg = &baseline.Ridge{Alphas: baseline.LogSpace(-1, 4, 6)}
	}
	if err := reg.FitFolds(stats.folds); err != nil {
		return err
	}
	if r, ok := reg.(*baseline.Ridge); ok && os.Getenv("FDRMFL_DEBUG_ALPHA") != "" {
		fmt.Fprintln(os.Stderr, "ridge alpha", u, r.AlphaUsed)
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
func (ur *UnitResults) judge(u Unit, m string, clients []site.Sets, fs []features, regs []string) error {
	for _, reg := range regs {
		var pool [][2][]float64
		for k, f := range fs {
			var pred []float64
			switch reg {
			case RegHead:
				pred = f.head
			case RegDeployed:
				pred = f.deployed
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
func (ur *UnitResults) add(u Unit, m, reg, client string, y, pred []float64) {
	mse, r2 := errors(y, pred)
	ur.Rows = append(ur.Rows, Row{Unit: u, Method: m, Regressor: reg, Client: client, N: len(y), MSE: mse, R2: r2})
	if u.Seed == 1 { // one repetition's predictions serve the plots
		for i := range y {
			ur.Predictions = append(ur.Predictions, Prediction{Unit: u, Method: m, Regressor: reg, Client: client, Y: y[i], Pred: pred[i]})
		}
	}
}

// addPooled records the deployment error: every client's test samples,
// each predicted by the model that client deploys, together.
func (ur *UnitResults) addPooled(u Unit, m, reg string, parts [][2][]float64) {
	var y, pred []float64
	for _, p := range parts {
		y, pred = append(y, p[0]...), append(pred, p[1]...)
	}
	mse, r2 := errors(y, pred)
	ur.Rows = append(ur.Rows, Row{Unit: u, Method: m, Regressor: reg, Client: Pooled, N: len(y), MSE: mse, R2: r2})
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
