// Package train is local training on one client: epochs of minibatches
// over the client's data under the FDRMFL objective, with the optimiser
// state, the previous local model and the frozen global model that the
// objective's contrastive term needs. It also evaluates a model and
// extracts the features Z. It does no I/O and knows nothing of how
// weights travel between clients and a server.
package train

import (
	"fmt"
	"slices"
)

// Config is the local-training recipe of a client.
type Config struct {
	// Epochs of local training per round (default 3).
	Epochs int `yaml:"epochs" json:"epochs"`
	// BatchSize of the minibatches (default 32).
	BatchSize int `yaml:"batch_size" json:"batch_size"`
	// Optimizer is "adam" (default), "adamw" or "sgd".
	Optimizer string `yaml:"optimizer" json:"optimizer"`
	// LR is the learning rate (default 1e-3).
	LR float64 `yaml:"lr" json:"lr"`
	// WeightDecay: L2 for adam and sgd, decoupled for adamw.
	WeightDecay float64 `yaml:"weight_decay" json:"weight_decay"`
	// Momentum of sgd.
	Momentum float64 `yaml:"momentum" json:"momentum"`
	// ClipNorm clips the gradient's L2 norm (0: no clipping).
	ClipNorm float64 `yaml:"clip_norm" json:"clip_norm"`
	// L1 is the weight of an L1 penalty on the input weights of every
	// modality's encoder (the first weight tensor, the one that reads the
	// inputs), applied as a proximal step after each optimiser step: the
	// weights shrink towards zero by lr·L1 and those that cross it become
	// zero, so an encoder learns which inputs to read (0: none; the
	// fdrmfl configuration's default for simulated data is 0.1, and a
	// negative value there switches it off).
	L1 float64 `yaml:"l1" json:"l1"`
	// GroupLasso is the weight λ of a group-lasso penalty on each
	// modality's encoder input weights W_m (the tensor L1 acts on),
	//
	//	λ·Σ_m √p_m·‖W_m‖₂   (p_m: the modality's inputs),
	//
	// applied as a proximal step after each optimiser step: W_m ←
	// W_m·max(0, 1 − lr·λ·√p_m/‖W_m‖₂). A modality whose weights reach zero
	// is switched off as a whole, so the network can pick its instruments
	// as cross-validated PLS picks them (0: none).
	GroupLasso float64 `yaml:"group_lasso,omitempty" json:"group_lasso,omitempty"`
	// Schedule is "" (constant rate) or "plateau": halve the rate when the
	// epoch's mean loss has not improved for 2 epochs (kept across rounds).
	Schedule string `yaml:"schedule" json:"schedule"`
	// Freeze lists parts of the network that local training leaves as
	// they came: "encoders", "fusion" and/or "head" (none by default). A
	// network warm-started from a linear model can keep the model's
	// directions in its encoders and learn only on top of them.
	Freeze []string `yaml:"freeze,omitempty" json:"freeze,omitempty"`
	Loss   Loss     `yaml:"loss" json:"loss"`
	// DP, when on, trains by DP-SGD (dpsgd.go); the fdrmfl configuration
	// sets it from privacy.dp.
	DP DPSGD `yaml:"-" json:"dp,omitzero"`
}

// FreezeParts lists the parts Config.Freeze may name.
var FreezeParts = []string{"encoders", "fusion", "head"}

// Loss weights and forms the terms of the objective
//
//	L = L_mse + λ_mi·L_mi + λ_kl·L_skl + λ_con·L_con.
//
// The zero value is plain MSE; DefaultLoss gives the author's simulation
// settings.
type Loss struct {
	MI  float64 `yaml:"mi" json:"mi"`   // λ_mi, the retention knob
	KL  float64 `yaml:"kl" json:"kl"`   // λ_kl
	Con float64 `yaml:"con" json:"con"` // λ_con
	// Tau is the contrastive temperature (default 0.5).
	Tau float64 `yaml:"tau" json:"tau"`
	// Sigma is the fixed standard deviation of the KL term (default 0.1).
	Sigma float64 `yaml:"sigma" json:"sigma"`
	// KLForm is "fixed" (default; σ = Sigma) or "learned" (the model's
	// encoders emit log-variances; set model.Config.LearnedSigma).
	KLForm string `yaml:"kl_form" json:"kl_form"`
	// MIEstimator is "correlation" (default; the author's frozen random
	// projection) or "gaussian" (a learned projection, −I_Gauss).
	MIEstimator string `yaml:"mi_estimator" json:"mi_estimator"`
	// MIHidden is the hidden size of the correlation estimator's frozen
	// network (default 64).
	MIHidden int `yaml:"mi_hidden" json:"mi_hidden"`
	// Phases applies the author's real-data phase weighting: in the first
	// half of the local epochs the weights are multiplied by (1, 0.5, 0.5),
	// in the second half by (0.5, 1, 1) for (mi, kl, con).
	Phases bool `yaml:"phases" json:"phases"`
	// OlderGlobals adds the global models of that many earlier rounds as
	// extra negatives of the contrastive term (default 0: only the
	// client's previous local model).
	OlderGlobals int `yaml:"older_globals" json:"older_globals"`
}

