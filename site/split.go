package site

import (
	"fmt"
	"math/rand/v2"
	"sort"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/internal/seed"
)

// SplitSpec says how a client cuts its samples into training, validation
// and test sets. Every client of a federation gets one from the server
// (a real federation sends it in the statistics request), so that the
// split does not depend on where the client runs.
type SplitSpec struct {
	// Seed is the federation's seed and Index the client's number in it
	// (from 0): together they seed the client's split.
	Seed  uint64 `json:"seed"`
	Index int    `json:"index"`
	// TestFraction of the samples is held out for testing, then
	// ValFraction of the rest for validation (≤ 0: none).
	TestFraction float64 `json:"test_fraction"`
	ValFraction  float64 `json:"val_fraction"`
	// Lacks lists modalities the client is to treat as absent.
	Lacks []string `json:"lacks,omitempty"`
}

// Sets is one client's samples cut into training, validation and test
// sets, with each set's rows in the full dataset.
type Sets struct {
	Name                            string
	Train, Val, Test                *data.Dataset
	TrainIndex, ValIndex, TestIndex []int
	// Unlabelled are the client's samples without any response (rows of
	// the full dataset), left out of every set.
	Unlabelled []int
	// Fixed says the sets follow the dataset's fixed split (its Roles).
	Fixed bool
}

// Split cuts the samples idx of ds (rows of the full dataset) into
// training, validation and test sets, and marks the modalities the client
// lacks absent. The sets share ds's values until they are standardised.
//
// Samples without any observed response are left out (Sets.Unlabelled).
// If ds has a fixed split (ds.Roles), each sample goes to the set its role
// names; when no sample is a validation sample and spec.ValFraction > 0,
// the validation set is drawn from the training samples as usual.
// Otherwise spec's fractions and seed draw the split.
func Split(name string, spec SplitSpec, ds *data.Dataset, idx []int) (*Sets, error) {
	c := &Sets{Name: name}
	if ds.NumResponses() > 0 {
		var keep []int
		for _, i := range idx {
			labelled := false
			for j := range ds.NumResponses() {
				if ds.ResponseObserved(i, j) {
					labelled = true
					break
				}
			}
			if labelled {
				keep = append(keep, i)
			} else {
				c.Unlabelled = append(c.Unlabelled, i)
			}
		}
		idx = keep
	}
	srng := rand.New(rand.NewPCG(seed.For(spec.Seed, seed.Split, uint64(spec.Index)), 0))
	var tr, va, te []int // positions in idx
	var err error
	if ds.Roles != nil {
		c.Fixed = true
		for k, i := range idx {
			switch ds.Roles[i] {
			case data.RoleTrain:
				tr = append(tr, k)
			case data.RoleVal:
				va = append(va, k)
			case data.RoleTest:
				te = append(te, k)
			}
		}
		if len(va) > 0 || spec.ValFraction <= 0 || len(tr) < 3 {
			return c.finish(spec, ds, idx, tr, va, te)
		}
	} else if tr, te, err = data.TrainTestSplit(len(idx), spec.TestFraction, srng); err != nil {
		return nil, fmt.Errorf("%s: test split of %d samples: %w", name, len(idx), err)
	}
	if spec.ValFraction > 0 {
		var keep []int
		keep, va, err = data.TrainTestSplit(len(tr), spec.ValFraction, srng)
		if err != nil {
			return nil, fmt.Errorf("%s: validation split of %d samples: %w", name, len(tr), err)
		}
		va = pick(tr, va)
		tr = pick(tr, keep)
	}
	return c.finish(spec, ds, idx, tr, va, te)
}

// finish makes the sets from positions in idx.
func (c *Sets) finish(spec SplitSpec, ds *data.Dataset, idx, tr, va, te []int) (*Sets, error) {
	name := c.Name
	c.TrainIndex, c.ValIndex, c.TestIndex = pick(idx, tr), pick(idx, va), pick(idx, te)
	for _, s := range [][]int{c.TrainIndex, c.ValIndex, c.TestIndex} {
		sort.Ints(s)
	}
	if len(c.TrainIndex) < 2 {
		how := "fewer clients or a smaller test_fraction"
		if c.Fixed {
			how = "fewer clients, or more samples labelled train in the split"
		}
		return nil, fmt.Errorf("%s has %d training samples; at least 2 are needed (%s)", name, len(c.TrainIndex), how)
	}
	c.Train, c.Val, c.Test = ds.Subset(c.TrainIndex), ds.Subset(c.ValIndex), ds.Subset(c.TestIndex)
	for _, m := range spec.Lacks {
		for _, d := range []*data.Dataset{c.Train, c.Val, c.Test} {
			if err := d.MarkAbsent(m); err != nil {
				return nil, fmt.Errorf("federation.lacks.%d: %w", spec.Index+1, err)
			}
		}
	}
	return c, nil
}

func pick(from, pos []int) []int {
	out := make([]int, len(pos))
	for i, p := range pos {
		out[i] = from[p]
	}
	return out
}

// Moments returns the standardisation statistics of the training set,
// each modality scaled as modes says (per feature when unnamed).
func (c *Sets) Moments(modes map[string]data.Mode) ([]Moments, error) {
	for name := range modes {
		if c.Train.Modality(name) == nil {
			return nil, fmt.Errorf("data.scale: the data have no modality %q", name)
		}
	}
	return ClientMoments(c.Train, modes), nil
}

// Standardize scales every set in place with the pooled statistics, or,
// under mode "local", the inputs with the client's own moments (own) and
// the responses with the pooled ones, so that clients agree on the scale
// of y.
func (c *Sets) Standardize(pooled *data.Standardizer, own []Moments, mode string) error {
	s := pooled
	if mode == "local" {
		var err error
		if s, err = Pooled(c.Train.ResponseNames, [][]Moments{own}); err != nil {
			return err
		}
		s.Y = pooled.Y
	}
	for _, d := range []**data.Dataset{&c.Train, &c.Val, &c.Test} {
		if (*d).Len() == 0 {
			continue
		}
		var err error
		if *d, err = s.Apply(*d); err != nil {
			return fmt.Errorf("%s: %w", c.Name, err)
		}
	}
	return nil
}
