// Package model is the FDRMFL network of method.md §2: one encoder per
// modality, a fusion network that maps the modality latents to the
// feature vector Z of dimension d, and a regression head on Z. Every
// modality reaches Z, and samples or clients that lack a modality are
// handled by masking and re-weighting.
package model

import (
	"fmt"
	"slices"
	"strings"
)

// Config describes a whole network. Zero fields take the documented
// defaults (see Defaults).
type Config struct {
	// Kind names the model a configuration trains: "" or KindNetwork for
	// this network. Other kinds (the linear models the root package fits
	// from summed statistics) share the modalities, responses and
	// features fields with the network, and leave the rest zero; this
	// package builds none of them, and Validate refuses them.
	Kind       string     `yaml:"kind,omitempty" json:"kind,omitempty"`
	Modalities []Modality `yaml:"modalities" json:"modalities"`
	// Latent is e, the size of every modality latent h_m (default 128).
	Latent int `yaml:"latent" json:"latent,omitzero"`
	// Features is d, the size of the extracted feature vector Z (default 16).
	Features int `yaml:"features" json:"features"`
	// Responses is the number of responses predicted by the head (default 1).
	Responses int    `yaml:"responses" json:"responses"`
	Fusion    Fusion `yaml:"fusion" json:"fusion,omitzero"`
	Head      Head   `yaml:"head" json:"head,omitzero"`
	// LearnedSigma makes each encoder emit a log-variance beside its mean,
	// for the learned-σ form of the symmetric KL term.
	LearnedSigma bool `yaml:"learned_sigma" json:"learned_sigma"`
}

// Modality is one input of the network.
type Modality struct {
	Name string `yaml:"name" json:"name"`
	// Shape is the per-sample input shape: [p] for a vector, [C, L] for a
	// signal, [C, H, W] for an image, [T, F] for a sequence.
	Shape   []int   `yaml:"shape" json:"shape"`
	Encoder Encoder `yaml:"encoder" json:"encoder,omitzero"`
}

// KindNetwork is the Kind of this network (the FDRMFL network).
const KindNetwork = "fdrmfl"

// Encoder types.
const (
	EncMLP        = "mlp"         // flattened input → dense layers
	EncConv1d     = "conv1d"      // C×L signal → 1-D convolutions → pooling
	EncConv2d     = "conv2d"      // C×H×W image → 2-D convolutions → pooling
	EncResNet     = "resnet"      // C×H×W image → residual conv blocks (+ spatial attention) → pooling
	EncBiLSTM     = "bilstm"      // T×F sequence → bidirectional LSTM → attention pooling
	EncConvBiLSTM = "conv-bilstm" // C×L signal → 1-D convolutions → bidirectional LSTM over positions → attention pooling
)

// Encoder configures the network E_m of one modality. Which fields apply
// depends on Type; the rest must be left zero.
type Encoder struct {
	Type string `yaml:"type" json:"type"`
	// Hidden: sizes of the dense layers (mlp; default [128]), or of the
	// dense layers after pooling (others; default none).
	Hidden []int `yaml:"hidden" json:"hidden"`
	// Channels, Kernels, Strides: one entry per convolution (conv1d,
	// conv2d, resnet, conv-bilstm). Kernels default to 3, strides to 1;
	// padding keeps the length at stride 1 ("same" for odd kernels).
	Channels []int `yaml:"channels" json:"channels"`
	Kernels  []int `yaml:"kernels" json:"kernels"`
	Strides  []int `yaml:"strides" json:"strides"`
	// Pool reduces the convolution output: "mean", "max" or "flatten"
	// (conv1d default "flatten", conv2d and resnet default "mean").
	Pool string `yaml:"pool" json:"pool"`
	// LSTMHidden and LSTMLayers size the BiLSTM (default 64 and 2).
	LSTMHidden int `yaml:"lstm_hidden" json:"lstm_hidden"`
	LSTMLayers int `yaml:"lstm_layers" json:"lstm_layers"`
	// SpatialAttention multiplies a resnet's last map by sigmoid(1×1 conv).
	SpatialAttention bool `yaml:"spatial_attention" json:"spatial_attention"`
	// BatchNorm after every dense or convolution layer but the last.
	BatchNorm bool    `yaml:"batch_norm" json:"batch_norm"`
	Dropout   float64 `yaml:"dropout" json:"dropout"`
}

