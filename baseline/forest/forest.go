// Package forest is a random forest regressor (Breiman 2001): bagged CART
// regression trees grown on bootstrap samples, each split chosen among a
// random subset of the features, predictions averaged over the trees.
//
// It is the downstream regressor of the study, fitted thousands of times,
// so it is built for speed at the study's sizes (n in the tens to
// thousands, p up to about a thousand): features are binned once per fit
// into at most 255 quantile bins (uint8 codes shared by all trees), and
// each tree keeps, for every feature, its in-bag rows presorted by code and
// partitions those lists as it splits, so finding a split is one linear
// scan per feature with no sorting. Trees are grown in parallel; each
// draws from its own generator seeded from (Seed, tree index), so the
// fitted forest and its predictions are bit-identical whatever the number
// of workers. docs/decisions/0002-random-forest.md has the measurements.
//
// The package does no I/O and keeps no global state.
package forest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"sync"
	"sync/atomic"

	"gonum.org/v1/gonum/mat"
)

// Forest is a random forest regressor. The zero value has sklearn's
// RandomForestRegressor defaults: 100 trees, bootstrap samples of n rows
// drawn with replacement, every feature tried at each split
// (max_features = 1.0, which is what the author's 'auto' meant), leaves of
// at least one row, no depth limit. Breiman's regression default of p/3
// features is FeatureFraction 1/3.
//
// A split of a node's rows on feature j at threshold c minimises the
// weighted sum of squared errors of the two children, i.e. maximises
// S_L²/W_L + S_R²/W_R with W the bootstrap weight and S the weighted sum of
// y on each side. Thresholds lie between bins of the training values
// (quantile bins when a feature has more than MaxBins distinct values,
// exact midpoints otherwise). Features are drawn without replacement at
// each node; as in sklearn, features constant in the node do not count
// towards MaxFeatures, and a node without a valid split is a leaf.
// MinSamplesLeaf and MinSamplesSplit count distinct in-bag rows. A leaf
// predicts the weighted mean of its rows.
//
// Fit may be called again; a fitted Forest is safe for concurrent Predict.
type Forest struct {
	Trees           int     // number of trees; 0: 100
	MaxFeatures     int     // features tried per split; 0: from FeatureFraction
	FeatureFraction float64 // share of p tried per split, max(1, ⌊f·p⌋); 0 with MaxFeatures 0: all
	MinSamplesLeaf  int     // fewest rows in a leaf; 0: 1
	MinSamplesSplit int     // fewest rows in a node that may split; 0: 2
	MaxDepth        int     // deepest node (root = 0); 0: unlimited
	MaxBins         int     // bins per feature, 2..256; 0: 255
	NoBootstrap     bool    // grow every tree on all rows (then trees differ only by feature draws)
	Seed            uint64  // the same Seed and data give the same forest
	Workers         int     // goroutines growing trees; 0: runtime.GOMAXPROCS(0)

	p     int
	trees [][]node
}

// node is a tree node; feature < 0 marks a leaf.
type node struct {
	feature     int32
	left, right int32
	threshold   float64 // rows with x[feature] ≤ threshold go left
	value       float64 // leaf prediction
}

// Fit grows the forest on rows x and responses y (len(y) = rows of x).
func (f *Forest) Fit(x *mat.Dense, y []float64) error {
	const fn = "Forest.Fit"
	if x == nil {
		return errorf(fn, "x is nil")
	}
	n, p := x.Dims()
	if n != len(y) {
		return errorf(fn, "x has %d rows, y has %d", n, len(y))
	}
	if n == 0 || p == 0 || n >= maxRows {
		return errorf(fn, "x is %d×%d, want 1 to %d rows", n, p, maxRows-1)
	}
	cfg, err := f.config(p)
	if err != nil {
		return err
	}
	for i := range n {
		for j, v := range x.RawRowView(i) {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return errorf(fn, "x[%d][%d] = %g", i, j, v)
			}
		}
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return errorf(fn, "y[%d] = %g", i, y[i])
		}
	}
	d := newBinned(x, cfg.maxBins, cfg.workers)
	trees := make([][]node, cfg.trees)
	workers := min(cfg.workers, cfg.trees)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			g := newGrower(d, y, cfg)
			for {
				t := int(next.Add(1) - 1)
				if t >= cfg.trees {
					return
				}
				trees[t] = g.grow(treeRand(f.Seed, t))
			}
		}()
	}
	wg.Wait()
	f.p, f.trees = p, trees
	return nil
}

