package fdrmfl

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// Config describes a whole study. Zero fields take the defaults that
// Defaults documents; the zero Config is the built-in default: the paper's
// simulation function 1 with 3 clients.
type Config struct {
	// Seed makes the run reproducible: data, splits, initialisation,
	// shuffling and dropout all derive from it.
	Seed       uint64     `yaml:"seed" json:"seed"`
	Data       Data       `yaml:"data" json:"data"`
	Federation Federation `yaml:"federation" json:"federation"`
	// Model is the model trained: the FDRMFL network (model.kind fdrmfl,
	// the default) or a linear model (kind pls, ridge, lasso or enet),
	// which Linear configures.
	Model model.Config `yaml:"model" json:"model"`
	// Linear says how a linear model.kind is fitted: the cross-validation
	// and the candidates it chooses among. It applies to linear kinds
	// only, as Train and Loss apply to the network only.
	Linear Linear       `yaml:"linear,omitempty" json:"linear,omitzero"`
	Train  train.Config `yaml:"train" json:"train"`
	// Loss, when given, replaces the default loss weights (λ = 0.01 each,
	// τ = 0.5, σ = 0.1); it is kept apart from Train so that an explicit
	// zero weight (an ablation) is not mistaken for "default".
	Loss *train.Loss `yaml:"loss" json:"loss"`
	// Init says where training starts (random, or a federated linear
	// model mapped into the network).
	Init Init `yaml:"init" json:"init"`
	// Select is model selection by federated validation: the number of
	// rounds and a small grid of settings.
	Select Select `yaml:"select" json:"select"`
	// Privacy sets secure aggregation and differential privacy (privacy.go).
	Privacy Privacy `yaml:"privacy" json:"privacy"`

	// privacySizes are the clients' training sizes, for sample-level
	// accounting (set by the simulation once the data are split).
	privacySizes []int
}

// Data says where the samples come from and how they are split and scaled.
type Data struct {
	// Source is "simulation" (method §5, the default) or "csv".
	Source string `yaml:"source" json:"source"`
	// Function (1–3) and Samples (default 2500: the paper's 2000 training
	// and 500 test samples) of the simulation.
	Function int `yaml:"function" json:"function"`
	Samples  int `yaml:"samples" json:"samples"`
	// Root is the folder the CSV files are read from; a relative path is
	// taken from the configuration file's folder.
	Root string `yaml:"root" json:"root"`
	// Modalities, ResponseFile and Responses describe the CSV files (see
	// data.Spec). Preset may name a known layout instead: "corn-p2",
	// "corn-p1/<response>", "tecator-p1/<response>", "tecator".
	Modalities   []data.ModalitySpec `yaml:"modalities" json:"modalities"`
	ResponseFile string              `yaml:"response_file" json:"response_file"`
	Responses    []string            `yaml:"responses" json:"responses"`
	Preset       string              `yaml:"preset" json:"preset"`
	// Rows keeps only these data rows of the files, as 1-based inclusive
	// ranges: "1-27" or "1-20,41-47" (default: every row). A client of a
	// real federation uses it to hold its share of a dataset; row numbers
	// in the outputs then count within the selection.
	Rows string `yaml:"rows,omitempty" json:"rows,omitempty"`
	// TestFraction of each client's samples is held out for testing
	// (default 0.2) and ValFraction of the rest for per-round validation
	// (default 0.1; a negative value keeps no validation set).
	TestFraction float64 `yaml:"test_fraction" json:"test_fraction"`
	ValFraction  float64 `yaml:"val_fraction" json:"val_fraction"`
	// Standardize is "federated" (default: pooled statistics of every
	// client's training data, computed from summed sufficient statistics)
	// or "local" (each client uses its own). Responses always use pooled
	// statistics, so that clients agree on the scale of y.
	Standardize string `yaml:"standardize" json:"standardize"`
	// Scale maps a modality to "per-feature" (default), "global" (one
	// mean and sd over all its values, the author's choice for spectra) or
	// "none".
	Scale map[string]string `yaml:"scale" json:"scale"`

	// How the CSV files are read and joined (see data.Spec).

	// Format sets the delimiter (",", ";", "tab", "whitespace"), the
	// decimal separator ("." or ",") and the sample-ID column (a name, or
	// "none") of every file; each is detected when empty. A modality's own
	// keys, and ResponseFormat for the response file, override it.
	data.Format    `yaml:",inline"`
	ResponseFormat data.Format `yaml:"response_format,omitempty" json:"response_format,omitempty"`
	// Replicates "mean" averages the rows that share a sample ID
	// (replicate scans); by default a repeated ID is an error.
	Replicates string `yaml:"replicates,omitempty" json:"replicates,omitempty"`
	// MissingRows "absent" takes a sample that a modality's file (or the
	// response file) has no row for as lacking that modality (or its
	// responses); by default that is an error naming the sample.
	MissingRows string `yaml:"missing_rows,omitempty" json:"missing_rows,omitempty"`
	// Split names a column of train / validation / test labels (in the
	// response file, or Split.File) that replaces the random split of
	// test_fraction and val_fraction.
	Split *data.SplitSource `yaml:"split,omitempty" json:"split,omitempty"`
	// Preprocess maps a modality to its spectral preprocessing, applied to
	// the raw values before standardisation (package preprocess): a chain
	// such as "sg1(11,2)+snv" (steps snv, msc, detrend, detrend(d),
	// sg(w,k), sg1(w,k), sg2(w,k)), "none", or "auto", which picks the
	// chain by federated cross-validation of PLS on the training data
	// (every "auto" modality gets the same kind of chain). The key "*"
	// applies to every signal modality not named. msc references are the
	// federated mean training spectrum. The fitted chains are reported and
	// stored in the model's manifest.
	Preprocess map[string]string `yaml:"preprocess,omitempty" json:"preprocess,omitempty"`
	// Sets, if set, is a fixed split: the set of each row of the data
	// ("train", "validation" or "test"), as a study or a benchmark
	// prescribes, instead of drawing each client's test and validation
	// samples at random (TestFraction and ValFraction are then not used;
	// the partition among clients still follows federation.partition). It
	// is filled from the data (a split column or file), not written in a
	// configuration file.
	Sets []string `yaml:"-" json:"-"`
}