// Fusion types.
const (
	FuseWeighted  = "weighted"  // learned softmax weights per modality, concatenation, MLP (default)
	FuseConcat    = "concat"    // plain concatenation, MLP
	FuseAttention = "attention" // self-attention over the M modality tokens, masked mean, MLP
)

// Fusion configures F: (h_1, …, h_M) → Z.
type Fusion struct {
	Type string `yaml:"type" json:"type"`
	// Hidden sizes of the fusion MLP before the final layer to d (default [256]).
	Hidden    []int `yaml:"hidden" json:"hidden"`
	BatchNorm bool  `yaml:"batch_norm" json:"batch_norm"`
	// Heads of the attention fusion (default 4; must divide Latent).
	Heads int `yaml:"heads" json:"heads"`
	// Activation applied to Z: "" (none, default) or "relu" or "tanh".
	Activation string `yaml:"activation" json:"activation"`
}

// Head configures the regression head r: Z → ŷ.
type Head struct {
	Hidden  []int   `yaml:"hidden" json:"hidden"` // default [64]
	Dropout float64 `yaml:"dropout" json:"dropout"`
}

// Defaults returns c with zero fields set to their defaults.
func (c Config) Defaults() Config {
	c.Modalities = slices.Clone(c.Modalities)
	if c.Latent == 0 {
		c.Latent = 128
	}
	if c.Features == 0 {
		c.Features = 16
	}
	if c.Responses == 0 {
		c.Responses = 1
	}
	if c.Fusion.Type == "" {
		c.Fusion.Type = FuseWeighted
	}
	if c.Fusion.Hidden == nil {
		c.Fusion.Hidden = []int{256}
	}
	if c.Fusion.Heads == 0 {
		c.Fusion.Heads = 4
	}
	if c.Head.Hidden == nil {
		c.Head.Hidden = []int{64}
	}
	for i := range c.Modalities {
		c.Modalities[i].Encoder = c.Modalities[i].Encoder.defaults()
	}
	return c
}

func (e Encoder) defaults() Encoder {
	switch e.Type {
	case EncMLP:
		if e.Hidden == nil {
			e.Hidden = []int{128}
		}
	case EncConv1d, EncConv2d, EncResNet, EncConvBiLSTM:
		if e.Channels == nil {
			e.Channels = []int{16, 32}
		}
		if e.Kernels == nil {
			e.Kernels = repeat(3, len(e.Channels))
		}
		if e.Strides == nil {
			e.Strides = repeat(1, len(e.Channels))
		}
		if e.Pool == "" {
			e.Pool = "mean"
			if e.Type == EncConv1d {
				e.Pool = "flatten"
			}
		}
	}
	if e.Type == EncBiLSTM || e.Type == EncConvBiLSTM {
		if e.LSTMHidden == 0 {
			e.LSTMHidden = 64
		}
		if e.LSTMLayers == 0 {
			e.LSTMLayers = 2
		}
	}
	return e
}

func repeat(v, n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = v
	}
	return s
}

