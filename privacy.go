package fdrmfl

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/fed/strategy"
	"github.com/fdrmfl/fdrmfl/internal/seed"
	"github.com/fdrmfl/fdrmfl/privacy"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// Privacy says what the server, the other clients and outsiders may learn
// (README, "Privacy").
type Privacy struct {
	Secure SecureAggregation `yaml:"secure_aggregation" json:"secure_aggregation"`
	DP     DP                `yaml:"dp" json:"dp"`
}

// SecureAggregation hides each client's update and statistics from the
// server, which learns only their sums (fed/secagg).
type SecureAggregation struct {
	Enabled bool `yaml:"enabled" json:"enabled"`
	// Bits is the ring Z_{2^bits} of the summed updates (default 32).
	Bits int `yaml:"bits" json:"bits"`
	// Clip bounds each coordinate of a client's weighted update (default 1).
	Clip float64 `yaml:"clip" json:"clip"`
	// Neighbours is each client's number of neighbours (0: 2⌈log₂ n⌉).
	Neighbours int `yaml:"neighbours" json:"neighbours"`
	// Threshold is the number of each neighbourhood's k+1 clients that
	// must stay to unmask the sum (0: the least safe, ⌊(k+1)/2⌋+1).
	Threshold int `yaml:"threshold" json:"threshold"`
}

// DP is differential privacy of the training.
type DP struct {
	// Level is "" (none), "client" (DP-FedAvg: one client's whole data is
	// what is protected) or "sample" (DP-SGD on every client: one sample is
	// what is protected).
	Level string `yaml:"level" json:"level"`
	// Epsilon is the budget: training stops before a round would spend
	// more. With Noise 0, the noise is chosen to spend it over the rounds.
	Epsilon float64 `yaml:"epsilon" json:"epsilon"`
	// Delta of (ε, δ) (default 1e-5).
	Delta float64 `yaml:"delta" json:"delta"`
	// Noise is the noise multiplier z: noise std z·Clip.
	Noise float64 `yaml:"noise" json:"noise"`
	// Clip is the L2 bound of a client's update (client level, default
	// 0.1; the starting bound when Adaptive) or of one sample's gradient
	// (sample level, default 1).
	Clip float64 `yaml:"clip" json:"clip"`
	// Adaptive makes the bound follow the Quantile (default 0.5) of the
	// update norms at rate ClipLR (default 0.2), its count noised with std
	// CountNoise (default clients per round / 20).
	Adaptive   bool    `yaml:"adaptive" json:"adaptive"`
	Quantile   float64 `yaml:"quantile" json:"quantile"`
	ClipLR     float64 `yaml:"clip_lr" json:"clip_lr"`
	CountNoise float64 `yaml:"count_noise" json:"count_noise"`
	// NoiseAt is "server" (default) or "clients" (each client adds its
	// share under secure aggregation, so the server never sees a sum
	// without noise).
	NoiseAt string `yaml:"noise_at" json:"noise_at"`
}

// defaults fills the privacy section's zero fields.
func (p *Privacy) defaults() {
	s := &p.Secure
	if s.Bits == 0 {
		s.Bits = 32
	}
	if s.Clip == 0 {
		s.Clip = 1
	}
	d := &p.DP
	if d.Level == "none" {
		d.Level = ""
	}
	if d.Delta == 0 {
		d.Delta = 1e-5
	}
	if d.Clip == 0 {
		d.Clip = 0.1
		if d.Level == "sample" {
			d.Clip = 1
		}
	}
	if d.Quantile == 0 {
		d.Quantile = 0.5
	}
	if d.ClipLR == 0 {
		d.ClipLR = 0.2
	}
	if d.NoiseAt == "" {
		d.NoiseAt = "server"
	}
}

// sumStrategies can merge updates from their sum alone.
var sumStrategies = []string{"fedavg", "fedprox", "fedbn"}

