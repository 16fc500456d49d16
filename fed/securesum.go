package fed

import (
	"context"
	crand "crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/fdrmfl/fdrmfl/fed/secagg"
)

// params returns the public parameters of one aggregation among n
// parties of vectors of l elements of Z_{2^bits}: the configured degree
// and threshold (0: SecAgg+'s defaults), and a session and a graph seed
// drawn afresh from sa.Rand.
func (sa *SecureAggregation) params(n, bits, l int) (secagg.Params, error) {
	if n < 2 {
		return secagg.Params{}, shortError{fmt.Errorf("secure aggregation needs at least 2 clients, %d were asked", n)}
	}
	rng := sa.Rand
	if rng == nil {
		rng = crand.Reader
	}
	p := secagg.Params{Parties: n, Degree: sa.Degree, Threshold: sa.Threshold, Bits: bits, Len: l}
	if p.Degree == 0 {
		p.Degree = secagg.DefaultDegree(n)
	}
	if p.Threshold == 0 {
		p.Threshold = secagg.DefaultThreshold(min(p.Degree+p.Degree%2, n-1))
	}
	if _, err := io.ReadFull(rng, p.Session[:]); err != nil {
		return p, err
	}
	if _, err := io.ReadFull(rng, p.GraphSeed[:]); err != nil {
		return p, err
	}
	if err := p.Validate(); err != nil {
		return p, fmt.Errorf("secure aggregation: %w", err)
	}
	return p, nil
}

// session is one aggregation of secure aggregation carried over a Fleet.
type session struct {
	fleet Fleet
	// timeout bounds each of the four phases (0: none).
	timeout time.Duration
	log     *slog.Logger
}

// sessionResult is what an aggregation gives the server.
type sessionResult struct {
	sum secagg.Vec
	// in lists the parties (places in the tasks) whose inputs are in sum.
	in []int
	// dropped maps each other client to the phase it left in and why.
	dropped map[string]string
}

// run carries one aggregation of p over the fleet. tasks[i] goes to party
// i and makes its client start the protocol (its answer, of the task's
// kind and round, is the party's first message); SecAgg tasks carry the
// protocol's other three phases. A client that fails, answers out of
// turn or misses a phase's deadline has dropped out; the sum survives as
// long as the threshold allows (secagg). An error that is a shortError
// names the phase at which too few clients were left.
func (se session) run(ctx context.Context, p secagg.Params, tasks []Task) (sessionResult, error) {
	srv, err := secagg.NewServer(p)
	if err != nil {
		return sessionResult{}, err
	}
	if len(tasks) != p.Parties {
		return sessionResult{}, fmt.Errorf("secure aggregation: %d tasks for %d parties", len(tasks), p.Parties)
	}
	r, first := tasks[0].Round, tasks[0].Kind
	party := map[string]int{}
	for i, t := range tasks {
		party[t.Client] = i
	}
	res := sessionResult{dropped: map[string]string{}}
	cur := slices.Clone(tasks)
	for phase := secagg.Advertise; phase <= secagg.Unmask; phase++ {
		answered := map[string]bool{}
		take := func(u Update) error {
			answered[u.Client] = true
			i, ok := party[u.Client]
			err := u.Err
			want := SecAgg
			if phase == secagg.Advertise {
				want = first
			}
			if err == nil && (!ok || u.Round != r || u.Kind != want) {
				err = fmt.Errorf("answered round %d (%v), not round %d (%v)", u.Round, u.Kind, r, want)
			}
			if err == nil {
				err = srv.Receive(i, u.Payload)
			}
			if err != nil {
				res.dropped[u.Client] = fmt.Sprintf("secure aggregation, %v: %v", phase, err)
				se.logger().Warn("secure aggregation: client left out", "round", r, "client", u.Client, "phase", phase.String(), "err", err)
			}
			return nil
		}
		if err := se.deliver(ctx, cur, take); err != nil {
			return res, err
		}
		for _, t := range cur {
			if !answered[t.Client] && res.dropped[t.Client] == "" {
				res.dropped[t.Client] = fmt.Sprintf("secure aggregation, %v: no answer before the deadline", phase)
				se.logger().Warn("client missed the round", "round", r, "client", t.Client, "phase", phase.String())
			}
		}
		msgs, err := srv.Next()
		if err != nil {
			return res, shortError{fmt.Errorf("phase %v: %w", phase, err)}
		}
		cur = cur[:0]
		for _, i := range slices.Sorted(maps.Keys(msgs)) {
			cur = append(cur, Task{Client: tasks[i].Client, Round: r, Kind: SecAgg, Payload: msgs[i]})
		}
	}
	vec, who, err := srv.Sum()
	if err != nil {
		return res, err
	}
	res.sum, res.in = vec, who
	for _, i := range who {
		delete(res.dropped, tasks[i].Client) // dropped after sending its input: still in the sum
	}
	return res, nil
}

