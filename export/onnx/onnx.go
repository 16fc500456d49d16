// Package onnx compiles a trained FDRMFL network or linear model, with the
// standardisation it was trained with, into an ONNX model that computes
// the predictions ŷ and the features Z from raw inputs.
//
// The graph has one input per modality, named after it and shaped
// batch×shape (the batch dimension is symbolic), and two outputs: "y",
// batch×responses in the responses' units, and "z", batch×features. It
// uses the default operator set at version 13 (ONNX 1.8, IR version 7),
// which every maintained runtime reads; no operator of a later set is
// needed. A row of NaN marks a sample that lacks that modality (as an
// empty row in the CSV files does for fdrmfl predict), unless
// Options.Complete leaves that handling out.
//
// The package does no I/O: Export turns a model configuration, a
// standardizer and named tensors into bytes.
package onnx

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/modelio"
)

// Opset is the version of the default ONNX operator set the graphs use,
// and IRVersion the ONNX file format version written.
const (
	Opset     = 13
	IRVersion = 7
)

// Output names of the graph.
const (
	OutputY = "y" // batch×responses, in the responses' units
	OutputZ = "z" // batch×features
)

// Options tune an export. The zero value exports the full model.
type Options struct {
	// Complete leaves out the handling of missing modalities: every
	// sample must then have every modality (a NaN then propagates to the
	// outputs). The graph is smaller and needs no IsNaN, Where, ReduceMax
	// or ReduceSum, so that minimal runtimes can run the linear, conv1d,
	// conv2d, resnet (with mean or flatten pooling), bilstm and
	// conv-bilstm encoders with weighted or concat fusion.
	Complete bool
	// ProducerVersion is recorded in the model (e.g. the fdrmfl version).
	ProducerVersion string
	// Doc is prepended to the model's description.
	Doc string
}

