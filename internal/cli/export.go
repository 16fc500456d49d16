package cli

import (
	"context"
	"fmt"
	"strings"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/export/onnx"
)

func runExport(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "export", "--model dir --onnx out.onnx [--complete]", fmt.Sprintf(`
Writes a trained model (a folder written by "fdrmfl simulate" or "fdrmfl
server", e.g. out/model) as an ONNX model that computes, from raw inputs,
the predictions (output "y", in the responses' units) and the features
(output "z"), as "fdrmfl predict" and "fdrmfl extract" do: the
standardisation stored in the model is part of the graph. A linear model
(model.kind pls, ridge, lasso, enet) becomes Gemm layers on the standardised
inputs; only PLS has output "z". There is one input per modality, named after
it and shaped batch×shape; a row of NaN marks a sample that lacks that
modality. The graph uses ONNX operator set %d.`, onnx.Opset))
	modelDir := fs.String("model", "", "trained model `folder` (with manifest.json and model.safetensors)")
	out := fs.String("onnx", "", "ONNX `file` to write")
	complete := fs.Bool("complete", false, "leave out the missing-modality handling (every sample must have every modality): a smaller graph for minimal runtimes")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *modelDir == "" || *out == "" {
		return usagef("--model and --onnx are required")
	}
	mod, err := fdrmfl.LoadModel(*modelDir)
	if err != nil {
		return err
	}
	m := mod.Manifest
	if len(m.Preprocess) > 0 {
		var specs []string
		for _, p := range m.Preprocess {
			specs = append(specs, p.Modality+": "+p.Spec)
		}
		return fmt.Errorf("%s: the model preprocesses its spectra (%s), which the ONNX export does not express yet; use fdrmfl predict/extract, or train without data.preprocess", *modelDir, strings.Join(specs, "; "))
	}
	tensors, err := mod.NamedTensors()
	if err != nil {
		return err
	}
	b, err := onnx.Export(m.Model, m.Standardizer, tensors, onnx.Options{Complete: *complete})
	if err != nil {
		return fmt.Errorf("%s: %w", *modelDir, err)
	}
	if err := writeFile(*out, b); err != nil {
		return err
	}
	outputs := "y, z"
	if m.Model.Features == 0 {
		outputs = "y" // a linear model without features
	}
	fmt.Fprintf(e.stderr, "wrote %s (%d bytes, ONNX operator set %d; inputs %s; outputs %s)\n", *out, len(b), onnx.Opset, modalityList(m), outputs)
	return nil
}