// Federation describes the clients and the server's policy.
type Federation struct {
	Clients int `yaml:"clients" json:"clients"` // default 3
	Rounds  int `yaml:"rounds" json:"rounds"`   // default 16 (csv data: 30)
	// Partition is "iid" (default), "response" (each client a band of y;
	// Mix in [0, 1] reassigns that share of samples at random) or
	// "dirichlet" (client sizes ~ Dir(Beta), at least MinSize each).
	Partition string  `yaml:"partition" json:"partition"`
	Mix       float64 `yaml:"mix" json:"mix"`
	Beta      float64 `yaml:"beta" json:"beta"`
	MinSize   int     `yaml:"min_size" json:"min_size"`
	// Lacks lists, per client number (1-based), modalities that client
	// does not have.
	Lacks map[int][]string `yaml:"lacks" json:"lacks"`
	// Strategy is "fedavg" (default), "fedprox", "fedbn", the
	// drift-control strategies "scaffold" and "feddyn", or FedAvg with a
	// server optimiser: "fedavgm", "fedadam", "fedyogi", "fedadagrad"
	// (package fed/strategy).
	Strategy string `yaml:"strategy" json:"strategy"`
	// ServerLR is the server's step η: of the server optimisers (default
	// 1 − server_momentum for fedavgm, so that its steps match FedAvg's
	// in size, 0.01 for the adaptive ones) and of SCAFFOLD (default 1).
	ServerLR float64 `yaml:"server_lr,omitempty" json:"server_lr,omitempty"`
	// ServerMomentum is β₁ of the server optimisers (default 0.9),
	// ServerBeta2 β₂ (default 0.99) and ServerTau τ, their adaptivity
	// (default 1e-3).
	ServerMomentum float64 `yaml:"server_momentum,omitempty" json:"server_momentum,omitempty"`
	ServerBeta2    float64 `yaml:"server_beta2,omitempty" json:"server_beta2,omitempty"`
	ServerTau      float64 `yaml:"server_tau,omitempty" json:"server_tau,omitempty"`
	// DynAlpha is FedDyn's α (default 0.01).
	DynAlpha float64 `yaml:"dyn_alpha,omitempty" json:"dyn_alpha,omitempty"`
	// Smoothing is the server's β: w ← β·w + (1−β)·mean.
	Smoothing float64 `yaml:"smoothing" json:"smoothing"`
	// Prox is FedProx's μ (default 0.01 with fedprox).
	Prox float64 `yaml:"prox" json:"prox"`
	// Fraction of clients asked to train each round (default 1).
	Fraction float64 `yaml:"fraction" json:"fraction"`
	// Workers is the number of clients trained at once (0: GOMAXPROCS);
	// results do not depend on it.
	Workers int `yaml:"workers" json:"workers"`
	// KeepBest returns the global model of the round with the lowest
	// validation error rather than the last one (early stopping; needs
	// data.val_fraction > 0).
	KeepBest bool `yaml:"keep_best" json:"keep_best"`
	// Robustness: see robust.go and README "Robustness".
	//
	// Aggregator merges each round's updates: "mean" (default: the
	// strategy's sample-weighted mean, streamed in bounded memory) or a
	// robust rule in which every client has one vote and the server holds
	// the round's updates: "median", "trimmed-mean", "krum", "multi-krum",
	// "geomed" (RFA's geometric median) or "cc" (centered clipping).
	Aggregator string `yaml:"aggregator" json:"aggregator"`
	// Byzantine is f, the hostile clients the robust rules are to
	// tolerate (default ⌈clients/4⌉; below clients/2).
	Byzantine int `yaml:"byzantine" json:"byzantine"`
	// Trim is the share of values trimmed-mean drops from each end
	// (default: f of the round's clients).
	Trim float64 `yaml:"trim" json:"trim"`
	// Clip is centered clipping's τ as a multiple of the median distance
	// from the centre (default 2).
	Clip float64 `yaml:"clip" json:"clip"`
	// NormBound is k of the adaptive norm bound: an update that moves the
	// model more than k times the round's median is rejected (default 4;
	// negative: off). It also rejects an update shorter than a tenth of
	// the median: a model sent back all but unchanged.
	NormBound float64 `yaml:"norm_bound" json:"norm_bound"`
	// Direction is ρ of the direction check: in a round of at least
	// DirectionMin valid updates, an update whose cosine with the round's
	// coordinate-wise median update is below ρ times the round's median
	// cosine is rejected (default 0.5, off under secure aggregation, which
	// hides each update; negative: off).
	Direction float64 `yaml:"direction" json:"direction"`
	// DirectionMin is the fewest valid updates a round needs for the
	// direction check (default 8; at least 3). Smaller rounds go
	// unchecked: honest updates of a few non-IID clients can point
	// against each other (README "Robustness").
	DirectionMin int `yaml:"direction_min" json:"direction_min"`
	// StatsLimit screens the statistics phase: a client whose statistics
	// stand out from the others' by more than this (site.Screen) is left
	// out (default 10; negative: only the checks against impossible
	// statistics).
	StatsLimit float64 `yaml:"stats_limit" json:"stats_limit"`
	// Personalize is "auto" (default): after model selection, each client
	// fits a personal head — an affine recalibration a + b·ŷ of the
	// global model's prediction, shrunk towards the identity, on the
	// held-out predictions of its own training rows — and deploys it when
	// its leave-one-out error there beats the global model's; "off" keeps
	// the global model for every client. The global head is always kept.
	Personalize string `yaml:"personalize" json:"personalize"`
}

