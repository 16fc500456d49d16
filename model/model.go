package model

import (
	"fmt"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/nn"
)

// Model is the FDRMFL network. It is an nn.Module whose parameters are
// named encoders.<modality>.*, fusion.* and head.*.
type Model[T nn.Float] struct {
	Config   Config
	Encoders []nn.Layer[T] // one per modality, in Config order
	// Fusion parts: ModalityWeights (weighted fusion: softmax logits, one
	// per modality), Attention and AttentionNorm (attention fusion), and
	// the MLP to Z.
	ModalityWeights *nn.Param[T]
	Attention       *nn.MultiHeadAttention[T]
	AttentionNorm   *nn.LayerNorm[T]
	FusionMLP       nn.Layer[T]
	Head            nn.Layer[T]
}

// New builds a network from a configuration (Defaults are applied),
// initialising every weight from r.
func New[T nn.Float](cfg Config, r *rand.Rand) (*Model[T], error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	m := &Model[T]{Config: cfg}
	out := cfg.Latent
	if cfg.LearnedSigma {
		out *= 2
	}
	for _, mod := range cfg.Modalities {
		m.Encoders = append(m.Encoders, buildEncoder[T](mod.Encoder, mod.Shape, out, r))
	}
	nm := len(cfg.Modalities)
	in := nm * cfg.Latent
	switch cfg.Fusion.Type {
	case FuseWeighted:
		m.ModalityWeights = nn.NewParam[T](nn.Weight, nm)
		nn.Fill(m.ModalityWeights, 1) // softmax of equal logits: equal weights
	case FuseAttention:
		m.Attention = nn.NewMultiHeadAttention[T](cfg.Latent, cfg.Fusion.Heads, r)
		m.AttentionNorm = nn.NewLayerNorm[T](cfg.Latent)
		in = cfg.Latent
	}
	m.FusionMLP = mlp[T](in, cfg.Fusion.Hidden, cfg.Features, cfg.Fusion.BatchNorm, 0, r)
	m.Head = mlp[T](cfg.Features, cfg.Head.Hidden, cfg.Responses, false, cfg.Head.Dropout, r)
	return m, nil
}

// mlp is in → hidden… (ReLU, optional batch norm and dropout) → out.
func mlp[T nn.Float](in int, hidden []int, out int, bn bool, dropout float64, r *rand.Rand) nn.Layer[T] {
	var layers []nn.Layer[T]
	for _, h := range hidden {
		layers = append(layers, nn.NewDense[T](in, h, true, r))
		if bn {
			layers = append(layers, nn.NewBatchNorm[T](h))
		}
		layers = append(layers, nn.ReLU[T]())
		if dropout > 0 {
			layers = append(layers, nn.Dropout[T](dropout))
		}
		in = h
	}
	layers = append(layers, nn.NewDense[T](in, out, true, r))
	return nn.NewSequential(layers...)
}

// Params lists every parameter and buffer under its name.
func (m *Model[T]) Params() []nn.Named[T] {
	var ps []nn.Named[T]
	for i, e := range m.Encoders {
		ps = append(ps, nn.Prefix("encoders."+m.Config.Modalities[i].Name, e.Params())...)
	}
	if m.ModalityWeights != nil {
		ps = append(ps, nn.Named[T]{Name: "fusion.modality_weights", Param: m.ModalityWeights})
	}
	if m.Attention != nil {
		ps = append(ps, nn.Prefix("fusion.attention", m.Attention.Params())...)
		ps = append(ps, nn.Prefix("fusion.attention_norm", m.AttentionNorm.Params())...)
	}
	ps = append(ps, nn.Prefix("fusion.mlp", m.FusionMLP.Params())...)
	return append(ps, nn.Prefix("head", m.Head.Params())...)
}

// Input is a batch of N samples for the network.
type Input[T nn.Float] struct {
	N int
	// X holds one N×shape variable per modality, in Config order; nil
	// when no sample of the batch has that modality.
	X []*ag.Var[T]
	// Present, if not nil, holds per modality which samples have it (nil
	// for a modality every sample has).
	Present [][]bool
}

// Output is what a forward pass yields.
type Output[T nn.Float] struct {
	Pred *ag.Var[T] // N×Responses
	Z    *ag.Var[T] // N×Features: the extracted features
	// Mu and LogVar are each modality's latent, N×Latent (LogVar only with
	// LearnedSigma); nil for a modality absent from the batch.
	Mu, LogVar []*ag.Var[T]
}

// Forward runs the network on a batch.
func (m *Model[T]) Forward(tp *ag.Tape[T], in Input[T]) Output[T] {
	mu, logVar := m.Encode(tp, in)
	return m.FromLatents(tp, in, mu, logVar)
}

