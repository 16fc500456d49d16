package fed

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"

	"github.com/fdrmfl/fdrmfl/fed/secagg"
)

// SecAgg is the kind of a task that carries a step of secure aggregation
// (fed/secagg) in Task.Payload; the client's answer is in Update.Payload.
const SecAgg Kind = 4

// SecureAggregation makes a Server merge fit updates under secure
// aggregation: it learns the sum of the clients' encoded contributions
// (Contribution), never one client's update.
type SecureAggregation struct {
	// Bits is the ring Z_{2^Bits} of the sum (default 32: as many bytes on
	// the wire as float32 weights).
	Bits int
	// Clip bounds each coordinate of a client's weighted update ω·Δ
	// (default 1); larger values are clipped.
	Clip float64
	// Degree is each client's number of neighbours (0: 2⌈log₂ n⌉, SecAgg+;
	// n−1 or more: the complete graph).
	Degree int
	// Threshold is the number of shares, out of a neighbourhood of k+1,
	// that remove a client's masks (0: ⌊(k+1)/2⌋+1, the least that is
	// safe); the sum survives as long as that many of each neighbourhood
	// answer.
	Threshold int
	// Rand draws the session, the graph and (in the clients) keys; nil:
	// crypto/rand.
	Rand io.Reader
}

// Contribution says how a client turns its fit result into the vector
// summed under secure aggregation. With ω = min(N, SampleScale)/SampleScale
// (ω = 1 when SampleScale is 0) and Δ = w − global, the vector is
//
//	[ω·Δ (clipped to NormClip in L2, plus N(0, Noise²) per value), ω,
//	 ω·metric for each of Metrics, and b − ½ with b = [‖Δ‖ ≤ NormClip] if Indicator]
//
// in fixed point (fed/secagg.Encoding): the update block clipped to ±Clip
// per value, the metrics to ±MetricClip, each block's sum bounded by its
// clip times WeightSum (the largest Σω of a round).
type Contribution struct {
	SampleScale float64  `json:"sample_scale,omitempty"`
	WeightSum   float64  `json:"weight_sum"`
	Clip        float64  `json:"clip"`
	NormClip    float64  `json:"norm_clip,omitempty"`
	Noise       float64  `json:"noise,omitempty"`
	Metrics     []string `json:"metrics,omitempty"`
	Indicator   bool     `json:"indicator,omitempty"`
	// IndicatorNoise is the std of the noise each client adds to its b − ½.
	IndicatorNoise float64 `json:"indicator_noise,omitempty"`
	// Seed, when not 0, seeds the clients' noise (with the client's name
	// and the round), so that a simulation is reproducible; 0 draws it
	// from crypto/rand.
	Seed uint64 `json:"seed,omitempty"`
}

// MetricClip bounds each summed metric.
const MetricClip = 1 << 10

// Encoding returns the fixed-point layout of a contribution to a model of
// n values, in a ring of bits.
func (c Contribution) Encoding(bits, n, clients int) secagg.Encoding {
	ws := max(c.WeightSum, 1)
	blocks := []secagg.Block{
		{Len: n, Clip: c.Clip, MaxSum: c.Clip * ws},
		{Len: 1, Clip: 1, MaxSum: ws},
	}
	if len(c.Metrics) > 0 {
		blocks = append(blocks, secagg.Block{Len: len(c.Metrics), Clip: MetricClip, MaxSum: MetricClip * ws})
	}
	if c.Indicator {
		ic := 0.5 + 8*c.IndicatorNoise
		blocks = append(blocks, secagg.Block{Len: 1, Clip: ic, MaxSum: ic * float64(max(clients, 1))})
	}
	return secagg.Encoding{Bits: bits, Blocks: blocks}
}

// Sum is what secure aggregation gives the server of a round: the decoded
// sums of the contributions of Clients.
type Sum struct {
	Clients []string // whose contributions are in the sum, sorted
	Update  []float64
	Weight  float64            // Σω
	Metrics map[string]float64 // Σω·metric
	// Unclipped is Σ(b − ½) when the contribution carried the indicator.
	Unclipped float64
}

// SumStrategy is a Strategy that can form the next global model from the
// sum of the clients' contributions alone. Robust aggregators (median,
// trimmed mean, Krum, …) need each update and cannot be one.
type SumStrategy interface {
	Strategy
	// Contribution says how clients encode their updates in round r, when
	// n clients are asked.
	Contribution(r int, global Weights, n int) (Contribution, error)
	// AggregateSum returns the next global model from the round's sum.
	AggregateSum(r int, global Weights, s Sum) (Weights, error)
}

// secureFitPrefix starts the payload of a fit task under secure
// aggregation; a JSON secureFit follows.
const secureFitPrefix = "fdrmfl-secagg/1 "