// Export returns the ONNX model (serialised ModelProto) of the network
// cfg describes with the weights tensors (named as in model.safetensors)
// and the standardisation std. It computes, for raw inputs x_m:
//
//	x̃_m = (x_m − mean_m)/sd_m,  h_m = E_m(x̃_m),  Z = act(F(fuse(h, present))),
//	ŷ = r(Z)·sd_y + mean_y
//
// as fdrmfl predict and fdrmfl extract do. Every encoder type, pooling and
// fusion of the model package can be exported, and the linear model kinds
// (cfg.Kind pls, ridge, lasso, enet: Gemm layers on the standardised
// inputs side by side, output "z" for PLS only; see exportLinear); a configuration naming
// anything else, a missing, misshapen or unused tensor, or a
// standardisation that does not fit the inputs is an error that names it.
func Export(cfg model.Config, std *data.Standardizer, tensors []modelio.Tensor, opt Options) ([]byte, error) {
	if cfg.Kind != "" && cfg.Kind != model.KindNetwork {
		if !slices.Contains(linearKinds, cfg.Kind) {
			return nil, fmt.Errorf("onnx export: model kind %q cannot be exported (the network and %s can)", cfg.Kind, strings.Join(linearKinds, ", "))
		}
		if std == nil {
			return nil, fmt.Errorf("onnx export: no standardizer")
		}
		b, err := newBuilder(tensors)
		if err != nil {
			return nil, fmt.Errorf("onnx export: %w", err)
		}
		return exportLinear(cfg, std, b, opt)
	}
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	if std == nil {
		return nil, fmt.Errorf("onnx export: no standardizer")
	}
	b, err := newBuilder(tensors)
	if err != nil {
		return nil, fmt.Errorf("onnx export: %w", err)
	}
	nm := len(cfg.Modalities)
	g := graphProto{name: "fdrmfl"}
	out := cfg.Latent
	if cfg.LearnedSigma {
		out *= 2
	}
	hs := make([]string, nm)
	present := make([]string, nm) // N×1 of 0/1 per modality; "" with Complete
	for i, m := range cfg.Modalities {
		g.inputs = append(g.inputs, valueInfo{
			name: m.Name, elemType: elemFloat, dims: batchDims(m.Shape),
			doc: fmt.Sprintf("modality %s: raw values, batch×%s; a row of NaN marks a sample without it", m.Name, shapeString(m.Shape)),
		})
		x := m.Name
		if !opt.Complete {
			x, present[i] = b.missing(x, len(m.Shape))
		}
		x = b.standardize(x, std, m)
		h := encoder(b, m.Name, m.Encoder, m.Shape, x, out)
		if cfg.LearnedSigma {
			h = b.slice1(h, 1, 0, cfg.Latent) // the mean; the log-variance is not used
		}
		hs[i] = h
	}
	fused := b.fuse(cfg, hs, present)
	s := &seq{b: b, prefix: "fusion.mlp"}
	in := nm * cfg.Latent
	if cfg.Fusion.Type == model.FuseAttention {
		in = cfg.Latent
	}
	z := s.mlpTail(fused, in, cfg.Fusion.Hidden, cfg.Features, cfg.Fusion.BatchNorm, 0)
	switch cfg.Fusion.Activation {
	case "relu":
		z = b.relu(z)
	case "tanh":
		z = b.op("Tanh", []string{z})
	}
	z = b.rename(z, OutputZ)
	s = &seq{b: b, prefix: "head"}
	y := s.mlpTail(z, cfg.Features, cfg.Head.Hidden, cfg.Responses, false, cfg.Head.Dropout)
	y = b.unstandardizeY(y, std, cfg.Responses)
	b.rename(y, OutputY)
	if b.err != nil {
		return nil, fmt.Errorf("onnx export: %w", b.err)
	}
	if name, n := b.unused(); n > 0 {
		return nil, fmt.Errorf("onnx export: tensor %q is not part of the network (%d unused in all)", name, n)
	}
	g.nodes, g.inits = b.nodes, b.inits
	g.outputs = []valueInfo{
		{name: OutputY, elemType: elemFloat, dims: batchDims([]int{cfg.Responses}),
			doc: "predicted responses " + strings.Join(std.ResponseNames, ", ") + ", in their units"},
		{name: OutputZ, elemType: elemFloat, dims: batchDims([]int{cfg.Features}), doc: "the extracted features z1…zd"},
	}
	doc := description(cfg, std, opt)
	g.doc = doc
	mp := modelProto{
		irVersion: IRVersion, opsetVersion: Opset, producerName: "fdrmfl", producerVersion: opt.ProducerVersion,
		doc: doc, graph: g,
		metadata: [][2]string{
			{"fdrmfl.responses", strings.Join(std.ResponseNames, ",")},
			{"fdrmfl.features", fmt.Sprint(cfg.Features)},
			{"fdrmfl.modalities", modalityList(cfg)},
			{"fdrmfl.missing", map[bool]string{true: "not handled (complete inputs only)", false: "NaN rows"}[opt.Complete]},
		},
	}
	return mp.marshal(), nil
}

func description(cfg model.Config, std *data.Standardizer, opt Options) string {
	var sb strings.Builder
	if opt.Doc != "" {
		sb.WriteString(opt.Doc + "\n")
	}
	fmt.Fprintf(&sb, "FDRMFL network: inputs %s; outputs y (%s) and z (%d features).", modalityList(cfg), strings.Join(std.ResponseNames, ", "), cfg.Features)
	if !opt.Complete {
		sb.WriteString(" A sample lacks a modality when its row of that input is NaN.")
	}
	return sb.String()
}

func modalityList(cfg model.Config) string {
	var s []string
	for _, m := range cfg.Modalities {
		s = append(s, fmt.Sprintf("%s %s (%s)", m.Name, shapeString(m.Shape), m.Encoder.Type))
	}
	return strings.Join(s, ", ")
}

func shapeString(s []int) string {
	p := make([]string, len(s))
	for i, d := range s {
		p[i] = fmt.Sprint(d)
	}
	return strings.Join(p, "×")
}

func batchDims(shape []int) []dim {
	d := []dim{{param: "batch"}}
	for _, v := range shape {
		d = append(d, dim{value: int64(v)})
	}
	return d
}

