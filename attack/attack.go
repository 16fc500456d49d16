// Package attack is hostile participants for studies of robustness: a
// few clients of a simulated federation that flip, scale or replace
// their updates, train on flipped labels, collude to hide in the
// honest spread ("a little is enough"), return the global model with an
// inflated sample count, or poison the statistics phase.
//
// An Attack is an fdrmfl.Adversary (Options.Adversary): the simulation
// asks it for each client's statistics, participant and fleet. The
// hostile clients train honestly first; the attack then replaces what
// they send, seeing every honest update of the round (the strongest,
// omniscient, setting). Wrap turns one fed.Client hostile, for a real
// federation's tests.
package attack

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/site"
)

// Kind names an attack.
type Kind string

// The attacks. Δ = w − w_global is the hostile client's honest update.
const (
	// SignFlip sends w_global − Factor·Δ (Factor 0: 1): the same step,
	// the wrong way.
	SignFlip Kind = "sign-flip"
	// Scale sends w_global + Factor·Δ (Factor 0: 10⁶).
	Scale Kind = "scale"
	// Noise sends w_global + ξ, ξ ~ N(0, σ²I) with σ·√d = Factor·‖Δ‖
	// (Factor 0: 1): a random direction as long as an honest step, which
	// a norm bound does not catch.
	Noise Kind = "noise"
	// LabelFlip trains on its responses negated (in standardised units):
	// a well-formed update towards the wrong function.
	LabelFlip Kind = "label-flip"
	// ALIE is "a little is enough" (Baruch, Baruch and Goldberg, NeurIPS
	// 2019): every hostile client sends w_global + μ − z·σ, μ and σ the
	// coordinate-wise mean and standard deviation of the round's honest
	// updates, z = Factor, or 0 for the paper's
	// z_max = Φ⁻¹((n − s)/n), s = ⌊n/2 + 1⌋ − f: far enough to drag the
	// mean, close enough to look like the others.
	ALIE Kind = "alie"
	// Frozen sends the global model back unchanged with 2³¹ − 1 samples:
	// no progress, and as much weight as the wire allows.
	Frozen Kind = "frozen"
	// Stats multiplies the sums of its statistics-phase moments (sums and
	// sums of squares) by Factor (0: 10⁶), which would make every
	// client's standardisation useless; it then trains honestly.
	Stats Kind = "stats"
)

// Absent is not an attack but the study's baseline: the hostile clients
// fail every fit task, so the federation trains without their data — the
// best any defence can do.
const Absent Kind = "absent"

// Kinds lists every attack.
var Kinds = []Kind{SignFlip, Scale, Noise, LabelFlip, ALIE, Frozen, Stats}

// ParseKind returns the attack named s.
func ParseKind(s string) (Kind, error) {
	if k := Kind(s); slices.Contains(Kinds, k) {
		return k, nil
	}
	return "", fmt.Errorf("attack %q is not one of %v", s, Kinds)
}

// Attack makes the named clients hostile in the way Kind says. It
// implements fdrmfl.Adversary. The same Attack gives the same run.
type Attack struct {
	Kind    Kind
	Clients []string
	// Factor is the attack's strength (see each Kind; 0: its default).
	Factor float64
	// Seed seeds the noise.
	Seed uint64
}

// Hostile reports whether the named client is one of the attackers.
func (a *Attack) Hostile(client string) bool { return slices.Contains(a.Clients, client) }

// Statistics scales a hostile client's moments' sums under Stats and
// returns every other client's as they are.
func (a *Attack) Statistics(client string, m []site.Moments, train int) ([]site.Moments, int) {
	if a.Kind != Stats || !a.Hostile(client) {
		return m, train
	}
	return ScaleMoments(m, a.factor(1e6)), train
}

// ScaleMoments returns m with its sums and sums of squares multiplied by
// f (the counts as they are).
func ScaleMoments(m []site.Moments, f float64) []site.Moments {
	out := make([]site.Moments, len(m))
	for i, g := range m {
		out[i] = site.Moments{Name: g.Name, Mode: g.Mode, N: slices.Clone(g.N), Sum: slices.Clone(g.Sum), Sum2: slices.Clone(g.Sum2)}
		for j := range g.N {
			out[i].Sum[j] *= f
			out[i].Sum2[j] *= f
		}
	}
	return out
}

// Client returns s, or under LabelFlip for a hostile client, a site that
// trains on s's training data with the responses negated.
func (a *Attack) Client(s *site.Site) fed.Client {
	if a.Kind != LabelFlip || !a.Hostile(s.Name) {
		return s
	}
	flipped := *s.Train
	flipped.Y = make([]float32, len(s.Train.Y))
	for i, y := range s.Train.Y {
		flipped.Y[i] = -y
	}
	return &site.Site{Name: s.Name, Train: &flipped, Val: s.Val, Test: s.Test, Store: s.Store, Trainers: s.Trainers, Seed: s.Seed}
}

