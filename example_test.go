package fdrmfl_test

import (
	"context"
	"fmt"
	"os"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// Simulate a small federation on the paper's simulation function 1 and
// read the features Z that the trained model gives each client's samples.
func ExampleSimulate() {
	cfg := fdrmfl.Config{
		Seed:       1,
		Data:       fdrmfl.Data{Function: 1, Samples: 300},
		Federation: fdrmfl.Federation{Clients: 3, Rounds: 2, Partition: "response"},
		Model:      model.Config{Latent: 32, Features: 4},
		Train:      train.Config{Epochs: 1},
	}
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("rounds:", len(res.Rounds))
	for _, c := range res.Clients {
		test := c.Splits[2]
		fmt.Printf("%s: %d test samples, %d features each\n", c.Name, len(test.Index), len(test.Z)/len(test.Index))
	}
	// Output:
	// rounds: 2
	// client-1: 20 test samples, 4 features each
	// client-2: 20 test samples, 4 features each
	// client-3: 20 test samples, 4 features each
}

// Save a trained model, load it again, and apply it to data.
func ExampleLoadModel() {
	cfg := fdrmfl.Config{
		Seed:       1,
		Data:       fdrmfl.Data{Function: 1, Samples: 300},
		Federation: fdrmfl.Federation{Clients: 3, Rounds: 1},
		Model:      model.Config{Latent: 16, Features: 4},
		Train:      train.Config{Epochs: 1},
	}.Defaults()
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "fdrmfl-example-")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	if err := res.Model().Save(dir); err != nil {
		fmt.Println(err)
		return
	}

	m, err := fdrmfl.LoadModel(dir)
	if err != nil {
		fmt.Println(err)
		return
	}
	ds, err := fdrmfl.LoadData(cfg, nil) // new data would come from package data's readers
	if err != nil {
		fmt.Println(err)
		return
	}
	x, err := m.Extract(ds.Subset([]int{0, 1, 2}))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%d samples, %d features and %d prediction each\n", len(x.Pred), len(x.Z)/len(x.Pred), len(m.Manifest.Responses))
	// Output:
	// 3 samples, 4 features and 1 prediction each
}

// Fit PLS from the clients' summed statistics instead of training the
// network: the same simulation, model.kind pls. Cross-validation over
// folds of every client's training rows chooses the number of
// components, which is the size of the features Z (the X-scores).
func ExampleSimulate_linear() {
	cfg := fdrmfl.Config{
		Seed:       1,
		Data:       fdrmfl.Data{Function: 1, Samples: 300},
		Federation: fdrmfl.Federation{Clients: 3, Partition: "response"},
		Model:      model.Config{Kind: fdrmfl.KindPLS, Modalities: []model.Modality{{Name: "vector"}}},
		Linear:     fdrmfl.Linear{MaxComponents: 8},
	}
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fit := res.Manifest.Linear
	fmt.Printf("%d candidates scored over %d folds of %d rows from %d clients\n", len(fit.CV), fit.Folds, fit.Rows, fit.Clients)
	test := res.Clients[0].Splits[2]
	fmt.Printf("chose %s; a column of Z for each: %v\n", fit.Chosen(), len(test.Z)/len(test.Index) == fit.Components)
	// Output:
	// 8 candidates scored over 5 folds of 240 rows from 3 clients
	// chose 1 component; a column of Z for each: true
}
