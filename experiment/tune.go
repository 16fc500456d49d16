package experiment

import (
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// A Variant is an FDRMFL configuration tried beside an experiment's own, as
// in a tuning study. It runs as the method "FDRMFL [Name]", trained
// federated on the unit's split and judged like the catalogue's FDRMFL.
type Variant struct {
	Name string
	// Config derives the variant from the experiment's settings (its
	// FDRMFL and Paper configurations, encoders already chosen); ok false
	// leaves the experiment out.
	Config func(s Spec) (cfg fdrmfl.Config, ok bool)
}

// Method is the variant's name in results.
func (v Variant) Method() string { return "FDRMFL [" + v.Name + "]" }

// TuneFirstSeed is the first seed of a tuning study: settings are chosen
// on seeds that the reported results (seeds 1, 2, …) do not use.
const TuneFirstSeed = 101

// TuningGrid is the study that chose the catalogue's FDRMFL settings (the
// Spec.FDRMFL of each experiment): from the author's settings, one change
// at a time, to ours; then single changes around ours, to show that each
// of our choices is at least as good as its neighbours.
func TuningGrid() []Variant {
	isSim := func(s Spec) bool { return strings.HasPrefix(s.Name, "sim") }
	// when keeps a variant to the experiments that keep(s) accepts.
	when := func(keep func(Spec) bool) func(func(Spec) fdrmfl.Config) func(Spec) (fdrmfl.Config, bool) {
		return func(f func(Spec) fdrmfl.Config) func(Spec) (fdrmfl.Config, bool) {
			return func(s Spec) (fdrmfl.Config, bool) {
				if !keep(s) {
					return fdrmfl.Config{}, false
				}
				return f(s), true
			}
		}
	}
	sim := when(isSim)
	real := when(func(s Spec) bool { return !isSim(s) })
	both := when(func(Spec) bool { return true })
	// Steps from the author's simulation settings to ours.
	simStep := func(k int) func(Spec) fdrmfl.Config {
		return func(s Spec) fdrmfl.Config {
			c := clone(s.Paper)
			if k >= 1 {
				c.Model.Features = 16
			}
			if k >= 2 {
				setEncoders(&c, model.Encoder{Type: model.EncMLP, Hidden: []int{}})
			}
			if k >= 3 {
				l := fdrmfl.SimulationLoss()
				c.Loss = &l
			}
			return c
		}
	}
	ours := func(f func(c *fdrmfl.Config)) func(Spec) fdrmfl.Config {
		return func(s Spec) fdrmfl.Config {
			c := clone(s.FDRMFL)
			f(&c)
			return c
		}
	}
	return []Variant{
		{"author's settings", both(func(s Spec) fdrmfl.Config { return clone(s.Paper) })},
		{"author's, d 16", sim(simStep(1))},
		{"author's, d 16, linear encoders", sim(simStep(2))},
		{"author's, d 16, linear encoders, Gaussian MI 0.1", sim(simStep(3))},
		{"ours", both(ours(func(*fdrmfl.Config) {}))},
		{"ours without L1", sim(ours(func(c *fdrmfl.Config) { c.Train.L1 = -1 }))},
		{"ours without L1, 8 rounds × 3 epochs, Adam 6e-4 (ours before L1)", sim(ours(func(c *fdrmfl.Config) {
			c.Train.L1, c.Federation.Rounds, c.Train.Epochs, c.Train.LR = -1, 8, 3, 6e-4
		}))},
		{"ours, L1 0.05", sim(ours(func(c *fdrmfl.Config) { c.Train.L1 = 0.05 }))},
		{"ours, L1 0.2", sim(ours(func(c *fdrmfl.Config) { c.Train.L1 = 0.2 }))},
		{"ours, L1 0.01", real(ours(func(c *fdrmfl.Config) { c.Train.L1 = 0.01 }))},
		{"ours, MLP encoders (hidden 128)", both(ours(func(c *fdrmfl.Config) {
			setEncoders(c, model.Encoder{Type: model.EncMLP, Hidden: []int{128}})
		}))},
		{"ours, author's loss (correlation MI 0.01)", sim(ours(func(c *fdrmfl.Config) { l := train.DefaultLoss(); c.Loss = &l }))},
		{"ours, Gaussian MI 0.1", real(ours(func(c *fdrmfl.Config) { l := fdrmfl.SimulationLoss(); c.Loss = &l }))},
		{"ours, 5 local epochs", real(ours(func(c *fdrmfl.Config) { c.Train.Epochs = 5 }))},
		{"ours, half the rounds", both(ours(func(c *fdrmfl.Config) { c.Federation.Rounds /= 2 }))},
		{"ours, 1.5 × the rounds", both(ours(func(c *fdrmfl.Config) { c.Federation.Rounds += c.Federation.Rounds / 2 }))},
		{"ours, twice d", both(ours(func(c *fdrmfl.Config) { c.Model.Features *= 2 }))},
		{"ours, 3 × the learning rate", both(ours(func(c *fdrmfl.Config) { c.Train.LR *= 3 }))},
		{"ours, AdamW weight decay 0.05", both(ours(func(c *fdrmfl.Config) { c.Train.Optimizer, c.Train.WeightDecay = "adamw", 0.05 }))},
		{"ours, head dropout 0.3", both(ours(func(c *fdrmfl.Config) { c.Model.Head.Dropout = 0.3 }))},

		// The real data: from our settings before warm starts (a random
		// start, 30 or 20 rounds × 15 epochs of the whole network, the last
		// model) to ours, one change at a time, then around ours.
		{"before: random start, 30/20 rounds × 15 epochs, no selection", real(func(s Spec) fdrmfl.Config {
			c := clone(s.FDRMFL)
			c.Init, c.Select.Mode, c.Federation.Personalize = fdrmfl.Init{}, "off", "off"
			c.Train.Freeze, c.Train.Epochs, c.Federation.Rounds = nil, 15, 20
			if strings.HasPrefix(s.Name, "corn") {
				c.Federation.Rounds = 30
			}
			return c
		})},
		{"warm start from PLS, then as before", real(ours(func(c *fdrmfl.Config) {
			c.Init, c.Select.Mode, c.Federation.Personalize = fdrmfl.Init{From: "pls"}, "off", "off"
			c.Train.Freeze, c.Train.Epochs, c.Federation.Rounds = nil, 15, 20
		}))},
		{"warm start from PLS, encoders frozen, 10 rounds × 5 epochs", real(ours(func(c *fdrmfl.Config) {
			c.Init, c.Select.Mode, c.Federation.Personalize = fdrmfl.Init{From: "pls"}, "off", "off"
		}))},
		{"the same, rounds by 3-fold federated CV", real(ours(func(c *fdrmfl.Config) {
			c.Init, c.Federation.Personalize = fdrmfl.Init{From: "pls"}, "off"
		}))},
		{"the same, linear model by CV among PLS on each set of modalities, ridge, elastic net", real(ours(func(c *fdrmfl.Config) {
			c.Federation.Personalize = "off"
		}))},
		// "ours" adds each client's personal head.
		{"ours, PLS on all modalities only", real(ours(func(c *fdrmfl.Config) { c.Init = fdrmfl.Init{From: "pls"} }))},
		{"ours, encoders trained (lr 1e-4)", real(ours(func(c *fdrmfl.Config) { c.Train.Freeze, c.Train.LR = nil, 1e-4 }))},
		{"ours, encoders trained with group lasso 0.01 (lr 1e-4)", real(ours(func(c *fdrmfl.Config) {
			c.Train.Freeze, c.Train.LR, c.Train.GroupLasso = nil, 1e-4, 0.01
		}))},
		{"ours, twice the rounds", real(ours(func(c *fdrmfl.Config) { c.Federation.Rounds *= 2 }))},
		{"ours, MSE only", real(ours(func(c *fdrmfl.Config) { l := train.Loss{}; c.Loss = &l }))},
		{"ours, FedProx", real(ours(func(c *fdrmfl.Config) { c.Federation.Strategy = "fedprox" }))},
		{"ours, SCAFFOLD", real(ours(func(c *fdrmfl.Config) { c.Federation.Strategy = "scaffold" }))},
		{"ours, FedDyn", real(ours(func(c *fdrmfl.Config) { c.Federation.Strategy = "feddyn" }))},
		{"ours, FedAdam", real(ours(func(c *fdrmfl.Config) { c.Federation.Strategy = "fedadam" }))},
	}
}

// clone copies c deeply enough that a variant may change its slices and
// loss without touching the experiment's settings.
func clone(c fdrmfl.Config) fdrmfl.Config {
	c.Model.Modalities = slices.Clone(c.Model.Modalities)
	c.Model.Fusion.Hidden = slices.Clone(c.Model.Fusion.Hidden)
	c.Model.Head.Hidden = slices.Clone(c.Model.Head.Hidden)
	c.Train.Freeze = slices.Clone(c.Train.Freeze)
	if c.Loss != nil {
		l := *c.Loss
		c.Loss = &l
	}
	return c
}

// setEncoders gives every modality the encoder e.
func setEncoders(c *fdrmfl.Config, e model.Encoder) {
	for i := range c.Model.Modalities {
		c.Model.Modalities[i].Encoder = e
	}
}