// secureFit is the payload of a fit task under secure aggregation.
type secureFit struct {
	Params       []byte       `json:"params"` // secagg.Params, binary
	Party        int          `json:"party"`
	Contribution Contribution `json:"contribution"`
}

// secureRound is round for a Server with Secure set.
func (s *Server) secureRound(ctx context.Context, r int, global Weights) (Weights, RoundReport, error) {
	ss, ok := s.Strategy.(SumStrategy)
	if !ok {
		return nil, RoundReport{}, fmt.Errorf("the strategy %T needs each client's update, and secure aggregation gives the server only their sum", s.Strategy)
	}
	quorum := max(s.Quorum, 1)
	var rep RoundReport
	for attempt := 1; attempt <= s.Retries+1; attempt++ {
		ids, err := s.Fleet.Available(ctx)
		if err != nil {
			return nil, rep, err
		}
		tasks, err := ss.Configure(r, global, ids)
		if err != nil {
			return nil, rep, err
		}
		rep = RoundReport{Round: r, Attempt: attempt, Rejected: map[string]string{}}
		for _, t := range tasks {
			rep.Selected = append(rep.Selected, t.Client)
		}
		next, err := s.secureAttempt(ctx, ss, r, global, tasks, &rep)
		if err != nil {
			if ctx.Err() != nil {
				return nil, rep, ctx.Err()
			}
			var short shortError
			if !errors.As(err, &short) {
				return nil, rep, err
			}
			s.log().Warn("secure aggregation did not finish", "round", r, "attempt", attempt, "err", err)
			continue
		}
		if len(rep.Accepted) < quorum {
			s.log().Warn("round below quorum", "round", r, "attempt", attempt, "accepted", len(rep.Accepted), "quorum", quorum)
			continue
		}
		return next, rep, nil
	}
	return nil, rep, fmt.Errorf("%w: %d accepted, %d needed, after %d attempts", ErrNoQuorum, len(rep.Accepted), quorum, s.Retries+1)
}

// shortError is a secure aggregation that lost too many clients: the
// round may be tried again.
type shortError struct{ error }

func (e shortError) Unwrap() error { return e.error }

func (s *Server) secureAttempt(ctx context.Context, ss SumStrategy, r int, global Weights, tasks []Task, rep *RoundReport) (Weights, error) {
	sa := s.Secure
	n := len(tasks)
	contrib, err := ss.Contribution(r, global, n)
	if err != nil {
		return nil, err
	}
	bits := sa.Bits
	if bits == 0 {
		bits = 32
	}
	if contrib.Clip == 0 {
		contrib.Clip = sa.Clip
	}
	if contrib.Clip == 0 {
		contrib.Clip = 1
	}
	enc := contrib.Encoding(bits, len(global), n)
	if err := enc.Check(); err != nil {
		return nil, fmt.Errorf("secure aggregation: %w", err)
	}
	p, err := sa.params(n, bits, enc.Len())
	if err != nil {
		return nil, err
	}
	pb, _ := p.MarshalBinary()
	cur := make([]Task, n)
	for i, t := range tasks {
		b, err := json.Marshal(secureFit{Params: pb, Party: i, Contribution: contrib})
		if err != nil {
			return nil, err
		}
		t.Payload = append([]byte(secureFitPrefix), b...)
		cur[i] = t
	}
	res, err := session{fleet: s.Fleet, timeout: s.RoundTimeout, log: s.Log}.run(ctx, p, cur)
	for c, why := range res.dropped {
		rep.Rejected[c] = why
	}
	if err != nil {
		return nil, err
	}
	vec, who := res.sum, res.in
	vals, err := enc.Decode(vec)
	if err != nil {
		return nil, err
	}
	sum := Sum{Update: vals[:len(global)], Weight: vals[len(global)], Metrics: map[string]float64{}}
	off := len(global) + 1
	for j, m := range contrib.Metrics {
		sum.Metrics[m] = vals[off+j]
	}
	if contrib.Indicator {
		sum.Unclipped = vals[len(vals)-1]
	}
	for _, i := range who {
		sum.Clients = append(sum.Clients, tasks[i].Client)
	}
	slices.Sort(sum.Clients)
	rep.Accepted = sum.Clients
	if sum.Weight > 0 {
		rep.Train = map[string]float64{}
		for k, v := range sum.Metrics {
			rep.Train[k] = v / sum.Weight
		}
	}
	if len(rep.Accepted) < max(s.Quorum, 1) {
		return nil, nil // below quorum: the caller retries
	}
	next, err := ss.AggregateSum(r, global, sum)
	if err != nil {
		return nil, err
	}
	return next, nil
}

// SecureClient is a Client that takes part in secure aggregation: a fit
// task whose payload asks for it runs Client's fit, turns the result into
// the round's contribution and answers with the first message of the
// protocol; SecAgg tasks carry the protocol on. Other tasks go to Client
// unchanged. It keeps one protocol state per client name, so one
// SecureClient may serve a whole in-process fleet.
type SecureClient struct {
	Client Client
	// Rand draws keys and share polynomials (nil: crypto/rand).
	Rand io.Reader

	mu    sync.Mutex
	state map[string]*secagg.Client
}