// DefaultModel returns the network of the built-in simulation: a linear
// encoder per modality to a latent of 96, weighted fusion to d = 16
// features (the settings that won the study of docs/results.md).
func DefaultModel() model.Config {
	linear := model.Encoder{Type: model.EncMLP, Hidden: []int{}}
	return model.Config{
		Latent: 96, Features: 16,
		Modalities: []model.Modality{
			{Name: "image", Shape: []int{3, 32, 32}, Encoder: linear},
			{Name: "text", Shape: []int{10, 50}, Encoder: linear},
			{Name: "vector", Shape: []int{32}, Encoder: linear},
		},
		Fusion: model.Fusion{Hidden: []int{64}},
		Head:   model.Head{Hidden: []int{32}},
	}
}

// SimulationLoss returns the default loss of simulated data: the author's
// weights with the Gaussian MI estimator at λ_mi = 0.1, which retained
// more response information in Z in the study of docs/results.md.
func SimulationLoss() train.Loss {
	l := train.DefaultLoss()
	l.MIEstimator, l.MI = "gaussian", 0.1
	return l
}

// Defaults returns c with every zero field set to its default. A linear
// model.kind gets the linear defaults (Linear.Defaults) and no
// validation set unless data.val_fraction asks for one (cross-validation
// over the training rows chooses its settings); the network's settings
// (model, train, loss, rounds, strategy) are left as given.
func (c Config) Defaults() Config {
	if c.Model.Kind == "" {
		c.Model.Kind = KindFDRMFL
	}
	d := &c.Data
	if d.Source == "" {
		d.Source = "simulation"
	}
	if d.Source == "simulation" {
		if d.Function == 0 {
			d.Function = 1
		}
		if d.Samples == 0 {
			d.Samples = 2500
		}
	}
	if d.TestFraction == 0 {
		d.TestFraction = 0.2
	}
	if d.ValFraction == 0 {
		d.ValFraction = 0.1
		if c.IsLinear() {
			d.ValFraction = -1
		}
	}
	if d.Standardize == "" {
		d.Standardize = "federated"
	}
	f := &c.Federation
	if f.Clients == 0 {
		f.Clients = 3
	}
	if f.Partition == "" {
		f.Partition = "iid"
	}
	if f.Beta == 0 {
		f.Beta = 0.5
	}
	if c.IsLinear() {
		c.Linear = c.Linear.defaults(c.Model.Kind)
		return c
	}
	if f.Rounds == 0 {
		f.Rounds = 16 // simulation
		if d.Source == "csv" {
			f.Rounds = 30 // small NIR-sized data: docs/results.md, tuning
		}
	}
	if f.Strategy == "" {
		f.Strategy = "fedavg"
	}
	if f.Strategy == "fedprox" && f.Prox == 0 {
		f.Prox = 0.01
	}
	if c.Privacy.Secure.Enabled && f.Direction == 0 {
		f.Direction = -1 // it needs each update, which secure aggregation hides
	}
	f.robustDefaults()
	switch f.Strategy {
	case "fedavgm", "fedadam", "fedyogi", "fedadagrad":
		if f.ServerMomentum == 0 {
			f.ServerMomentum = 0.9
		}
		if f.ServerBeta2 == 0 {
			f.ServerBeta2 = 0.99
		}
		if f.ServerTau == 0 {
			f.ServerTau = 1e-3
		}
		if f.ServerLR == 0 {
			f.ServerLR = 0.01
			if f.Strategy == "fedavgm" {
				f.ServerLR = 1 - f.ServerMomentum
			}
		}
	case "scaffold":
		if f.ServerLR == 0 {
			f.ServerLR = 1
		}
	case "feddyn":
		if f.DynAlpha == 0 {
			f.DynAlpha = 0.01
		}
	}
	if c.Loss != nil {
		c.Train.Loss = *c.Loss
	} else if c.Train.Loss == (train.Loss{}) {
		c.Train.Loss = train.DefaultLoss()
		if d.Source == "simulation" {
			c.Train.Loss = SimulationLoss()
		}
	}
	// The winners of the study (docs/results.md): a smaller step for the
	// simulation's long inputs; for small tabular data (the NIR sets) many
	// local epochs of small batches and a compact network.
	t := &c.Train
	if d.Source == "simulation" {
		// One epoch a round over many rounds with an L1 penalty on the
		// encoders' input weights: the response lives on a few of the
		// 3604 inputs, and frequent averaging of the sparse encoders finds
		// them.
		if t.LR == 0 {
			t.LR = 1e-3
		}
		if t.Epochs == 0 {
			t.Epochs = 1
		}
		if t.L1 == 0 {
			t.L1 = 0.1
		}
	}
	if t.L1 < 0 {
		t.L1 = 0 // explicitly off
	}
	if d.Source == "csv" {
		if t.Epochs == 0 {
			t.Epochs = 15
		}
		if t.BatchSize == 0 {
			t.BatchSize = 16
		}
		m := &c.Model
		if m.Latent == 0 {
			m.Latent = 32
		}
		if m.Features == 0 {
			m.Features = 8
		}
		if m.Fusion.Hidden == nil {
			m.Fusion.Hidden = []int{32}
		}
		if m.Head.Hidden == nil {
			m.Head.Hidden = []int{16}
		}
	}
	c.Train = c.Train.Defaults()
	c.Init = c.Init.defaults()
	c.Select = c.Select.defaults()
	if f.Personalize == "" {
		f.Personalize = "auto"
	}
	c.Privacy.defaults()
	return c
}