// DefaultLoss returns the author's simulation weights: λ = 0.01 for each
// extra term, τ = 0.5, σ = 0.1.
func DefaultLoss() Loss {
	return Loss{MI: 0.01, KL: 0.01, Con: 0.01, Tau: 0.5, Sigma: 0.1}
}

// Defaults returns c with zero fields set to their defaults.
func (c Config) Defaults() Config {
	if c.Epochs == 0 {
		c.Epochs = 3
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Optimizer == "" {
		c.Optimizer = "adam"
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	l := &c.Loss
	if l.Tau == 0 {
		l.Tau = 0.5
	}
	if l.Sigma == 0 {
		l.Sigma = 0.1
	}
	if l.KLForm == "" {
		l.KLForm = "fixed"
	}
	if l.MIEstimator == "" {
		l.MIEstimator = "correlation"
	}
	if l.MIHidden == 0 {
		l.MIHidden = 64
	}
	return c
}

// Validate reports the first bad field, naming it and what is allowed.
func (c Config) Validate() error {
	switch {
	case c.Epochs < 1:
		return fmt.Errorf("train: epochs: %d must be at least 1", c.Epochs)
	case c.BatchSize < 2:
		return fmt.Errorf("train: batch_size: %d must be at least 2", c.BatchSize)
	case c.LR <= 0:
		return fmt.Errorf("train: lr: %v must be positive", c.LR)
	case c.WeightDecay < 0 || c.Momentum < 0 || c.ClipNorm < 0 || c.L1 < 0:
		return fmt.Errorf("train: weight_decay (%v), momentum (%v), clip_norm (%v) and l1 (%v) must not be negative", c.WeightDecay, c.Momentum, c.ClipNorm, c.L1)
	case c.GroupLasso < 0:
		return fmt.Errorf("train: group_lasso: %v must not be negative", c.GroupLasso)
	}
	switch c.Optimizer {
	case "adam", "adamw", "sgd":
	default:
		return fmt.Errorf("train: optimizer: %q is not one of \"adam\", \"adamw\", \"sgd\"", c.Optimizer)
	}
	for _, f := range c.Freeze {
		if !slices.Contains(FreezeParts, f) {
			return fmt.Errorf("train: freeze: %q is not one of %q", f, FreezeParts)
		}
	}
	switch c.Schedule {
	case "", "plateau":
	default:
		return fmt.Errorf("train: schedule: %q is not one of \"\", \"plateau\"", c.Schedule)
	}
	l := c.Loss
	switch {
	case l.MI < 0 || l.KL < 0 || l.Con < 0:
		return fmt.Errorf("train: loss: weights mi (%v), kl (%v) and con (%v) must not be negative", l.MI, l.KL, l.Con)
	case l.Tau <= 0:
		return fmt.Errorf("train: loss.tau: %v must be positive", l.Tau)
	case l.Sigma <= 0:
		return fmt.Errorf("train: loss.sigma: %v must be positive", l.Sigma)
	case l.MIHidden < 1:
		return fmt.Errorf("train: loss.mi_hidden: %d must be positive", l.MIHidden)
	case l.OlderGlobals < 0:
		return fmt.Errorf("train: loss.older_globals: %d must not be negative", l.OlderGlobals)
	}
	switch l.KLForm {
	case "fixed", "learned":
	default:
		return fmt.Errorf("train: loss.kl_form: %q is not one of \"fixed\", \"learned\"", l.KLForm)
	}
	switch l.MIEstimator {
	case "correlation", "gaussian":
	default:
		return fmt.Errorf("train: loss.mi_estimator: %q is not one of \"correlation\", \"gaussian\"", l.MIEstimator)
	}
	return nil
}