// Encode runs each modality's encoder on the batch and returns the
// latents h_m (and their log-variances with LearnedSigma), nil for a
// modality absent from the batch.
func (m *Model[T]) Encode(tp *ag.Tape[T], in Input[T]) (mu, logVar []*ag.Var[T]) {
	nm := len(m.Encoders)
	if len(in.X) != nm {
		panic(fmt.Sprintf("model.Forward: %d modality inputs for a model with %d modalities", len(in.X), nm))
	}
	e := m.Config.Latent
	mu, logVar = make([]*ag.Var[T], nm), make([]*ag.Var[T], nm)
	for i, enc := range m.Encoders {
		x := in.X[i]
		if x == nil {
			continue
		}
		want := append([]int{in.N}, m.Config.Modalities[i].Shape...)
		if x.Len() != prod(want) {
			panic(fmt.Sprintf("model.Forward: modality %q input %v does not fit shape %v", m.Config.Modalities[i].Name, x.Shape(), want))
		}
		h := enc.Forward(tp, tp.Reshape(x, want...))
		if m.Config.LearnedSigma {
			mu[i], logVar[i] = tp.Slice(h, 1, 0, e), tp.Slice(h, 1, e, 2*e)
		} else {
			mu[i] = h
		}
	}
	return mu, logVar
}

// FromLatents runs the fusion and the head on latents from Encode (or
// latents computed earlier by a frozen encoder): a modality is present
// for sample i when its latent is not nil and in.Present does not say
// otherwise; in.X is not read.
func (m *Model[T]) FromLatents(tp *ag.Tape[T], in Input[T], mu, logVar []*ag.Var[T]) Output[T] {
	nm := len(m.Encoders)
	if len(mu) != nm {
		panic(fmt.Sprintf("model.FromLatents: %d latents for a model with %d modalities", len(mu), nm))
	}
	e := m.Config.Latent
	out := Output[T]{Mu: mu, LogVar: logVar}
	if logVar == nil {
		out.LogVar = make([]*ag.Var[T], nm)
	}
	any := false
	for _, h := range mu {
		any = any || h != nil
	}
	if !any {
		panic("model.Forward: the batch has no modality at all")
	}
	// mask[i·nm+m] = 1 when sample i has modality m.
	mask := tp.Zeros(in.N, nm)
	md := mask.Data()
	for i := range in.N {
		has := false
		for mo := range nm {
			if mu[mo] != nil && (in.Present == nil || in.Present[mo] == nil || in.Present[mo][i]) {
				md[i*nm+mo] = 1
				has = true
			}
		}
		if !has {
			panic(fmt.Sprintf("model.Forward: sample %d of the batch has no modality", i))
		}
	}
	hs := make([]*ag.Var[T], nm)
	for mo := range nm {
		if out.Mu[mo] == nil {
			hs[mo] = tp.Zeros(in.N, e)
		} else {
			hs[mo] = out.Mu[mo]
		}
	}
	var fused *ag.Var[T]
	switch m.Config.Fusion.Type {
	case FuseWeighted:
		// w_im = M·a_m·p_im / Σ_m' a_m'·p_im' with a = softmax(logits).
		a := tp.Reshape(tp.Softmax(m.ModalityWeights.Var(), 0), 1, nm)
		ap := tp.Mul(a, mask)
		w := tp.Scale(tp.Div(ap, tp.Sum(ap, 1)), T(nm))
		parts := make([]*ag.Var[T], nm)
		for mo := range nm {
			parts[mo] = tp.Mul(hs[mo], tp.Slice(w, 1, mo, mo+1))
		}
		fused = tp.Concat(1, parts...)
	case FuseConcat:
		parts := make([]*ag.Var[T], nm)
		for mo := range nm {
			parts[mo] = tp.Mul(hs[mo], tp.Slice(mask, 1, mo, mo+1))
		}
		fused = tp.Concat(1, parts...)
	case FuseAttention:
		tokens := make([]*ag.Var[T], nm)
		for mo := range nm {
			tokens[mo] = tp.Reshape(hs[mo], in.N, 1, e)
		}
		seq := tp.Concat(1, tokens...) // N×M×e
		keep := make([]bool, in.N*nm)
		for i, v := range md {
			keep[i] = v != 0
		}
		att := m.Attention.Attend(tp, seq, seq, seq, keep)
		seq = m.AttentionNorm.Forward(tp, tp.Add(seq, att))
		m3 := tp.Reshape(mask, in.N, nm, 1)
		fused = tp.Reshape(tp.Div(tp.Sum(tp.Mul(seq, m3), 1), tp.Sum(m3, 1)), in.N, e)
	}
	z := m.FusionMLP.Forward(tp, fused)
	switch m.Config.Fusion.Activation {
	case "relu":
		z = tp.ReLU(z)
	case "tanh":
		z = tp.Tanh(z)
	}
	out.Z = z
	out.Pred = m.Head.Forward(tp, z)
	return out
}
