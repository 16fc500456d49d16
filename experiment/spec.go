// Package experiment runs the studies of method.md §5 — the simulation
// functions and the Tecator and corn NIR data — with repeated random
// splits, comparing FDRMFL (federated, local-only, centralised, ablated,
// and with the author's settings) against classical feature extraction
// and the federated regressions a chemometrician would use first. It
// computes; writing files and plots is the caller's business.
package experiment

import (
	"fmt"
	"io/fs"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// Spec is one experiment: a dataset (with one or more response tasks), the
// splits and seeds it is repeated over, and the FDRMFL settings.
type Spec struct {
	Name  string // as given to fdrmfl reproduce
	Title string
	// Tasks loads the dataset once per response studied; fsys is the data
	// root (unused by simulations).
	Tasks func(fsys fs.FS) ([]Task, error)
	// Splits: "iid" and/or "response" (each client a band of y).
	Splits []string
	Seeds  int
	// TuneSeeds is the number of repetitions of a tuning study (seeds
	// TuneFirstSeed on; iid split only).
	TuneSeeds int
	// Clients and TestFraction of each client's samples held out.
	Clients      int
	TestFraction float64
	// FDRMFL is our configuration (model, training, federation rounds);
	// Paper repeats the author's settings. Their data and partition
	// settings are set by the runner.
	FDRMFL, Paper fdrmfl.Config
	// Encoder and PaperEncoder choose each modality's encoder by its kind
	// when the configuration names no modalities.
	Encoder, PaperEncoder func(data.Kind) model.Encoder
	// VAEEpochs trains the VAE baseline (0: the author's 80).
	VAEEpochs int
	// Preprocess is the spectral preprocessing of every method of a
	// repetition (fdrmfl.Data.Preprocess: modality, or "*" for every
	// signal modality, → chain or "auto"), fitted on that repetition's
	// training data; nil: none.
	Preprocess map[string]string
	// ENet overrides DefaultENet, the elastic net's path.
	ENet *ENet
	// Skip lists methods that do not apply to these data.
	Skip []string
}

// Task is one response of a dataset.
type Task struct {
	Name string // the response, e.g. "protein"
	Data *data.Dataset
	// Sets, if set, is a fixed split of Data's rows ("train",
	// "validation" or "test" per row): every repetition keeps it, and the
	// seeds vary the partition among clients and the training.
	Sets []string
}

// Methods in the order of the result tables. The FDRMFL methods train the
// network; the others are classical.
const (
	MFDRMFL  = "FDRMFL"
	MPaper   = "FDRMFL (author's settings)"
	MLocal   = "FDRMFL local-only"
	MCentral = "FDRMFL centralised"
	MMSE     = "FDRMFL MSE only"
	MNoMI    = "FDRMFL without MI"
	MNoKL    = "FDRMFL without KL"
	MNoCon   = "FDRMFL without contrastive"
	MPCA     = "PCA (per client)"
	MPCA90   = "PCA at 90 % variance per modality (per client)"
	MFedPCA  = "PCA (federated)"
	MTSVD    = "Truncated SVD (per client)"
	MRP      = "Random projection (per client)"
	MVAE     = "VAE (per client)"
	MPLS     = "PLS (federated)"
	MRidge   = "Ridge (federated)"
	MENet    = "Lasso / elastic net (federated)"
	MModPLS  = "PLS on chosen modalities (federated)"
	MPersPLS = "PLS personalised (federated + client slope/bias)"
	MLocPLS  = "PLS local-only (per client)"
)

// Methods lists every method.
var Methods = []string{MFDRMFL, MPaper, MLocal, MCentral, MMSE, MNoMI, MNoKL, MNoCon, MPCA, MPCA90, MFedPCA, MTSVD, MRP, MVAE,
	MPLS, MRidge, MENet, MModPLS, MPersPLS, MLocPLS}

// Baselines are the regressions that make the best-baseline column: each
// federated exactly from summed statistics, tuned by federated
// cross-validation on training data only.
var Baselines = []string{MPLS, MRidge, MENet, MModPLS, MPersPLS}

// Downstream regressors of extracted features. PLS and ridge are
// regressions themselves and report as RegOwn.
const (
	RegHead   = "head"   // the FDRMFL network's own regression head
	RegForest = "forest" // random forest, 100 trees
	RegRidge  = "ridge"  // ridge with α by leave-one-out
	RegOwn    = "own"    // the method's own prediction (PLS, ridge)
	// RegDeployed is what each client of an FDRMFL federation deploys:
	// its personal head where it has one (federation.personalize), else
	// the global head.
	RegDeployed = "deployed"
)

// Catalogue lists the experiments fdrmfl reproduce knows, by name.
func Catalogue() []Spec {
	var out []Spec
	for fn := 1; fn <= 3; fn++ {
		out = append(out, simulation(fn))
	}
	out = append(out,
		realData("tecator-p1", "Tecator, protocol P1 (spectrum + the other two responses)", 0.1, 15, tecatorTasks(true)),
		realData("tecator-p2", "Tecator, protocol P2 (spectrum only)", 0.1, 15, tecatorTasks(false)),
		realData("corn-p1", "Corn, protocol P1 (m5 spectrum + the other three responses)", 0.2, 5, cornTasks(true)),
		realData("corn-p2", "Corn, protocol P2 (spectra of m5, mp5 and mp6 as three modalities)", 0.2, 5, cornTasks(false)),
	)
	return out
}

// Lookup returns the experiments named by names ("all" for every one).
func Lookup(names []string) ([]Spec, error) {
	cat := Catalogue()
	var out []Spec
	for _, n := range names {
		if n == "all" {
			return cat, nil
		}
		i := slices.IndexFunc(cat, func(s Spec) bool { return s.Name == n })
		if i < 0 {
			var known []string
			for _, s := range cat {
				known = append(known, s.Name)
			}
			return nil, fmt.Errorf("unknown experiment %q (known: %s, all)", n, strings.Join(known, ", "))
		}
		out = append(out, cat[i])
	}
	return out, nil
}

// simulation is function fn of method.md §5: our settings beside the
// author's (5 rounds × 3 epochs, Adam 1e-3, batch 32, d = 128, λ = 0.01).
//
// Ours were chosen on seeds 101–104 (not the reported ones) among about 30
// variants (docs/results.md): linear encoders to a latent of 96, d = 16,
// the Gaussian MI estimator with λ_mi = 0.1, an L1 penalty of 0.1 on the
// encoders' input weights, Adam 1e-3, 16 rounds × 1 epoch (as cheap as the
// 8 × 3 we had before L1, and better with it: frequent averaging of the
// sparse encoders). Training starts from the federated linear model with
// the least CV error (init.from linear), which on these 3604 inputs is the
// lasso: on seeds 101–104 it took the iid split from 0.62 to 0.89 on
// function 1 and from 0.49 to 0.73 on function 2, ahead of the federated
// lasso's 0.85 and 0.61 (docs/results.md, "After the run").
func simulation(fn int) Spec {
	mlp := func(name string, shape []int, hidden int) model.Modality {
		return model.Modality{Name: name, Shape: shape, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{hidden}}}
	}
	linear := func(name string, shape []int) model.Modality {
		return model.Modality{Name: name, Shape: shape, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}}
	}
	loss := fdrmfl.SimulationLoss()
	author := train.DefaultLoss()
	ours := fdrmfl.Config{
		Model: model.Config{Latent: 96, Features: 16, Modalities: []model.Modality{
			linear("image", []int{3, 32, 32}), linear("text", []int{10, 50}), linear("vector", []int{32}),
		}, Fusion: model.Fusion{Hidden: []int{64}}, Head: model.Head{Hidden: []int{32}}},
		Federation: fdrmfl.Federation{Rounds: 16},
		Train:      train.Config{Epochs: 1, BatchSize: 32, LR: 1e-3, L1: 0.1},
		Loss:       &loss,
		Init:       fdrmfl.Init{From: "linear"},
	}
	paper := fdrmfl.Config{
		Model: model.Config{Latent: 128, Features: 128, Modalities: []model.Modality{
			mlp("image", []int{3, 32, 32}, 128), mlp("text", []int{10, 50}, 128), mlp("vector", []int{32}, 128),
		}, Fusion: model.Fusion{Hidden: []int{256}}, Head: model.Head{Hidden: []int{64}, Dropout: 0.3}},
		Federation: fdrmfl.Federation{Rounds: 5, Personalize: "off"},
		Train:      train.Config{Epochs: 3, BatchSize: 32, LR: 1e-3, Optimizer: "adam", L1: -1}, // -1: no L1 (the default for simulated data)
		Loss:       &author,
		Select:     fdrmfl.Select{Mode: "off"}, // the author trained for a fixed number of rounds
	}
	return Spec{
		Name: fmt.Sprintf("sim%d", fn), Title: fmt.Sprintf("Simulation function %d", fn),
		Tasks: func(fs.FS) ([]Task, error) {
			cfg := fdrmfl.Config{Data: fdrmfl.Data{Function: fn, Samples: 2500}}.Defaults()
			ds, err := fdrmfl.LoadData(cfg, nil)
			if err != nil {
				return nil, err
			}
			return []Task{{Name: "y", Data: ds}}, nil
		},
		Splits: []string{"iid", "response"}, Seeds: 10, TuneSeeds: 4, Clients: 3, TestFraction: 0.2,
		FDRMFL: ours, Paper: paper,
		// 2000 rows of 3604 inputs: the lasso alone, on a 30-point path
		// down to 1e-2·α_max (each point costs coordinate descent over
		// hundreds of nonzeros, and below 1e-2·α_max, on seed 1, the CV
		// error only rises while a sweep takes a thousand iterations), and
		// no PLS per modality subset or per client (seconds each, and the
		// simulation's modalities are not instruments).
		ENet: &ENet{Ratios: []float64{1}, Alphas: 30, Eps: 1e-2, StopRise: 5},
		Skip: []string{MModPLS, MLocPLS},
		// The VAE learns nothing from the simulation's white-noise inputs (its
		// loss sits at the inputs' variance: 1.0013 after 10 epochs, 0.9987
		// after the author's 80), so 10 epochs give the same features for an
		// eighth of the time.
		VAEEpochs: 10,
	}
}