// Validate reports the first bad setting, naming its key and what is
// allowed. Call it on a Config after Defaults.
func (c Config) Validate() error {
	d, f := c.Data, c.Federation
	switch d.Source {
	case "simulation":
		if d.Function < 1 || d.Function > 3 {
			return fmt.Errorf("data.function: %d is not 1, 2 or 3", d.Function)
		}
		if d.Samples < 10 {
			return fmt.Errorf("data.samples: %d is too few (at least 10)", d.Samples)
		}
	case "csv":
		if err := d.checkFiles(); err != nil {
			return err
		}
	default:
		return fmt.Errorf("data.source: %q is not \"simulation\" or \"csv\"", d.Source)
	}
	if _, err := parseRows(d.Rows, -1); err != nil {
		return fmt.Errorf("data.rows: %w", err)
	}
	if d.TestFraction <= 0 || d.TestFraction >= 1 {
		return fmt.Errorf("data.test_fraction: %v is not in (0, 1)", d.TestFraction)
	}
	if d.ValFraction >= 1 {
		return fmt.Errorf("data.val_fraction: %v is not below 1 (negative: no validation set)", d.ValFraction)
	}
	switch d.Standardize {
	case "federated", "local":
	default:
		return fmt.Errorf("data.standardize: %q is not \"federated\" or \"local\"", d.Standardize)
	}
	for m, s := range d.Scale {
		if _, err := data.ParseMode(s); err != nil {
			return fmt.Errorf("data.scale.%s: %q is not \"per-feature\", \"global\" or \"none\"", m, s)
		}
	}
	if err := checkPreprocessSyntax(d.Preprocess); err != nil {
		return err
	}
	if err := site.CheckSets(d.Sets); err != nil {
		return fmt.Errorf("data: fixed split: %w", err)
	}
	if f.Clients < 1 {
		return fmt.Errorf("federation.clients: %d must be at least 1", f.Clients)
	}
	switch f.Partition {
	case "iid", "dirichlet":
	case "response":
		if f.Mix < 0 || f.Mix > 1 {
			return fmt.Errorf("federation.mix: %v is not in [0, 1]", f.Mix)
		}
	default:
		return fmt.Errorf("federation.partition: %q is not \"iid\", \"response\" or \"dirichlet\"", f.Partition)
	}
	if f.Beta <= 0 {
		return fmt.Errorf("federation.beta: %v must be positive", f.Beta)
	}
	for _, k := range slices.Sorted(maps.Keys(f.Lacks)) {
		if k < 1 || k > f.Clients {
			return fmt.Errorf("federation.lacks: client %d does not exist (clients are 1..%d)", k, f.Clients)
		}
	}
	if err := c.checkKind(); err != nil || c.IsLinear() {
		return err
	}
	if f.Rounds < 1 {
		return fmt.Errorf("federation.rounds: %d must be at least 1", f.Rounds)
	}
	if !slices.Contains(Strategies, f.Strategy) {
		return fmt.Errorf("federation.strategy: %q is not one of %q", f.Strategy, Strategies)
	}
	if f.ServerLR < 0 {
		return fmt.Errorf("federation.server_lr: %v must be positive", f.ServerLR)
	}
	if f.ServerMomentum < 0 || f.ServerMomentum >= 1 {
		return fmt.Errorf("federation.server_momentum: %v is not in [0, 1)", f.ServerMomentum)
	}
	if f.ServerBeta2 < 0 || f.ServerBeta2 >= 1 {
		return fmt.Errorf("federation.server_beta2: %v is not in [0, 1)", f.ServerBeta2)
	}
	if f.ServerTau < 0 {
		return fmt.Errorf("federation.server_tau: %v must not be negative", f.ServerTau)
	}
	if f.DynAlpha < 0 {
		return fmt.Errorf("federation.dyn_alpha: %v must be positive", f.DynAlpha)
	}
	if f.Smoothing < 0 || f.Smoothing >= 1 {
		return fmt.Errorf("federation.smoothing: %v is not in [0, 1)", f.Smoothing)
	}
	if f.Prox < 0 {
		return fmt.Errorf("federation.prox: %v must not be negative", f.Prox)
	}
	if err := f.validateRobust(); err != nil {
		return err
	}
	if f.KeepBest && c.Data.ValFraction <= 0 {
		return fmt.Errorf("federation.keep_best: needs a validation set (data.val_fraction > 0)")
	}
	if f.Fraction < 0 || f.Fraction > 1 {
		return fmt.Errorf("federation.fraction: %v is not in [0, 1]", f.Fraction)
	}
	if err := c.Init.validate(); err != nil {
		return err
	}
	if err := c.Select.validate(c.Data.ValFraction); err != nil {
		return err
	}
	switch f.Personalize {
	case "auto", "off":
	default:
		return fmt.Errorf("federation.personalize: %q is not \"auto\" or \"off\"", f.Personalize)
	}
	if err := c.validatePrivacy(); err != nil {
		return err
	}
	if err := c.Train.Validate(); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "train: "))
	}
	return nil
}