func (se session) logger() *slog.Logger {
	if se.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return se.log
}

// deliver runs one phase's tasks under the phase deadline, handing each
// answer to each, streaming when the fleet can; a deadline is not an
// error (late clients are simply missing), a cancelled ctx is.
func (se session) deliver(ctx context.Context, tasks []Task, each func(Update) error) error {
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if se.timeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, se.timeout)
	}
	defer cancel()
	if sf, ok := se.fleet.(StreamingFleet); ok {
		if err := sf.RunEach(rctx, tasks, each); err != nil {
			return err
		}
		return ctx.Err()
	}
	replies, err := se.fleet.Run(rctx, tasks)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, u := range replies {
		if err := each(u); err != nil {
			return err
		}
	}
	return nil
}

// ErrTooFewLeft is wrapped by the error of a secure sum that lost so
// many clients that it could not be rebuilt.
var ErrTooFewLeft = errors.New("too few clients left")

// FloatStep is what a client needs to take part in one of the two
// aggregations of SecureFloats: it answers with
// SecureClient.BeginFloats.
type FloatStep struct {
	// Params are the aggregation's public parameters (secagg.Params,
	// binary), and Party the client's number in it.
	Params []byte `json:"params"`
	Party  int    `json:"party"`
	// Blocks are the lengths of the blocks of the vector summed, which
	// the client checks against its own.
	Blocks []int `json:"blocks"`
	// Encoding is nil in the first aggregation, which sums each block's
	// binary exponent (secagg.Exponents); in the second it is the fixed
	// point the server derived from that sum (secagg.FloatEncoding), in
	// which the values are summed.
	Encoding *secagg.Encoding `json:"encoding,omitempty"`
}

// FloatSum is the result of SecureFloats.
type FloatSum struct {
	// Sum is the sum of the vectors of Clients.
	Sum     []float64
	Clients []string
	// Dropped maps each client asked whose vector is not in the sum to the
	// aggregation and phase it left in, and why.
	Dropped map[string]string
	// Encoding is the fixed point of the values: each value of block b of
	// Sum is within Bound(b) of the exact sum of the clients' values.
	Encoding secagg.Encoding
}

// Bound returns the largest difference between a value of block b of the
// sum and the exact sum of the clients' values: each client's value is
// rounded to the nearest multiple of the block's step, so
// len(Clients)·Step/2, with Step = 2^(E+⌈log₂ n⌉−62) for E the block's
// largest binary exponent and n the clients of the values' aggregation
// (secagg.FloatEncoding).
func (s FloatSum) Bound(b int) float64 {
	return float64(len(s.Clients)) * s.Encoding.Step(s.Encoding.Blocks[b]) / 2
}

// FloatSumConfig says how SecureFloats reaches the clients.
type FloatSumConfig struct {
	Fleet  Fleet
	Secure SecureAggregation
	// Timeout bounds each phase of each aggregation (0: none).
	Timeout time.Duration
	Log     *slog.Logger
	// Task returns client's first task of an aggregation: it must carry
	// step to the client, whose SecureClient answers with BeginFloats on
	// the vector the task asks for. Its kind and round are the answer's.
	Task func(client string, step FloatStep) (Task, error)
}

