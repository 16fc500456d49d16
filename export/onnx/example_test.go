package onnx_test

import (
	"fmt"
	"go/build"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/export/onnx"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/modelio"
	"github.com/fdrmfl/fdrmfl/nn"
)

// ExampleExport exports a network of one 3-value vector modality. A
// trained model's configuration, standardizer and tensors come from its
// manifest.json and model.safetensors (fdrmfl export does this).
func ExampleExport() {
	cfg := model.Config{
		Latent: 4, Features: 2, Responses: 1,
		Modalities: []model.Modality{{Name: "x", Shape: []int{3}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}}},
	}
	net, err := model.New[float32](cfg, rand.New(rand.NewPCG(1, 2)))
	if err != nil {
		panic(err)
	}
	tensors := modelio.StateTensors(nn.Bind[float32](net))
	std := &data.Standardizer{
		Modalities:    []data.Scaling{{Name: "x", Mode: data.PerFeature, Mean: []float64{0, 1, 2}, Std: []float64{1, 2, 3}}},
		ResponseNames: []string{"protein"},
		Y:             data.Scaling{Name: "y", Mean: []float64{9}, Std: []float64{1.5}},
	}
	b, err := onnx.Export(net.Config, std, tensors, onnx.Options{})
	if err != nil {
		panic(err)
	}
	// Write b to a .onnx file; its graph reads input "x" (batch×3) and
	// computes outputs "y" (batch×1, in protein's units) and "z" (batch×2).
	fmt.Printf("ONNX opset %d, IR version %d: %v\n", onnx.Opset, b[1], len(b) > 1000)
	// Output: ONNX opset 13, IR version 7: true
}

// TestNoIO: the export is a pure function from a model to bytes.
func TestNoIO(t *testing.T) {
	pkg, err := build.ImportDir(".", 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, imp := range pkg.Imports {
		if slices.Contains([]string{"os", "net", "os/exec", "syscall", "net/http", "io/ioutil"}, imp) {
			t.Errorf("export/onnx imports %s: files and sockets belong to the command line", imp)
		}
	}
}
