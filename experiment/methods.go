package experiment

import (
	"context"
	stderrors "errors"
	"fmt"
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

// MethodPreprocessing is the Method of the Choice that records a
// repetition's spectral preprocessing, which every method shares.
const MethodPreprocessing = "(preprocessing, every method)"

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
	cfg.Data.Sets = t.Sets
	p, err := fdrmfl.Prepare(cfg, t.Data)
	if err != nil {
		return nil, err
	}
	ur := &UnitResults{Unit: u}
	for _, pp := range p.Preprocess {
		ur.Choices = append(ur.Choices, Choice{Unit: u, Method: MethodPreprocessing, Setting: pp.Modality, Value: pp.Spec})
	}
	clients := p.Clients()
	for _, c := range clients {
		ur.Assignments = append(ur.Assignments,
			Assignment{Unit: u, Client: c.Name, Set: "train", Rows: slices.Clone(c.TrainIndex), IDs: slices.Clone(c.Train.IDs)},
			Assignment{Unit: u, Client: c.Name, Set: "test", Rows: slices.Clone(c.TestIndex), IDs: slices.Clone(c.Test.IDs)})
		if len(c.ValIndex) > 0 {
			ur.Assignments = append(ur.Assignments, Assignment{Unit: u, Client: c.Name, Set: "validation", Rows: slices.Clone(c.ValIndex), IDs: slices.Clone(c.Val.IDs)})
		}
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
	var pls *baseline.PLS  // federated PLS, which the personalised PLS corrects
	for _, m := range []string{MPCA, MPCA90, MTSVD, MRP, MVAE, MFedPCA, MPLS, MRidge, MENet, MModPLS, MPersPLS, MLocPLS} {
		if !has(m) || slices.Contains(s.Skip, m) {
			continue
		}
		start := time.Now()
		var err error
		if stats == nil && slices.Contains([]string{MFedPCA, MPLS, MRidge, MENet, MModPLS, MPersPLS}, m) {
			if stats, err = newClientStats(u, raw, s.FDRMFL.Privacy.Secure.Enabled); err != nil {
				return nil, fmt.Errorf("%s: %w", m, err)
			}
		}
		switch m {
		case MPLS, MRidge, MENet, MModPLS:
			var fitted predictor
			if fitted, err = federatedRegression(m, s, t.Data, raw, stats); err == nil {
				err = ur.predictAll(u, m, clients, raw, fitted)
				ur.choices(u, m, fitted)
				if m == MPLS {
					pls = fitted.(*baseline.PLS)
				}
			}
		case MPersPLS:
			if pls == nil {
				if pls, err = fitPLS(stats); err != nil {
					break
				}
			}
			err = ur.personalised(u, m, clients, raw, stats, pls)
		case MLocPLS:
			err = ur.localPLS(u, m, clients, raw)
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
// per fold; the server groups fold f of every client (pooled k-fold CV
// stratified by client). Their merge is everything. folds[c] keeps the
// fold of each of client c's training rows, for out-of-fold predictions.
type clientStats struct {
	folds     [][]*baseline.SuffStats
	total     *baseline.SuffStats
	p         int
	rowFolds  [][]int
	perClient [][]*baseline.SuffStats // until merged by fold
}

// statFolds is the number of cross-validation folds of the federated
// baselines.
const statFolds = 5

// newClientStats computes each client's fold statistics and merges fold f
// of every client. With secure set (privacy.secure_aggregation in the study's
// configuration) each fold is merged by secure aggregation
// (baseline.SecureMerge over fed/secagg), so the server never holds one
// client's statistics; the fits equal the plain ones to about 1e-13.
func newClientStats(u Unit, raw []rawClient, secure bool) (*clientStats, error) {
	_, p := concatCols(raw[0].train).Dims()
	cs := &clientStats{p: p}
	k := statFolds
	if p > 2048 {
		// The simulation: 2000 rows of 3604 inputs, where every fold's
		// statistics are a 104 MB matrix and each fold of a CV costs p×p
		// products per candidate. Three folds, as the sklearn LassoCV
		// reference run: with two, each fit sees half the rows and the
		// lasso's CV picks a penalty three times too large.
		k = 3
	}
	var all []*baseline.SuffStats
	for c, rc := range raw {
		x := concatCols(rc.train)
		n, _ := x.Dims()
		folds := baseline.KFold(n, min(k, n), unitSeed(u)+uint64(c))
		fs, err := baseline.FoldStats(x, mat.NewDense(n, 1, rc.yTrain), folds)
		if err != nil {
			return nil, err
		}
		cs.rowFolds = append(cs.rowFolds, folds)
		cs.perClient = append(cs.perClient, fs)
		all = append(all, fs...)
	}
	// Merge each fold across the clients (the same CV): held as factors
	// while they stay low-rank, else in full, a k-th of the memory. Under
	// secure aggregation the server learns only each fold's sum.
	switch {
	case secure && len(raw) > 1:
		folds, err := baseline.SecureByFold(cs.perClient, func(parts [][]float64, blocks []int) ([]float64, error) {
			return secagg.SumFloats(parts, blocks, nil)
		})
		if err != nil {
			return nil, fmt.Errorf("secure aggregation of the statistics: %w", err)
		}
		cs.folds = folds
	default: // plain, or one client under secure aggregation (nothing to hide among)
		cs.folds = baseline.ByFold(cs.perClient)
	}
	all = nil
	for f, fold := range cs.folds {
		m, err := baseline.MergeStats(fold...)
		if err != nil {
			return nil, err
		}
		cs.folds[f] = []*baseline.SuffStats{m}
		all = append(all, m)
	}
	cs.perClient = nil
	var err error
	if cs.total, err = baseline.MergeStats(all...); err != nil {
		return nil, err
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

// ENet is the path of the federated elastic net: the L1 ratios it chooses
// among (1: the lasso) and the length of its α path (from α_max down to
// Eps·α_max).
type ENet struct {
	Ratios   []float64
	Alphas   int
	Eps      float64 // α_min/α_max; 0: 1e-3
	StopRise int     // baseline.ElasticNet.StopRise
}

// DefaultENet is the elastic net of the NIR experiments. sklearn suggests
// ratios [.1, .5, .7, .9, .95, .99, 1]; below 0.9 the solutions on
// spectra have hundreds of nonzeros, where each path costs seconds, and
// ridge (a separate baseline) covers that end. A path stops once its CV
// error has not improved for 10 of its 50 penalties (a factor of 4 in α).
var DefaultENet = ENet{Ratios: []float64{0.9, 1}, Alphas: 50, StopRise: 10}

// federatedRegression fits a federated linear baseline from the clients'
// fold statistics — choosing its hyper-parameters by federated
// cross-validation (ridge: GCV, from the merged statistics alone), then
// refitting on everything.
func federatedRegression(m string, s Spec, ds *data.Dataset, raw []rawClient, stats *clientStats) (predictor, error) {
	switch m {
	case MPLS:
		return fitPLS(stats)
	case MRidge:
		r := &baseline.Ridge{}
		err := r.FitGCV(stats.total)
		if stderrors.Is(err, baseline.ErrRankTooLarge) {
			// The simulation: 2000 rows of 3604 inputs, where the
			// decomposition takes minutes. Each candidate costs a p×p
			// factorisation per fold (a quarter second); the choices there
			// fall between 10² and 10³.
			r = &baseline.Ridge{Alphas: []float64{30, 100, 300, 1000, 3000}}
			err = r.FitFolds(stats.folds)
		}
		return r, err
	case MENet:
		en := DefaultENet
		if s.ENet != nil {
			en = *s.ENet
		}
		e := &baseline.ElasticNet{NAlphas: en.Alphas, L1Ratios: en.Ratios, Eps: en.Eps, StopRise: en.StopRise}
		return e, e.FitFolds(stats.folds)
	case MModPLS:
		b := &baseline.BlockPLS{Blocks: blocks(ds, raw)}
		return b, b.FitFolds(stats.folds)
	}
	return nil, fmt.Errorf("no federated regression %q", m)
}

// fitPLS fits federated PLS, components by federated CV up to
// min(30, n − 1).
func fitPLS(stats *clientStats) (*baseline.PLS, error) {
	p := &baseline.PLS{MaxComponents: 30}
	return p, p.FitFolds(stats.folds)
}

// blocks returns the column range of each modality in the inputs placed
// side by side.
func blocks(ds *data.Dataset, raw []rawClient) []baseline.Block {
	var out []baseline.Block
	from := 0
	for i, x := range raw[0].train {
		_, w := x.Dims()
		out = append(out, baseline.Block{Name: ds.Modalities[i].Name, From: from, To: from + w})
		from += w
	}
	return out
}

// choices records the settings a federated baseline chose.
func (ur *UnitResults) choices(u Unit, m string, fitted predictor) {
	add := func(setting, value string) {
		ur.Choices = append(ur.Choices, Choice{Unit: u, Method: m, Setting: setting, Value: value})
	}
	switch f := fitted.(type) {
	case *baseline.PLS:
		_, a := f.Rotations.Dims()
		add("components", fmt.Sprint(a))
	case *baseline.Ridge:
		add("alpha", fmt.Sprintf("%.4g", f.AlphaUsed))
	case *baseline.ElasticNet:
		add("alpha", fmt.Sprintf("%.4g", f.AlphaUsed))
		add("l1_ratio", fmt.Sprint(f.L1RatioUsed))
		nz := 0
		for _, v := range f.Coef.RawMatrix().Data {
			if v != 0 {
				nz++
			}
		}
		add("nonzero", fmt.Sprint(nz))
	case *baseline.BlockPLS:
		_, a := f.Model.Rotations.Dims()
		add("modalities", f.ChosenNames())
		add("components", fmt.Sprint(a))
	}
}

// predictor is a fitted global model.
type predictor interface {
	Predict(*mat.Dense) ([]float64, error)
}

// predictAll records each client's test predictions of a global model.
func (ur *UnitResults) predictAll(u Unit, m string, clients []site.Sets, raw []rawClient, reg predictor) error {
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

// personalised corrects the federated PLS for each client: the client
// predicts its own training rows out of fold (each by the model fitted
// without its fold, which the server sends back after the CV), fits a
// slope/bias correction to them (none, bias, or both, by its own LOO
// error), and deploys the global model with its correction.
func (ur *UnitResults) personalised(u Unit, m string, clients []site.Sets, raw []rawClient, stats *clientStats, pls *baseline.PLS) error {
	var pool [][2][]float64
	for c, rc := range raw {
		oof, err := pls.OutOfFold(concatCols(rc.train), stats.rowFolds[c])
		if err != nil {
			return err
		}
		corr, err := baseline.Correct(rc.yTrain, oof)
		if err != nil {
			return err
		}
		pred, err := pls.Predict(concatCols(rc.test))
		if err != nil {
			return err
		}
		pred = corr.Apply(pred)
		ur.Choices = append(ur.Choices, Choice{Unit: u, Method: m, Client: clients[c].Name, Setting: "correction", Value: corr.String()})
		ur.add(u, m, RegOwn, clients[c].Name, rc.yTest, pred)
		pool = append(pool, [2][]float64{rc.yTest, pred})
	}
	ur.addPooled(u, m, RegOwn, pool)
	return nil
}

// localPLS fits PLS on each client's own rows alone, components by its
// own k-fold CV (up to min(30, n_train − 1)).
func (ur *UnitResults) localPLS(u Unit, m string, clients []site.Sets, raw []rawClient) error {
	var pool [][2][]float64
	for c, rc := range raw {
		x := concatCols(rc.train)
		n, _ := x.Dims()
		p := &baseline.PLS{MaxComponents: 30, Folds: min(statFolds, n), Seed: unitSeed(u) + uint64(c)}
		if err := p.Fit(x, rc.yTrain); err != nil {
			return fmt.Errorf("client %s: %w", clients[c].Name, err)
		}
		pred, err := p.Predict(concatCols(rc.test))
		if err != nil {
			return err
		}
		_, a := p.Rotations.Dims()
		ur.Choices = append(ur.Choices, Choice{Unit: u, Method: m, Client: clients[c].Name, Setting: "components", Value: fmt.Sprint(a)})
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