// validate reports the first bad privacy setting, naming its key.
func (c Config) validatePrivacy() error {
	p, f := c.Privacy, c.Federation
	s := p.Secure
	if s.Enabled {
		switch {
		case s.Bits < 8 || s.Bits > 64:
			return fmt.Errorf("privacy.secure_aggregation.bits: %d is not in 8..64", s.Bits)
		case !(s.Clip > 0) || math.IsInf(s.Clip, 0):
			return fmt.Errorf("privacy.secure_aggregation.clip: %v must be positive", s.Clip)
		case s.Neighbours < 0:
			return fmt.Errorf("privacy.secure_aggregation.neighbours: %d must not be negative", s.Neighbours)
		case s.Threshold < 0:
			return fmt.Errorf("privacy.secure_aggregation.threshold: %d must not be negative", s.Threshold)
		case f.Clients < 2:
			return fmt.Errorf("privacy.secure_aggregation.enabled: secure aggregation needs at least 2 clients (federation.clients is %d)", f.Clients)
		case !slices.Contains(sumStrategies, f.Strategy):
			return fmt.Errorf("privacy.secure_aggregation.enabled: federation.strategy %q needs each client's update, and secure aggregation gives the server only their sum; use one of %v or switch secure aggregation off", f.Strategy, sumStrategies)
		case f.Aggregator != "" && f.Aggregator != "mean":
			return fmt.Errorf("privacy.secure_aggregation.enabled: federation.aggregator %q needs each client's update, and secure aggregation gives the server only their sum; use mean (bound each client's update with privacy.secure_aggregation.clip) or switch secure aggregation off", f.Aggregator)
		case f.Direction > 0:
			return fmt.Errorf("privacy.secure_aggregation.enabled: federation.direction compares each client's update with the others', which secure aggregation hides; switch one of them off")
		}
		if s.Threshold > 0 {
			k := s.Neighbours
			if k == 0 {
				k = secagg.DefaultDegree(f.Clients)
			}
			k = min(k+k%2, f.Clients-1)
			if 2*s.Threshold <= k+1 || s.Threshold > k+1 {
				return fmt.Errorf("privacy.secure_aggregation.threshold: %d must be above half of, and at most, the neighbourhood of %d (privacy.secure_aggregation.neighbours + 1)", s.Threshold, k+1)
			}
		}
	}
	d := p.DP
	switch d.Level {
	case "":
		return nil
	case "client":
	case "sample":
		switch {
		case c.Train.Loss.MI > 0:
			return fmt.Errorf("privacy.dp.level: \"sample\" needs loss.mi: 0 (it is %v): the MI term is estimated from batch statistics, which have no per-sample gradient", c.Train.Loss.MI)
		case d.Adaptive:
			return errors.New("privacy.dp.adaptive: adaptive clipping is for privacy.dp.level \"client\"")
		case d.NoiseAt == "clients":
			return errors.New("privacy.dp.noise_at: at level \"sample\" every client adds its own noise (DP-SGD); leave it \"server\"")
		}
	default:
		return fmt.Errorf("privacy.dp.level: %q is not \"\" (none), \"client\" or \"sample\"", d.Level)
	}
	switch {
	case d.Epsilon < 0:
		return fmt.Errorf("privacy.dp.epsilon: %v must not be negative", d.Epsilon)
	case d.Noise < 0:
		return fmt.Errorf("privacy.dp.noise: %v must not be negative", d.Noise)
	case d.Epsilon == 0 && d.Noise == 0:
		return errors.New("privacy.dp: give a budget (epsilon), a noise multiplier (noise), or both")
	case !(d.Delta > 0 && d.Delta < 1):
		return fmt.Errorf("privacy.dp.delta: %v is not in (0, 1)", d.Delta)
	case !(d.Clip > 0):
		return fmt.Errorf("privacy.dp.clip: %v must be positive", d.Clip)
	case d.Quantile <= 0 || d.Quantile >= 1:
		return fmt.Errorf("privacy.dp.quantile: %v is not in (0, 1)", d.Quantile)
	case d.ClipLR < 0 || d.CountNoise < 0:
		return fmt.Errorf("privacy.dp.clip_lr (%v) and count_noise (%v) must not be negative", d.ClipLR, d.CountNoise)
	}
	switch d.NoiseAt {
	case "server":
	case "clients":
		if !s.Enabled {
			return errors.New("privacy.dp.noise_at: \"clients\" needs privacy.secure_aggregation.enabled: the clients' shares of the noise only add up to the noise under secure aggregation")
		}
	default:
		return fmt.Errorf("privacy.dp.noise_at: %q is not \"server\" or \"clients\"", d.NoiseAt)
	}
	if d.Level == "client" && f.Aggregator != "" && f.Aggregator != "mean" {
		return fmt.Errorf("privacy.dp.level: client-level DP clips and averages every update; federation.aggregator %q would change what the noise protects: use mean", f.Aggregator)
	}
	if f.Strategy == "fedbn" && d.Level == "client" {
		return errors.New("privacy.dp.level: client-level DP with federation.strategy fedbn is not supported: the local normalisation layers would escape the accounting")
	}
	if d.Level != "" && !slices.Contains(sumStrategies, f.Strategy) {
		return fmt.Errorf("privacy.dp.level: %q with federation.strategy %q is not supported: its server state and client corrections would escape the accounting; use one of %v", d.Level, f.Strategy, sumStrategies)
	}
	return nil
}