// Validate reports the first problem of a configuration (after Defaults),
// naming the field at fault and what is allowed.
func (c Config) Validate() error {
	if c.Kind != "" && c.Kind != KindNetwork {
		return fmt.Errorf("model: kind: %q is not the %s network this package builds", c.Kind, KindNetwork)
	}
	if len(c.Modalities) == 0 {
		return fmt.Errorf("model: modalities: at least one is needed")
	}
	if c.Latent < 1 || c.Features < 1 || c.Responses < 1 {
		return fmt.Errorf("model: latent (%d), features (%d) and responses (%d) must be positive", c.Latent, c.Features, c.Responses)
	}
	names := map[string]bool{}
	for i, m := range c.Modalities {
		where := fmt.Sprintf("modalities[%d] (%s)", i, m.Name)
		if m.Name == "" || strings.ContainsAny(m.Name, ". ") {
			return fmt.Errorf("model: %s: name must be non-empty without dots or spaces", where)
		}
		if names[m.Name] {
			return fmt.Errorf("model: %s: duplicate modality name", where)
		}
		names[m.Name] = true
		for _, d := range m.Shape {
			if d < 1 {
				return fmt.Errorf("model: %s: shape %v has a dimension below 1", where, m.Shape)
			}
		}
		if err := m.Encoder.validate(m.Shape); err != nil {
			return fmt.Errorf("model: %s: encoder: %w", where, err)
		}
	}
	switch c.Fusion.Type {
	case FuseWeighted, FuseConcat:
	case FuseAttention:
		if c.Fusion.Heads < 1 || c.Latent%c.Fusion.Heads != 0 {
			return fmt.Errorf("model: fusion.heads: %d must divide latent %d", c.Fusion.Heads, c.Latent)
		}
	default:
		return fmt.Errorf("model: fusion.type: %q is not one of %q, %q, %q", c.Fusion.Type, FuseWeighted, FuseConcat, FuseAttention)
	}
	switch c.Fusion.Activation {
	case "", "relu", "tanh":
	default:
		return fmt.Errorf("model: fusion.activation: %q is not one of \"\", \"relu\", \"tanh\"", c.Fusion.Activation)
	}
	if err := positive("fusion.hidden", c.Fusion.Hidden); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if err := positive("head.hidden", c.Head.Hidden); err != nil {
		return fmt.Errorf("model: %w", err)
	}
	if c.Head.Dropout < 0 || c.Head.Dropout >= 1 {
		return fmt.Errorf("model: head.dropout: %v is not in [0, 1)", c.Head.Dropout)
	}
	return nil
}

func positive(field string, s []int) error {
	for _, v := range s {
		if v < 1 {
			return fmt.Errorf("%s: %v has a size below 1", field, s)
		}
	}
	return nil
}

func (e Encoder) validate(shape []int) error {
	rank := map[string]int{EncConv1d: 2, EncConvBiLSTM: 2, EncConv2d: 3, EncResNet: 3, EncBiLSTM: 2}
	switch e.Type {
	case EncMLP:
	case EncConv1d, EncConv2d, EncResNet, EncConvBiLSTM:
		if len(e.Channels) == 0 || len(e.Kernels) != len(e.Channels) || len(e.Strides) != len(e.Channels) {
			return fmt.Errorf("channels %v, kernels %v and strides %v must have the same non-zero length", e.Channels, e.Kernels, e.Strides)
		}
		for _, s := range [][]int{e.Channels, e.Kernels, e.Strides} {
			if err := positive("channels/kernels/strides", s); err != nil {
				return err
			}
		}
		switch e.Pool {
		case "mean", "max", "flatten":
		default:
			return fmt.Errorf("pool: %q is not one of \"mean\", \"max\", \"flatten\"", e.Pool)
		}
	case EncBiLSTM:
	case "":
		return fmt.Errorf("type is missing (one of %s)", strings.Join(EncoderTypes, ", "))
	default:
		return fmt.Errorf("type: %q is not one of %s", e.Type, strings.Join(EncoderTypes, ", "))
	}
	if r, ok := rank[e.Type]; ok && len(shape) != r {
		return fmt.Errorf("type %s needs an input of rank %d, the modality's shape is %v", e.Type, r, shape)
	}
	if e.Dropout < 0 || e.Dropout >= 1 {
		return fmt.Errorf("dropout: %v is not in [0, 1)", e.Dropout)
	}
	return positive("hidden", e.Hidden)
}

// EncoderTypes lists the encoder types a configuration may name.
var EncoderTypes = []string{EncMLP, EncConv1d, EncConv2d, EncResNet, EncBiLSTM, EncConvBiLSTM}