// Predict returns the mean over trees, in tree order, of each row's leaf
// value. A NaN feature value goes to the right child.
func (f *Forest) Predict(x *mat.Dense) ([]float64, error) {
	const fn = "Forest.Predict"
	if f.trees == nil {
		return nil, errorf(fn, "not fitted")
	}
	if x == nil {
		return nil, errorf(fn, "x is nil")
	}
	n, p := x.Dims()
	if p != f.p {
		return nil, errorf(fn, "x is %d×%d, fitted on %d columns", n, p, f.p)
	}
	out := make([]float64, n)
	for i := range n {
		row := x.RawRowView(i)
		var s float64
		for _, t := range f.trees {
			k := int32(0)
			for t[k].feature >= 0 {
				if row[t[k].feature] <= t[k].threshold {
					k = t[k].left
				} else {
					k = t[k].right
				}
			}
			s += t[k].value
		}
		out[i] = s / float64(len(f.trees))
	}
	return out, nil
}

// NumNodes returns the number of nodes of each tree, for diagnostics.
func (f *Forest) NumNodes() []int {
	out := make([]int, len(f.trees))
	for i, t := range f.trees {
		out[i] = len(t)
	}
	return out
}

// config is a validated Forest configuration with defaults filled in.
type config struct {
	trees, mtry, minLeaf, minSplit, maxDepth, maxBins, workers int
	bootstrap                                                  bool
}

func (f *Forest) config(p int) (config, error) {
	const fn = "Forest.Fit"
	c := config{trees: f.Trees, minLeaf: f.MinSamplesLeaf, minSplit: f.MinSamplesSplit,
		maxDepth: f.MaxDepth, maxBins: f.MaxBins, workers: f.Workers, bootstrap: !f.NoBootstrap}
	for _, v := range []struct {
		name string
		v    int
	}{{"Trees", f.Trees}, {"MaxFeatures", f.MaxFeatures}, {"MinSamplesLeaf", f.MinSamplesLeaf},
		{"MinSamplesSplit", f.MinSamplesSplit}, {"MaxDepth", f.MaxDepth}, {"Workers", f.Workers}} {
		if v.v < 0 {
			return c, errorf(fn, "%s = %d, must not be negative", v.name, v.v)
		}
	}
	switch {
	case f.MaxFeatures > 0 && f.FeatureFraction != 0:
		return c, errorf(fn, "both MaxFeatures (%d) and FeatureFraction (%g) set", f.MaxFeatures, f.FeatureFraction)
	case f.FeatureFraction < 0 || f.FeatureFraction > 1 || math.IsNaN(f.FeatureFraction):
		return c, errorf(fn, "FeatureFraction = %g, want (0, 1]", f.FeatureFraction)
	case f.MaxBins == 1 || f.MaxBins > 256:
		return c, errorf(fn, "MaxBins = %d, want 2..256", f.MaxBins)
	}
	if c.trees == 0 {
		c.trees = 100
	}
	switch {
	case f.MaxFeatures > 0:
		c.mtry = min(f.MaxFeatures, p)
	case f.FeatureFraction > 0:
		c.mtry = max(1, int(f.FeatureFraction*float64(p)))
	default:
		c.mtry = p
	}
	c.minLeaf = max(c.minLeaf, 1)
	c.minSplit = max(c.minSplit, 2)
	if c.maxBins == 0 {
		c.maxBins = 255
	}
	if c.workers == 0 {
		c.workers = runtime.GOMAXPROCS(0)
	}
	return c, nil
}

// treeRand returns tree t's generator: PCG seeded by SplitMix64 of the
// forest seed and the tree index, independent of which worker grows it.
func treeRand(seed uint64, t int) *rand.Rand {
	a := splitmix(seed ^ splitmix(uint64(t)+0x7472_6565)) // "tree"
	return rand.New(rand.NewPCG(a, splitmix(a)))
}

// splitmix is the SplitMix64 finaliser (Steele, Lea & Flood 2014).
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

func errorf(fn, format string, args ...any) error {
	return fmt.Errorf("forest: "+fn+": "+format, args...)
}