// sumMetrics are the site's training metrics, summed under secure aggregation.
var sumMetrics = []string{"loss", "mse", "mi", "kl", "con"}

// privateStrategy returns the server's policy for cfg with the privacy
// settings applied: the FedAvg of strategy with the clients' total of
// training samples (to weigh contributions under secure aggregation) and
// the configured aggregator, or DP-FedAvg around it.
func (c Config) privateStrategy(base *strategy.FedAvg, trainSamples int) (fed.Strategy, error) {
	base.SampleScale, base.SumMetrics = float64(trainSamples), sumMetrics
	d := c.Privacy.DP
	switch d.Level {
	case "":
		return c.Federation.aggregate(base), nil
	case "sample":
		return c.sampleAccounting(base)
	}
	f := c.Federation
	per := f.Clients
	if f.Fraction > 0 && f.Fraction < 1 {
		per = max(int(f.Fraction*float64(f.Clients)+0.5), 1)
	}
	q := float64(per) / float64(f.Clients)
	z := d.Noise
	if z == 0 {
		var err error
		if z, err = privacy.NoiseFor(d.Epsilon, d.Delta, q, f.Rounds, 0.01*d.Epsilon); err != nil {
			return nil, fmt.Errorf("privacy.dp.epsilon: %w", err)
		}
	}
	s := &strategy.DPFedAvg{
		FedAvg: *base, Clip: d.Clip, Noise: z, Clients: f.Clients, Delta: d.Delta, Budget: d.Epsilon,
		AtClients: d.NoiseAt == "clients", NoiseSeed: seed.For(c.Seed, seed.Strategy, 2),
		NoiseRand:  rand.New(rand.NewPCG(seed.For(c.Seed, seed.Strategy, 1), 0)),
		Accountant: privacy.NewAccountant(),
	}
	s.SampleScale = 0 // DP weighs every client alike
	if d.Adaptive {
		cn := d.CountNoise
		if cn == 0 {
			cn = float64(per) / 20
		}
		s.Adaptive = &privacy.AdaptiveClip{Clip: d.Clip, Quantile: d.Quantile, LR: d.ClipLR, CountNoise: cn}
	}
	if s.AtClients {
		s.Threshold = c.secureThreshold(per)
	}
	return s, nil
}

// secureThreshold returns the threshold of an aggregation of n clients.
func (c Config) secureThreshold(n int) int {
	s := c.Privacy.Secure
	if s.Threshold > 0 {
		return s.Threshold
	}
	k := s.Neighbours
	if k == 0 {
		k = secagg.DefaultDegree(n)
	}
	return secagg.DefaultThreshold(min(k+k%2, n-1))
}

// secureAggregation returns the server's secure-aggregation settings (nil: off).
func (c Config) secureAggregation() *fed.SecureAggregation {
	s := c.Privacy.Secure
	if !s.Enabled {
		return nil
	}
	return &fed.SecureAggregation{Bits: s.Bits, Clip: s.Clip, Degree: s.Neighbours, Threshold: s.Threshold}
}

// spent returns the (ε, δ) a strategy has spent, if it accounts.
func spent(s fed.Strategy) (eps, delta float64, ok bool) {
	if a, is := s.(interface{ Spent() (float64, float64) }); is {
		eps, delta = a.Spent()
		return eps, delta, true
	}
	return 0, 0, false
}

// pooledMoments sums the clients' moments into the pooled standardiser:
// in the clear, or under secure aggregation (the server of a simulation
// then sees only the sums).
func (c Config) pooledMoments(responses []string, parts [][]site.Moments) ([]site.Moments, error) {
	if !c.Privacy.Secure.Enabled || len(parts) < 2 {
		return nil, nil
	}
	var blocks []int
	flat := make([][]float64, len(parts))
	for k, p := range parts {
		if len(p) != len(parts[0]) {
			return nil, fmt.Errorf("standardize: client %d sent %d statistics, client 0 sent %d", k, len(p), len(parts[0]))
		}
		for i, m := range p {
			if len(m.N) != len(parts[0][i].N) {
				return nil, fmt.Errorf("standardize: client %d's statistics for %q do not match client 0's", k, m.Name)
			}
		}
		flat[k], blocks = site.FlatMoments(p)
	}
	sum, err := secagg.SumFloats(flat, blocks, nil)
	if err != nil {
		return nil, fmt.Errorf("standardize: secure aggregation: %w", err)
	}
	return site.UnflatMoments(parts[0], sum)
}

