package onnx

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
)

// linearKinds are the model kinds of the linear models the root package
// fits from summed statistics: torch.nn.Linear layers "features" (PLS
// only: Z, the X-scores) and "head" (ŷ) on the standardised inputs, every
// modality flattened and side by side.
var linearKinds = []string{"pls", "ridge", "lasso", "enet"}

// exportLinear compiles a linear model: per modality the NaN handling
// and the standardisation, then the inputs flattened side by side (a
// sample's absent modality contributes zeros, the pooled training mean),
// then Gemm layers:
//
//	Z = x·features.weightᵀ + features.bias,  ŷ = Z·head.weightᵀ + head.bias   (PLS)
//	ŷ = x·head.weightᵀ + head.bias                                         (the others)
//
// and ŷ·sd_y + mean_y. A model without features has the output "y" only.
func exportLinear(cfg model.Config, std *data.Standardizer, b *builder, opt Options) ([]byte, error) {
	if len(cfg.Modalities) == 0 || cfg.Responses < 1 || cfg.Features < 0 || (cfg.Kind == "pls") != (cfg.Features > 0) {
		return nil, fmt.Errorf("onnx export: a %s model of %d modalities, %d responses and %d features", cfg.Kind, len(cfg.Modalities), cfg.Responses, cfg.Features)
	}
	g := graphProto{name: "fdrmfl-" + cfg.Kind}
	var cols []string
	p := 0
	for _, m := range cfg.Modalities {
		if len(m.Shape) == 0 || slices.ContainsFunc(m.Shape, func(d int) bool { return d < 1 }) {
			return nil, fmt.Errorf("onnx export: modality %q has shape %v", m.Name, m.Shape)
		}
		g.inputs = append(g.inputs, valueInfo{
			name: m.Name, elemType: elemFloat, dims: batchDims(m.Shape),
			doc: fmt.Sprintf("modality %s: raw values, batch×%s; a row of NaN marks a sample without it", m.Name, shapeString(m.Shape)),
		})
		x, present := m.Name, ""
		if !opt.Complete {
			x, present = b.missing(x, len(m.Shape))
		}
		x = b.standardize(x, std, m)
		x = b.reshape(x, -1, prod(m.Shape))
		if present != "" {
			x = b.mul(x, present) // an absent sample: 0, the pooled mean
		}
		cols = append(cols, x)
		p += prod(m.Shape)
	}
	x := cols[0]
	if len(cols) > 1 {
		x = b.op("Concat", cols, intAttr("axis", 1))
	}
	gemm := func(x, layer string, in, out int) string {
		w, bias := b.param(layer+".weight", out, in), b.param(layer+".bias", out)
		return b.op("Gemm", []string{x, w, bias}, intAttr("transB", 1))
	}
	in := p
	if cfg.Features > 0 {
		x = b.rename(gemm(x, "features", p, cfg.Features), OutputZ)
		in = cfg.Features
	}
	y := b.unstandardizeY(gemm(x, "head", in, cfg.Responses), std, cfg.Responses)
	b.rename(y, OutputY)
	if b.err != nil {
		return nil, fmt.Errorf("onnx export: %w", b.err)
	}
	if name, n := b.unused(); n > 0 {
		return nil, fmt.Errorf("onnx export: tensor %q is not part of a %s model (%d unused in all)", name, cfg.Kind, n)
	}
	g.nodes, g.inits = b.nodes, b.inits
	g.outputs = []valueInfo{{name: OutputY, elemType: elemFloat, dims: batchDims([]int{cfg.Responses}),
		doc: "predicted responses " + strings.Join(std.ResponseNames, ", ") + ", in their units"}}
	if cfg.Features > 0 {
		g.outputs = append(g.outputs, valueInfo{name: OutputZ, elemType: elemFloat, dims: batchDims([]int{cfg.Features}), doc: "the PLS X-scores z1…zd"})
	}
	var sb strings.Builder
	if opt.Doc != "" {
		sb.WriteString(opt.Doc + "\n")
	}
	var mods []string
	for _, m := range cfg.Modalities {
		mods = append(mods, fmt.Sprintf("%s %s", m.Name, shapeString(m.Shape)))
	}
	fmt.Fprintf(&sb, "fdrmfl %s model: inputs %s, standardised and side by side (%d values); output y (%s)", cfg.Kind, strings.Join(mods, ", "), p, strings.Join(std.ResponseNames, ", "))
	if cfg.Features > 0 {
		fmt.Fprintf(&sb, " and z (%d X-scores)", cfg.Features)
	}
	sb.WriteString(".")
	if !opt.Complete {
		sb.WriteString(" A sample lacks a modality when its row of that input is NaN; its values are then the training mean.")
	}
	g.doc = sb.String()
	mp := modelProto{
		irVersion: IRVersion, opsetVersion: Opset, producerName: "fdrmfl", producerVersion: opt.ProducerVersion,
		doc: g.doc, graph: g,
		metadata: [][2]string{
			{"fdrmfl.kind", cfg.Kind},
			{"fdrmfl.responses", strings.Join(std.ResponseNames, ",")},
			{"fdrmfl.features", fmt.Sprint(cfg.Features)},
			{"fdrmfl.modalities", strings.Join(mods, ", ")},
			{"fdrmfl.missing", map[bool]string{true: "not handled (complete inputs only)", false: "NaN rows"}[opt.Complete]},
		},
	}
	return mp.marshal(), nil
}