// realData is a NIR experiment with our settings beside the author's
// (AdamW 5e-4, weight decay 1e-5, plateau schedule, phase weights with
// μ = 1e-3, τ = 0.3, clipping 5, server smoothing 0.1, d = 128).
//
// Ours (docs/results.md, "How our settings were chosen"; on seeds
// 101–108): training starts from the federated linear model with the
// least k-fold CV error — PLS on the modalities CV picks, the elastic
// net, or, up to 256 inputs, ridge — mapped into the network, whose
// linear encoders then stay frozen while fusion and head learn on top for
// at most 10 rounds × 5 epochs; the number of rounds (0: the linear model
// itself) is chosen by 3-fold cross-validation across the federation, and
// each client deploys a personal recalibration of the head when its own
// out-of-fold rows say it helps.
func realData(name, title string, testFraction float64, paperRounds int, tasks func(fs.FS) ([]Task, error)) Spec {
	author := train.DefaultLoss()
	ours := fdrmfl.Config{
		Data:       fdrmfl.Data{Source: "csv"},
		Loss:       &author,
		Model:      model.Config{Latent: 32, Features: 8, Fusion: model.Fusion{Hidden: []int{32}}, Head: model.Head{Hidden: []int{16}}},
		Federation: fdrmfl.Federation{Rounds: 10},
		Train:      train.Config{Epochs: 5, BatchSize: 16, LR: 1e-3, WeightDecay: 1e-4, Freeze: []string{"encoders"}},
		Init:       fdrmfl.Init{From: "linear", Subsets: true},
		Select:     fdrmfl.Select{Mode: "kfold"},
	}
	lp := train.Loss{MI: 1e-3, KL: 1e-3, Con: 1e-3, Tau: 0.3, Sigma: 0.1, Phases: true}
	paper := fdrmfl.Config{
		Data:       fdrmfl.Data{Source: "csv"},
		Model:      model.Config{Latent: 128, Features: 128, Fusion: model.Fusion{Hidden: []int{512, 256}, BatchNorm: true}, Head: model.Head{Hidden: []int{256, 128, 64}, Dropout: 0.3}},
		Federation: fdrmfl.Federation{Rounds: paperRounds, Smoothing: 0.1, Personalize: "off"},
		Train:      train.Config{Epochs: 5, BatchSize: 32, LR: 5e-4, Optimizer: "adamw", WeightDecay: 1e-5, Schedule: "plateau", ClipNorm: 5},
		Loss:       &lp,
		Select:     fdrmfl.Select{Mode: "off"}, // the author trained for a fixed number of rounds
	}
	return Spec{Name: name, Title: title, Tasks: tasks, Splits: []string{"iid", "response"}, Seeds: 20, TuneSeeds: 8, Clients: 3,
		TestFraction: testFraction, FDRMFL: ours, Paper: paper,
		// Every spectrum is preprocessed as federated CV of PLS on each
		// repetition's training data picks (preprocess.Candidates), for
		// every method: chemometric practice, and on seeds 1–3 it raised
		// the best baseline on most responses (docs/results.md).
		Preprocess: map[string]string{"*": fdrmfl.AutoPreprocess},
		// Linear encoders (no hidden layer) and 15 local epochs a round were
		// the best of the variants tried on seeds 101–108 (docs/results.md).
		Encoder: func(data.Kind) model.Encoder { return model.Encoder{Type: model.EncMLP, Hidden: []int{}} },
		PaperEncoder: func(data.Kind) model.Encoder {
			return model.Encoder{Type: model.EncMLP, Hidden: []int{128}, BatchNorm: true, Dropout: 0.3}
		},
	}
}