// PrivateStrategy returns the server's policy for training the manifest's
// model as Strategy does, with the privacy settings applied: weights
// scaled by the federation's trainSamples under secure aggregation, or
// DP-FedAvg. Call it on a Config after Defaults.
func (c Config) PrivateStrategy(m *Manifest, trainSamples int) (fed.Strategy, error) {
	pool, err := site.NewTrainerPool(m.Model, m.Train, 1)
	if err != nil {
		return nil, err
	}
	strat, err := c.privateStrategy(c.fedAvg(pool), trainSamples)
	if base, ok := strat.(*strategy.FedAvg); ok && err == nil { // no differential privacy, the mean
		strat = c.rule(base, pool)
	}
	return strat, err
}

// SecureAggregation returns the server's secure-aggregation settings, nil
// when it is off. Call it on a Config after Defaults.
func (c Config) SecureAggregationSettings() *fed.SecureAggregation { return c.secureAggregation() }

// Spent returns the (ε, δ) a strategy has spent, and whether it accounts
// for privacy at all.
func Spent(s fed.Strategy) (eps, delta float64, ok bool) { return spent(s) }

// sampleSteps returns, for a client of n training samples, DP-SGD's
// sampling rate and its steps per round.
func (c Config) sampleSteps(n int) (q float64, steps int) {
	b := c.Train.BatchSize
	return min(1, float64(b)/float64(n)), c.Train.Epochs * ((n + b - 1) / b)
}

// calibrateDPSGD sets the DP-SGD noise of cfg.Train for clients of the
// given training sizes: the configured multiplier, or the smallest that
// keeps every client within the budget over all rounds.
func (c *Config) calibrateDPSGD(sizes []int) error {
	d := c.Privacy.DP
	if d.Level != "sample" {
		return nil
	}
	z := d.Noise
	if z == 0 {
		for _, n := range sizes {
			q, steps := c.sampleSteps(n)
			s, err := privacy.NoiseFor(d.Epsilon, d.Delta, q, steps*c.Federation.Rounds, 0.01*d.Epsilon)
			if err != nil {
				return fmt.Errorf("privacy.dp.epsilon: %w", err)
			}
			z = max(z, s)
		}
	}
	c.Train.DP = train.DPSGD{Clip: d.Clip, Noise: z}
	return nil
}

// sampleDP is the server's side of sample-level DP: the clients run
// DP-SGD, and it accounts for each client's samples — the client with
// the most spent is what it reports — and stops before a round would take
// any client past the budget.
type sampleDP struct {
	*strategy.FedAvg
	accts  []*privacy.Accountant
	q      []float64
	steps  []int
	noise  float64
	delta  float64
	budget float64
}

// sampleAccounting wraps base with the accounting of sample-level DP.
func (c Config) sampleAccounting(base *strategy.FedAvg) (fed.Strategy, error) {
	if len(c.privacySizes) == 0 {
		return nil, errors.New("privacy.dp.level: \"sample\" runs in fdrmfl simulate and the study; a real federation's server does not yet calibrate and account DP-SGD for each client (use level \"client\" there)")
	}
	s := &sampleDP{FedAvg: base, noise: c.Train.DP.Noise, delta: c.Privacy.DP.Delta, budget: c.Privacy.DP.Epsilon}
	for _, n := range c.privacySizes {
		q, steps := c.sampleSteps(n)
		s.q, s.steps = append(s.q, q), append(s.steps, steps)
		s.accts = append(s.accts, privacy.NewAccountant())
	}
	return s, nil
}

// Configure selects the round's clients unless the round would spend more
// than the budget; the round is then accounted for.
func (s *sampleDP) Configure(round int, global fed.Weights, available []string) ([]fed.Task, error) {
	if s.budget > 0 {
		for k, a := range s.accts {
			b := a.Clone()
			b.Compose(s.q[k], s.noise, s.steps[k])
			if eps, _ := b.Epsilon(s.delta); eps > s.budget {
				return nil, fmt.Errorf("%w: round %d would take client %d to ε = %.3g, the budget is %.3g", privacy.ErrBudget, round, k+1, eps, s.budget)
			}
		}
	}
	tasks, err := s.FedAvg.Configure(round, global, available)
	if err != nil {
		return nil, err
	}
	for k, a := range s.accts {
		a.Compose(s.q[k], s.noise, s.steps[k])
	}
	return tasks, nil
}

// Spent returns the largest ε any client has spent, and δ.
func (s *sampleDP) Spent() (eps, delta float64) {
	for _, a := range s.accts {
		e, _ := a.Epsilon(s.delta)
		eps = max(eps, e)
	}
	return eps, s.delta
}
