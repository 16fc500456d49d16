package onnx_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/advancedclimatesystems/gonnx"
	gonnxpb "github.com/advancedclimatesystems/gonnx/onnx"
	"google.golang.org/protobuf/proto"
	"gorgonia.org/tensor"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/export/onnx"
	"github.com/fdrmfl/fdrmfl/model"
)

// linearModel fits a linear model of kind on two modalities of the
// simulation (vector and text) and returns it with the data
// (those two modalities).
func linearModel(t *testing.T, kind string) (*fdrmfl.Model, *data.Dataset) {
	t.Helper()
	cfg := fdrmfl.Config{
		Seed: 2, Data: fdrmfl.Data{Function: 2, Samples: 120},
		Model:  model.Config{Kind: kind, Modalities: []model.Modality{{Name: "vector"}, {Name: "text"}}},
		Linear: fdrmfl.Linear{Folds: 3},
	}
	if kind == fdrmfl.KindPLS {
		cfg.Linear.MaxComponents = 5
	}
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	all, err := fdrmfl.LoadData(cfg.Defaults(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ds, err := data.New(all.Len(), []data.Modality{*all.Modality("vector"), *all.Modality("text")}, all.ResponseNames, all.Y)
	if err != nil {
		t.Fatal(err)
	}
	return res.Model(), ds
}

// TestLinearGonnxAgrees exports a PLS and a ridge model and runs the
// complete graphs in gonnx: ŷ (and PLS's Z) are fdrmfl.Extract's. The
// full graphs (NaN handling: IsNaN and Where, which gonnx lacks) are
// checked for structure here and run by python/tests/test_onnx.py.
func TestLinearGonnxAgrees(t *testing.T) {
	for _, kind := range []string{fdrmfl.KindPLS, fdrmfl.KindRidge} {
		t.Run(kind, func(t *testing.T) {
			m, ds := linearModel(t, kind)
			want, err := m.Extract(ds)
			if err != nil {
				t.Fatal(err)
			}
			ts, err := m.NamedTensors()
			if err != nil {
				t.Fatal(err)
			}
			man := m.Manifest
			for _, complete := range []bool{true, false} {
				b, err := onnx.Export(man.Model, man.Standardizer, ts, onnx.Options{Complete: complete})
				if err != nil {
					t.Fatal(err)
				}
				var mp gonnxpb.ModelProto
				if err := proto.Unmarshal(b, &mp); err != nil {
					t.Fatal(err)
				}
				var outs, ops []string
				for _, o := range mp.GetGraph().GetOutput() {
					outs = append(outs, o.GetName())
				}
				for _, n := range mp.GetGraph().GetNode() {
					ops = append(ops, n.GetOpType())
					if !slices.Contains(opset13, n.GetOpType()) {
						t.Errorf("operator %s", n.GetOpType())
					}
				}
				wantOuts := []string{onnx.OutputY}
				if kind == fdrmfl.KindPLS {
					wantOuts = append(wantOuts, onnx.OutputZ)
				}
				if !slices.Equal(outs, wantOuts) || slices.Contains(ops, "IsNaN") == complete {
					t.Fatalf("complete %v: outputs %v, operators %v", complete, outs, ops)
				}
				if !complete {
					continue
				}
				g, err := gonnx.NewModelFromBytes(b)
				if err != nil {
					t.Fatal(err)
				}
				in := gonnx.Tensors{}
				for _, mo := range man.Modalities {
					in[mo.Name] = tensor.New(tensor.WithShape(append([]int{ds.Len()}, mo.Shape...)...), tensor.WithBacking(slices.Clone(ds.Modality(mo.Name).Data)))
				}
				out, err := g.Run(in)
				if err != nil {
					t.Fatal(err)
				}
				check := []struct {
					name string
					want []float32
				}{{onnx.OutputY, want.Pred}}
				if kind == fdrmfl.KindPLS {
					check = append(check, struct {
						name string
						want []float32
					}{onnx.OutputZ, want.Z})
				}
				for _, o := range check {
					got, ok := out[o.name].Data().([]float32)
					if !ok || len(got) != len(o.want) {
						t.Fatalf("output %s: %T of %d values, want %d", o.name, out[o.name].Data(), len(got), len(o.want))
					}
					a, r := relErr(got, o.want)
					t.Logf("%s: max abs error %.3g, relative %.3g", o.name, a, r)
					if r > tol {
						t.Errorf("output %s: max abs error %.3g, relative %.3g > %g", o.name, a, r, tol)
					}
				}
			}
		})
	}
}

// TestLinearRefused: a linear model that does not fit its tensors, or a
// kind this package does not know, is an error naming it.
func TestLinearRefused(t *testing.T) {
	m, _ := linearModel(t, fdrmfl.KindPLS)
	ts, err := m.NamedTensors()
	if err != nil {
		t.Fatal(err)
	}
	cfg, std := m.Manifest.Model, m.Manifest.Standardizer
	other := cfg
	other.Kind = "svm"
	ridge := cfg
	ridge.Kind = fdrmfl.KindRidge
	for _, c := range []struct {
		name string
		cfg  model.Config
		ts   int
		want string
	}{
		{"kind", other, len(ts), `model kind "svm" cannot be exported`},
		{"missing", cfg, 3, `tensor "head.bias" (shape [1]) is missing`},
		{"pls without features", func() model.Config { c := cfg; c.Features = 0; return c }(), len(ts), "a pls model of 2 modalities, 1 responses and 0 features"},
		{"ridge with features", ridge, len(ts), "a ridge model of 2 modalities"},
	} {
		_, err := onnx.Export(c.cfg, std, ts[:c.ts], onnx.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want an error with %q", c.name, err, c.want)
		}
	}
}