// missing returns x with NaN replaced by 0 and, N×1, 1 for the samples
// whose row has no NaN and 0 for the others (which lack the modality).
func (b *builder) missing(x string, rank int) (string, string) {
	nan := b.op("IsNaN", []string{x})
	axes := make([]int, rank)
	for i := range axes {
		axes[i] = i + 1
	}
	anyNaN := b.op("ReduceMax", []string{b.op("Cast", []string{nan}, intAttr("to", elemFloat))}, ints("axes", axes...), intAttr("keepdims", 0))
	present := b.reshape(b.op("Sub", []string{b.constF("one", []int{1}, 1), anyNaN}), -1, 1)
	clean := b.op("Where", []string{nan, b.constF("zero", []int{1}, 0), x})
	return clean, present
}

// standardize applies the scaling of modality m: (x − mean)·(1/sd).
func (b *builder) standardize(x string, std *data.Standardizer, m model.Modality) string {
	i := slices.IndexFunc(std.Modalities, func(s data.Scaling) bool { return s.Name == m.Name })
	if i < 0 {
		b.fail("standardizer: no scaling for modality %q", m.Name)
		return ""
	}
	sc := std.Modalities[i]
	mean, inv, shape, err := scaling(sc, prod(m.Shape))
	if err != nil {
		b.fail("standardizer: modality %q: %v", m.Name, err)
		return ""
	}
	if mean == nil {
		return x
	}
	if len(mean) > 1 {
		shape = m.Shape
	}
	x = b.op("Sub", []string{x, b.init("standardize."+m.Name+".mean", shape, mean)})
	return b.mul(x, b.init("standardize."+m.Name+".inv_sd", shape, inv))
}

// unstandardizeY maps standardised predictions to the responses' units:
// y·sd + mean.
func (b *builder) unstandardizeY(y string, std *data.Standardizer, q int) string {
	if len(std.ResponseNames) != q {
		b.fail("standardizer: %d response names for a network of %d responses", len(std.ResponseNames), q)
		return ""
	}
	if std.Y.Mode == data.None {
		return y
	}
	mean, sd := std.Y.Mean, std.Y.Std
	if len(mean) == 0 || len(sd) != len(mean) {
		b.fail("standardizer: y has %d means and %d standard deviations", len(mean), len(sd))
		return ""
	}
	m, s := make([]float32, q), make([]float32, q)
	for j := range q {
		m[j], s[j] = float32(mean[j%len(mean)]), float32(sd[j%len(sd)])
	}
	return b.add(b.mul(y, b.init("standardize.y.sd", []int{q}, s)), b.init("standardize.y.mean", []int{q}, m))
}

// scaling returns the mean and 1/sd of a Scaling for p values per sample
// (nil for mode none) and the initializer shape for a global scaling.
func scaling(sc data.Scaling, p int) (mean, inv []float32, shape []int, err error) {
	var want int
	switch sc.Mode {
	case data.None:
		return nil, nil, nil, nil
	case data.PerFeature:
		want = p
	case data.Global:
		want = 1
	default:
		return nil, nil, nil, fmt.Errorf("mode %v cannot be exported", sc.Mode)
	}
	if len(sc.Mean) != want || len(sc.Std) != want {
		return nil, nil, nil, fmt.Errorf("%v scaling of %d means and %d sds for %d values per sample", sc.Mode, len(sc.Mean), len(sc.Std), p)
	}
	mean, inv = make([]float32, want), make([]float32, want)
	for j := range want {
		if !(sc.Std[j] > 0) || math.IsInf(sc.Std[j], 0) || math.IsNaN(sc.Mean[j]) || math.IsInf(sc.Mean[j], 0) {
			return nil, nil, nil, fmt.Errorf("value %d: mean %v and sd %v are not a valid scaling", j, sc.Mean[j], sc.Std[j])
		}
		mean[j], inv[j] = float32(sc.Mean[j]), float32(1/sc.Std[j])
	}
	return mean, inv, []int{1}, nil
}