// take removes and returns the protocol state of client name.
func (c *SecureClient) take(name string) *secagg.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state[name]
	delete(c.state, name)
	return st
}

// put keeps the protocol state of client name for its next step.
func (c *SecureClient) put(name string, st *secagg.Client) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.state == nil {
		c.state = map[string]*secagg.Client{}
	}
	c.state[name] = st
}

// addClientNoise adds N(0, std²) to each value of x, from a stream seeded
// by seed, the client's name and the round (seed 0: from crypto/rand).
func addClientNoise(x []float64, std float64, seed uint64, client string, round int) {
	var r *rand.Rand
	if seed == 0 {
		var b [32]byte
		crand.Read(b[:])
		r = rand.New(rand.NewChaCha8(b))
	} else {
		h := fnv.New64a()
		fmt.Fprintf(h, "%s/%d", client, round)
		r = rand.New(rand.NewPCG(seed, h.Sum64()))
	}
	for i := range x {
		x[i] += std * r.NormFloat64()
	}
}

// Execute runs a task.
func (c *SecureClient) Execute(ctx context.Context, t Task) (Update, error) {
	switch {
	case t.Kind == Fit && strings.HasPrefix(string(t.Payload), secureFitPrefix):
		return c.fit(ctx, t)
	case t.Kind == SecAgg:
		st := c.take(t.Client)
		if st == nil {
			return Update{}, fmt.Errorf("client %s: a secure aggregation step without a round in progress", t.Client)
		}
		out, err := st.Step(t.Payload)
		if err != nil {
			return Update{}, fmt.Errorf("client %s: %w", t.Client, err)
		}
		c.put(t.Client, st)
		return Update{Kind: SecAgg, Payload: out}, nil
	}
	return c.Client.Execute(ctx, t)
}

func (c *SecureClient) fit(ctx context.Context, t Task) (Update, error) {
	var sf secureFit
	if err := json.Unmarshal(t.Payload[len(secureFitPrefix):], &sf); err != nil {
		return Update{}, fmt.Errorf("client %s: the secure fit task: %w", t.Client, err)
	}
	var p secagg.Params
	if err := p.UnmarshalBinary(sf.Params); err != nil {
		return Update{}, fmt.Errorf("client %s: %w", t.Client, err)
	}
	inner := t
	inner.Payload = nil
	u, err := c.Client.Execute(ctx, inner)
	if err != nil {
		return Update{}, err
	}
	if u.Err != nil {
		return u, nil
	}
	if len(u.Weights) != len(t.Global) {
		return Update{}, fmt.Errorf("client %s: an update of %d values for a model of %d", t.Client, len(u.Weights), len(t.Global))
	}
	x, err := sf.Contribution.vector(t, u)
	if err != nil {
		return Update{}, fmt.Errorf("client %s: %w", t.Client, err)
	}
	enc := sf.Contribution.Encoding(p.Bits, len(t.Global), p.Parties)
	v, _, err := enc.Encode(x)
	if err != nil {
		return Update{}, fmt.Errorf("client %s: %w", t.Client, err)
	}
	msg, err := c.Begin(t.Client, p, sf.Party, v)
	if err != nil {
		return Update{}, err
	}
	return Update{Kind: Fit, Payload: msg}, nil
}

// vector builds a client's contribution (see Contribution).
func (c Contribution) vector(t Task, u Update) ([]float64, error) {
	n := len(t.Global)
	x := make([]float64, 0, n+2+len(c.Metrics))
	omega := 1.0
	if c.SampleScale > 0 {
		omega = min(float64(u.N), c.SampleScale) / c.SampleScale
	}
	var norm2 float64
	for i, w := range u.Weights {
		d := float64(w) - float64(t.Global[i])
		norm2 += d * d
		x = append(x, d)
	}
	norm := math.Sqrt(norm2)
	scale := omega
	if c.NormClip > 0 && norm > c.NormClip {
		scale *= c.NormClip / norm
	}
	for i := range x {
		x[i] *= scale
	}
	if c.Noise > 0 {
		addClientNoise(x, c.Noise, c.Seed, t.Client, t.Round)
	}
	x = append(x, omega)
	for _, m := range c.Metrics {
		v := u.Metrics[m]
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metric %q is %v", m, v)
		}
		x = append(x, omega*v)
	}
	if c.Indicator {
		b := []float64{-0.5}
		if norm <= c.NormClip {
			b[0] = 0.5
		}
		if c.IndicatorNoise > 0 {
			addClientNoise(b, c.IndicatorNoise, c.Seed+1, t.Client, t.Round)
		}
		x = append(x, b[0])
	}
	return x, nil
}