// Strategies lists the values federation.strategy may take.
var Strategies = []string{"fedavg", "fedprox", "fedbn", "scaffold", "feddyn", "fedavgm", "fedadam", "fedyogi", "fedadagrad"}

// checkFiles validates the keys that say how CSV and JCAMP-DX files are
// read, naming the key at fault.
func (d Data) checkFiles() error {
	if err := d.Format.Check(); err != nil {
		return fmt.Errorf("data.%w", err)
	}
	if err := d.ResponseFormat.Check(); err != nil {
		return fmt.Errorf("data.response_format.%w", err)
	}
	switch d.Replicates {
	case "", "mean":
	default:
		return fmt.Errorf("data.replicates: %q is not \"mean\" (leave it out to refuse repeated sample IDs)", d.Replicates)
	}
	switch d.MissingRows {
	case "", "absent":
	default:
		return fmt.Errorf("data.missing_rows: %q is not \"absent\" (leave it out to refuse a missing row)", d.MissingRows)
	}
	if sp := d.Split; sp != nil {
		switch {
		case sp.Column == "":
			return fmt.Errorf("data.split.column: name the column of train / validation / test labels")
		case sp.File == "" && d.ResponseFile == "" && d.Preset == "":
			return fmt.Errorf("data.split.file: no file, and no response_file to find column %q in", sp.Column)
		}
		if err := sp.Format.Check(); err != nil {
			return fmt.Errorf("data.split.%w", err)
		}
	}
	for i, m := range d.Modalities {
		key := fmt.Sprintf("data.modalities[%d]", i)
		if err := m.Format.Check(); err != nil {
			return fmt.Errorf("%s.%w", key, err)
		}
		switch {
		case m.File != "" && len(m.JCAMP) > 0:
			return fmt.Errorf("%s: give file (a CSV file) or jcamp (JCAMP-DX files), not both", key)
		case len(m.JCAMP) > 0 && m.Format != data.Format{}:
			return fmt.Errorf("%s: delimiter, decimal and id_column do not apply to jcamp files (jcamp_id names the samples)", key)
		case len(m.JCAMP) > 0 && len(m.Columns) > 0:
			return fmt.Errorf("%s.columns: does not apply to jcamp files", key)
		}
		switch m.JCAMPID {
		case "", "title", "file":
			if m.JCAMPID != "" && len(m.JCAMP) == 0 {
				return fmt.Errorf("%s.jcamp_id: applies to jcamp files only", key)
			}
		default:
			return fmt.Errorf("%s.jcamp_id: %q is not \"title\" or \"file\"", key, m.JCAMPID)
		}
	}
	return nil
}

// spec returns the data layer's description of the CSV and JCAMP-DX
// files, keeping rows (0-based rows of the first modality's source).
func (d Data) spec(rows []int) data.Spec {
	return data.Spec{
		Modalities: d.Modalities, ResponseFile: d.ResponseFile, Responses: d.Responses,
		Format: d.Format, ResponseFormat: d.ResponseFormat, Replicates: d.Replicates, MissingRows: d.MissingRows, Split: d.Split, Rows: rows,
	}
}

// presets lists the dataset layouts Data.Preset may name.
var presets = []string{"corn-p2", "corn-p1/<moisture|oil|protein|starch>", "tecator-p1/<fat|water|protein>", "tecator"}