func tecatorTasks(p1 bool) func(fs.FS) ([]Task, error) {
	return func(fsys fs.FS) ([]Task, error) {
		var out []Task
		for _, r := range []string{"fat", "water", "protein"} {
			var ds *data.Dataset
			var err error
			if p1 {
				ds, err = data.TecatorP1(fsys, r)
			} else if ds, err = data.TecatorSpectra(fsys); err == nil {
				ds, err = only(ds, r)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, Task{Name: r, Data: ds})
		}
		return out, nil
	}
}

func cornTasks(p1 bool) func(fs.FS) ([]Task, error) {
	return func(fsys fs.FS) ([]Task, error) {
		var out []Task
		for _, r := range []string{"moisture", "oil", "protein", "starch"} {
			var ds *data.Dataset
			var err error
			if p1 {
				ds, err = data.CornP1(fsys, r)
			} else if ds, err = data.CornP2(fsys); err == nil {
				ds, err = only(ds, r)
			}
			if err != nil {
				return nil, err
			}
			out = append(out, Task{Name: r, Data: ds})
		}
		return out, nil
	}
}

// only keeps one response of ds, with its sample IDs and fixed split.
func only(ds *data.Dataset, response string) (*data.Dataset, error) {
	return ds.SelectResponses(response)
}