// SecureFloats returns the sum of the clients' real vectors (cut into
// blocks of the given lengths) by secure aggregation over a fleet: the
// server learns the sum and nothing else about any one vector but, per
// block, how many clients' largest magnitude falls in each power of two.
// It runs the two aggregations of secagg.SumFloats: the exponents, then
// the values among the clients whose exponents are in the first sum,
// in Z_{2^64} at the scale the exponents allow, so that no honest value is
// clipped and no sum overflows; with the same clients and vectors the
// result is SumFloats's to the bit. Clients that drop out of either
// aggregation (up to what its threshold allows) are left out of the sum
// and listed in Dropped; an error wrapping ErrTooFewLeft names the
// aggregation and the phase at which too few were left.
func SecureFloats(ctx context.Context, c FloatSumConfig, clients []string, blocks []int) (FloatSum, error) {
	se := session{fleet: c.Fleet, timeout: c.Timeout, log: c.Log}
	out := FloatSum{Dropped: map[string]string{}}
	start := func(names []string, bits, l int, enc *secagg.Encoding) (sessionResult, error) {
		p, err := c.Secure.params(len(names), bits, l)
		if err != nil {
			return sessionResult{}, err
		}
		pb, err := p.MarshalBinary()
		if err != nil {
			return sessionResult{}, err
		}
		tasks := make([]Task, len(names))
		for i, name := range names {
			if tasks[i], err = c.Task(name, FloatStep{Params: pb, Party: i, Blocks: blocks, Encoding: enc}); err != nil {
				return sessionResult{}, err
			}
			tasks[i].Client = name
		}
		return se.run(ctx, p, tasks)
	}
	pass := func(what string, names []string, bits, l int, enc *secagg.Encoding) (sessionResult, []string, error) {
		res, err := start(names, bits, l, enc)
		var short shortError
		if errors.As(err, &short) {
			return res, nil, fmt.Errorf("secure aggregation of the %s: %w: %w", what, ErrTooFewLeft, short.error)
		}
		if err != nil {
			return res, nil, fmt.Errorf("secure aggregation of the %s: %w", what, err)
		}
		for name, why := range res.dropped {
			out.Dropped[name] = fmt.Sprintf("%s: %s", what, why)
		}
		in := make([]string, len(res.in))
		for k, i := range res.in {
			in[k] = names[i]
		}
		return res, in, nil
	}
	hist, first, err := pass("exponents", clients, secagg.ExponentBits, secagg.ExponentLen(len(blocks)), nil)
	if err != nil {
		return out, err
	}
	enc, err := secagg.FloatEncoding(hist.sum, blocks, len(first))
	if err != nil {
		return out, fmt.Errorf("secure aggregation: %w", err)
	}
	vals, second, err := pass("values", first, secagg.FloatBits, enc.Len(), &enc)
	if err != nil {
		return out, err
	}
	if out.Sum, err = enc.Decode(vals.sum); err != nil {
		return out, err
	}
	out.Clients, out.Encoding = second, enc
	slices.Sort(out.Clients)
	return out, nil
}

// Begin starts client name's part in an aggregation of parameters p as
// party, with input v, and returns its first message; the SecAgg tasks
// that follow carry the protocol on.
func (c *SecureClient) Begin(name string, p secagg.Params, party int, v secagg.Vec) ([]byte, error) {
	rng := c.Rand
	if rng == nil {
		rng = crand.Reader
	}
	st, err := secagg.NewClient(p, party, v, rng)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", name, err)
	}
	msg, err := st.Start()
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", name, err)
	}
	c.put(name, st)
	return msg, nil
}

// BeginFloats starts client name's part in one of SecureFloats's
// aggregations for its vector x, and returns its first message. It
// refuses a step whose layout is not x's, and a fixed point that would
// clip one of x's values (the server announced a scale that does not
// hold them: the sum would be wrong).
func (c *SecureClient) BeginFloats(name string, step FloatStep, x []float64) ([]byte, error) {
	var p secagg.Params
	if err := p.UnmarshalBinary(step.Params); err != nil {
		return nil, fmt.Errorf("client %s: %w", name, err)
	}
	var v secagg.Vec
	var err error
	if step.Encoding == nil {
		if p.Bits != secagg.ExponentBits || p.Len != secagg.ExponentLen(len(step.Blocks)) {
			return nil, fmt.Errorf("client %s: an exponent aggregation of %d values in %d bits for %d blocks", name, p.Len, p.Bits, len(step.Blocks))
		}
		v, err = secagg.Exponents(x, step.Blocks)
	} else {
		enc := *step.Encoding
		if len(enc.Blocks) != len(step.Blocks) || p.Bits != enc.Bits || p.Len != enc.Len() {
			return nil, fmt.Errorf("client %s: the encoding does not fit the aggregation", name)
		}
		for b, bl := range enc.Blocks {
			if bl.Len != step.Blocks[b] {
				return nil, fmt.Errorf("client %s: block %d of the encoding holds %d values, the layout %d", name, b, bl.Len, step.Blocks[b])
			}
		}
		var clipped int
		v, clipped, err = enc.Encode(x)
		if err == nil && clipped > 0 {
			err = fmt.Errorf("%d values exceed the bounds the server announced", clipped)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", name, err)
	}
	return c.Begin(name, p, step.Party, v)
}
