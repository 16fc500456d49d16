package site

import (
	"context"
	"fmt"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/train"
)

// SetOutput is what a model makes of one of a client's sets.
type SetOutput struct {
	Name  string    // "train", "val" or "test"
	Index []int     // each sample's row in the full dataset
	IDs   []string  // each sample's ID (nil when the data have none)
	Z     []float32 // features, len(Index)×d
	Pred  []float32 // head predictions, len(Index)×q, in the responses' units
	Y     []float32 // observed responses, len(Index)×q, in their units
}

// Features applies a global model to each of the client's sets sets
// (standardised as the site's are) — with the client's own
// normalisation layers under FedBN — and returns the features,
// predictions and observed responses of each, in the responses' units
// (std inverts their scaling; a missing response stays NaN), with the
// prediction statistics of the test set.
func (s *Site) Features(sets *Sets, global []float32, std *data.Standardizer) ([]SetOutput, train.Stats, error) {
	var test train.Stats
	tr, err := s.Trainers.get(context.Background())
	if err != nil {
		return nil, test, err
	}
	defer s.Trainers.put(tr)
	st, err := s.Store.Load(s.Name)
	if err != nil {
		return nil, test, &StateError{Client: s.Name, Op: "loading", Err: err}
	}
	w := s.localWeights(tr, global, st)
	var out []SetOutput
	for _, sp := range []struct {
		name string
		idx  []int
		ds   *data.Dataset
	}{{"train", sets.TrainIndex, s.Train}, {"val", sets.ValIndex, s.Val}, {"test", sets.TestIndex, s.Test}} {
		o := SetOutput{Name: sp.name, Index: sp.idx, IDs: sp.ds.IDs}
		if sp.ds.Len() > 0 {
			z, pred, err := tr.Apply(w, sp.ds)
			if err != nil {
				return nil, test, fmt.Errorf("%s %s: %w", s.Name, sp.name, err)
			}
			std.InverseY(pred)
			y := append([]float32(nil), sp.ds.Y...)
			std.InverseY(y)
			o.Z, o.Pred, o.Y = z, pred, y
			if sp.name == "test" {
				test = train.PredictionStats(pred, y, len(sp.ds.ResponseNames))
			}
		}
		out = append(out, o)
	}
	return out, test, nil
}

// Predict applies a global model (with the client's own normalisation
// layers under FedBN) to ds, standardised as the site's sets are, and
// returns the features and the predictions on the standardised scale.
func (s *Site) Predict(global []float32, ds *data.Dataset) (z, pred []float32, err error) {
	tr, err := s.Trainers.get(context.Background())
	if err != nil {
		return nil, nil, err
	}
	defer s.Trainers.put(tr)
	st, err := s.Store.Load(s.Name)
	if err != nil {
		return nil, nil, &StateError{Client: s.Name, Op: "loading", Err: err}
	}
	return tr.Apply(s.localWeights(tr, global, st), ds)
}