// Fleet returns a fleet that runs f's tasks and replaces the hostile
// clients' fit updates as the attack says, once the round's honest
// updates are all in. It does not stream: the server holds the round.
func (a *Attack) Fleet(f fed.Fleet) fed.Fleet { return &fleet{inner: f, a: a} }

type fleet struct {
	inner fed.Fleet
	a     *Attack
}

func (f *fleet) Available(ctx context.Context) ([]string, error) { return f.inner.Available(ctx) }

func (f *fleet) Run(ctx context.Context, tasks []fed.Task) ([]fed.Update, error) {
	ups, err := f.inner.Run(ctx, tasks)
	if err != nil || len(tasks) == 0 || tasks[0].Kind != fed.Fit {
		return ups, err
	}
	global := tasks[0].Global
	var honest []fed.Update
	hostile := 0
	for _, u := range ups {
		if u.Err == nil && len(u.Weights) == len(global) {
			honest = append(honest, u)
		}
		if f.a.Hostile(u.Client) {
			hostile++
		}
	}
	out := make([]fed.Update, len(ups))
	for i, u := range ups {
		out[i] = u
		if f.a.Hostile(u.Client) && u.Err == nil {
			out[i] = f.a.update(global, u, honest, hostile)
		}
	}
	return out, nil
}

// Update returns what a hostile client sends instead of its honest
// update u to the task of global, for the attacks that need only its
// own update (SignFlip, Scale, Noise, Frozen); others are returned as
// they are.
func (a *Attack) Update(global fed.Weights, u fed.Update) fed.Update {
	return a.update(global, u, nil, 1)
}

func (a *Attack) update(global fed.Weights, u fed.Update, honest []fed.Update, f int) fed.Update {
	if u.Kind != fed.Fit || len(u.Weights) != len(global) {
		return u
	}
	w := make(fed.Weights, len(global))
	switch a.Kind {
	case SignFlip, Scale:
		k := -a.factor(1)
		if a.Kind == Scale {
			k = a.factor(1e6)
		}
		for i, g := range global {
			w[i] = g + float32(k*(float64(u.Weights[i])-float64(g)))
		}
	case Noise:
		d := fed.Distance(global, u.Weights, nil)
		sd := a.factor(1) * d / math.Sqrt(float64(len(global)))
		rng := rand.New(rand.NewPCG(a.Seed, stream(u.Client, u.Round)))
		for i, g := range global {
			w[i] = g + float32(sd*rng.NormFloat64())
		}
	case ALIE:
		n := len(honest)
		z := a.Factor
		if z == 0 {
			z = zMax(n, f)
		}
		for i, g := range global {
			var s, s2 float64
			for _, h := range honest {
				d := float64(h.Weights[i]) - float64(g)
				s += d
				s2 += d * d
			}
			mu := s / float64(n)
			sd := math.Sqrt(max(s2/float64(n)-mu*mu, 0))
			w[i] = g + float32(mu-z*sd)
		}
	case Frozen:
		copy(w, global)
		u.N = math.MaxInt32
	case Absent:
		return fed.Update{Client: u.Client, Round: u.Round, Kind: u.Kind, Err: fmt.Errorf("client %s is absent", u.Client)}
	default:
		return u
	}
	u.Weights = w
	return u
}

// zMax is Baruch et al.'s largest z that keeps the hostile update among
// the s = ⌊n/2 + 1⌋ − f honest updates it needs on its side: Φ⁻¹((n − s)/n).
func zMax(n, f int) float64 {
	s := n/2 + 1 - f
	p := float64(n-s) / float64(n)
	return math.Sqrt2 * math.Erfinv(2*p-1)
}

func (a *Attack) factor(def float64) float64 {
	if a.Factor == 0 {
		return def
	}
	return a.Factor
}

// stream returns a random stream number for a client's round.
func stream(client string, round int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%s/%d", client, round)
	return h.Sum64()
}

// Wrap returns a client that runs c's tasks and sends what the attack
// makes of its fit updates (SignFlip, Scale, Noise, Frozen; the other
// kinds need the simulation's hooks).
func Wrap(a *Attack, c fed.Client) fed.Client {
	return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
		u, err := c.Execute(ctx, t)
		if err != nil || t.Kind != fed.Fit {
			return u, err
		}
		u.Client, u.Round = t.Client, t.Round
		return a.Update(t.Global, u), nil
	})
}
