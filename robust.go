package fdrmfl

import (
	"fmt"
	"math"
	"slices"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/site"
)

// Aggregators lists the values of federation.aggregator.
var Aggregators = []string{"mean", "median", "trimmed-mean", "krum", "multi-krum", "geomed", "cc"}

// DefaultNormBound is federation.norm_bound's default k: an update may
// move the model at most four times as far as the round's median.
// Honest updates stayed within 2.45 times the median in every federation
// measured (docs/decisions/0006-robust-defaults.md).
const DefaultNormBound = 4

// DefaultDirection is federation.direction's default ρ: an update whose
// cosine with the round's coordinate-wise median update is below half the
// round's median cosine is rejected. On simulation function 1 with ten
// clients (iid, response bands, Dirichlet) honest updates stayed above
// 0.63 times the median cosine; flipped signs were below 0.03 times
// it (docs/decisions/0006-robust-defaults.md).
const DefaultDirection = 0.5

// DefaultDirectionMin is federation.direction_min's default: the
// direction check applies to rounds of at least eight valid updates.
// Honest updates of non-IID clients trained for many local epochs can
// point against each other (corn with three, five and eight clients), and
// the fewer the clients the more each one's loss costs: smaller rounds go
// unchecked, and a federation of ten keeps the check with two clients
// missing.
const DefaultDirectionMin = 8

// robustDefaults fills the robustness settings' defaults.
func (f *Federation) robustDefaults() {
	if f.Aggregator == "" {
		f.Aggregator = "mean"
	}
	if f.Byzantine == 0 {
		f.Byzantine = (f.Clients + 3) / 4
	}
	if f.Clip == 0 {
		f.Clip = 2
	}
	if f.NormBound == 0 {
		f.NormBound = DefaultNormBound
	}
	if f.Direction == 0 {
		f.Direction = DefaultDirection
	}
	if f.DirectionMin == 0 {
		f.DirectionMin = DefaultDirectionMin
	}
	if f.StatsLimit == 0 {
		f.StatsLimit = site.DefaultScreenLimit
	}
}

// validateRobust checks the robustness settings, naming the key at fault.
func (f Federation) validateRobust() error {
	if !slices.Contains(Aggregators, f.Aggregator) {
		return fmt.Errorf("federation.aggregator: %q is not one of %v", f.Aggregator, Aggregators)
	}
	switch f.Strategy {
	case "fedavg", "fedprox", "fedbn", "":
	default:
		if f.Aggregator != "mean" {
			// Drift controls and server optimisers take the mean of the
			// updates (and their payloads) by construction.
			return fmt.Errorf("federation.aggregator: %q with federation.strategy %q: the drift controls and server optimisers build on the mean; use aggregator mean, or strategy fedavg, fedprox or fedbn", f.Aggregator, f.Strategy)
		}
	}
	if f.Byzantine < 0 || f.Aggregator != "mean" && 2*f.Byzantine >= f.Clients {
		return fmt.Errorf("federation.byzantine: %d hostile clients of %d cannot be outvoted (fewer than half, please)", f.Byzantine, f.Clients)
	}
	if f.Trim < 0 || f.Trim >= 0.5 {
		return fmt.Errorf("federation.trim: %v is not in [0, 0.5)", f.Trim)
	}
	if f.Clip < 0 {
		return fmt.Errorf("federation.clip: %v must not be negative", f.Clip)
	}
	if f.Direction >= 1 {
		return fmt.Errorf("federation.direction: %v would reject the median client itself (below 1, or negative: off)", f.Direction)
	}
	if f.DirectionMin < 3 {
		return fmt.Errorf("federation.direction_min: %d: the check needs at least 3 updates (a median of two is each one's neighbour)", f.DirectionMin)
	}
	if f.NormBound > 0 && f.NormBound < 1 {
		return fmt.Errorf("federation.norm_bound: %v would reject the median update itself (at least 1, or negative: off)", f.NormBound)
	}
	return nil
}

// Bound returns the adaptive norm bound k the server applies (0: off).
// Call it on a Federation after Defaults.
func (f Federation) Bound() float64 { return max(f.NormBound, 0) }

// DirectionBound returns the direction check ρ the server applies (0:
// off). Call it on a Federation after Defaults.
func (f Federation) DirectionBound() float64 { return max(f.Direction, 0) }

// aggregate returns base merging with the configured aggregator: base
// itself for the mean, else a strategy.Robust around it.
func (f Federation) aggregate(base *strategy.FedAvg) fed.Strategy {
	var rule strategy.Rule
	switch f.Aggregator {
	case "median":
		rule = strategy.Median{}
	case "trimmed-mean":
		rule = trimmed{fraction: f.Trim, f: f.Byzantine}
	case "krum":
		rule = strategy.Krum{F: f.Byzantine, Select: 1}
	case "multi-krum":
		rule = strategy.Krum{F: f.Byzantine}
	case "geomed":
		rule = strategy.GeoMedian{}
	case "cc":
		rule = &strategy.CenteredClip{Factor: f.Clip}
	default:
		return base
	}
	return &strategy.Robust{Base: *base, Rule: rule}
}

// trimmed is the trimmed mean with federation.trim's share of the
// round's clients, or federation.byzantine of them, dropped at each end.
type trimmed struct {
	fraction float64
	f        int
}

func (t trimmed) Merge(global fed.Weights, ups []fed.Update, skip []fed.Span) ([]float64, error) {
	k := t.f
	if t.fraction > 0 {
		k = int(math.Ceil(t.fraction*float64(len(ups)) - 1e-9))
	}
	return strategy.TrimmedMean{Trim: k}.Merge(global, ups, skip)
}

// Adversary makes some clients of a simulation hostile, for studies of
// robustness; package attack has the usual attacks. Options.Adversary
// sets one.
type Adversary interface {
	// Statistics returns what the named client reports in the statistics
	// phase, given its true moments and training-set size.
	Statistics(client string, m []site.Moments, train int) ([]site.Moments, int)
	// Client returns what answers the rounds' tasks for s: s itself for
	// an honest client.
	Client(s *site.Site) fed.Client
	// Fleet returns the fleet the server talks to, given the clients':
	// colluding clients see the round there.
	Fleet(f fed.Fleet) fed.Fleet
}
