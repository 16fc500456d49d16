package fed

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// Server runs federated rounds: Strategy is the policy, Fleet the
// delivery, and Server the part in between — deadlines, validation of
// what clients send, the quorum, checkpoints and progress reports.
type Server struct {
	Strategy Strategy
	Fleet    Fleet
	// Quorum is the fewest accepted fit updates that make a round (0: 1).
	// A round below quorum is tried again, up to Retries times.
	Quorum  int
	Retries int
	// RoundTimeout bounds the fit phase and, separately, the evaluation
	// phase of a round (0: no deadline). Clients that miss it are left out
	// of the round.
	RoundTimeout time.Duration
	// MaxUpdateNorm rejects fit updates farther than this from the global
	// model in L2 norm (0: no bound).
	MaxUpdateNorm float64
	// NormBound is the adaptive norm bound k (0: none): a fit update whose
	// distance from the global model, ‖w_k − w‖₂ (without the spans a
	// KeepsLocal strategy leaves to the clients), is more than k times the
	// lower median m of the distances of the round's valid updates, or
	// less than m/10, is rejected as an outlier. Fewer than half of the
	// clients cannot move the median outside the range of the honest
	// distances, so a scaled update cannot move the model more than k
	// honest steps, and a model sent back all but unchanged (to stall
	// training) does not dilute the others. The bound needs at least
	// three valid updates in the round.
	//
	// A round whose fleet and strategy stream (fed.StreamingFleet and
	// fed.StreamingStrategy) holds up to Window updates (0: 32) and judges
	// each against the median of every distance seen so far in the round,
	// so that memory stays bounded however many clients there are: with
	// at most Window clients the bound is exactly the round's; with more,
	// it is the median of at least Window+1 of them. A round that does not
	// stream holds every update anyway and uses the round's median.
	NormBound float64
	Window    int
	// Direction is the direction check ρ (0: none): a fit update whose
	// cosine with the round's coordinate-wise median update is below ρ
	// times the lower median of the round's cosines is rejected as an
	// outlier. Honest updates of one task share a direction; one that
	// points elsewhere — a flipped sign, noise — does not. The reference
	// is the median of the round's first Window updates when the round
	// streams (all of them when there are fewer), of all of them when it
	// does not; the check needs at least three valid updates.
	Direction float64
	// DirectionMin is the fewest valid updates a round needs for the
	// direction check (below 3: 3): in a smaller round the coordinate-wise
	// median is too close to each update to say where the others point,
	// and honest updates of a few non-IID clients can oppose each other.
	// A streaming round needs at most Window+1 of them.
	DirectionMin int
	// Samples, if set, returns the most samples client may report: the
	// training-set size it declared before training. A fit update claiming
	// more counts with that many (a client that inflates its count cannot
	// outweigh the others); 0 leaves the count alone.
	Samples func(client string) int
	// Evaluate asks every available client, after each round, to evaluate
	// the new global model.
	Evaluate bool
	// Checkpoint, if set, is called after every round with the state from
	// which the federation can resume; an error stops the run.
	Checkpoint func(ctx context.Context, c Checkpoint) error
	// Progress, if set, is called after every round.
	Progress func(RoundReport)
	// Log receives warnings about rejected updates (nil: discard).
	Log *slog.Logger
	// Secure, if set, merges fit updates under secure aggregation
	// (secure.go): the Strategy must be a SumStrategy.
	Secure *SecureAggregation
}

// Checkpoint is the state after a completed round.
type Checkpoint struct {
	Round  int
	Global Weights
	Report RoundReport
}

// RoundReport says what happened in a round.
type RoundReport struct {
	Round    int
	Attempt  int      // 1 unless the round was retried for lack of a quorum
	Selected []string // clients asked to train
	Accepted []string // clients whose updates were merged
	// Rejected maps a client to the reason its update was not merged
	// (failure, invalid update, outlier, deadline), and Causes to the kind
	// of reason: CauseFailed, CauseInvalid, CauseOutlier or CauseMissing.
	Rejected map[string]string
	Causes   map[string]string
	// Train holds the accepted updates' metrics, weighted by sample count.
	Train map[string]float64
	// Eval holds the evaluation statistics summed over the evaluating
	// clients, and EvalClients their number.
	Eval        map[string]float64
	EvalClients int
}

// ErrNoQuorum is wrapped by the error of a round that never reached its quorum.
var ErrNoQuorum = errors.New("quorum not reached")

// Run runs rounds first..last starting from global and returns the final
// global model. To resume from a checkpoint of round r, pass its Global
// and first = r+1.
func (s *Server) Run(ctx context.Context, global Weights, first, last int) (Weights, error) {
	for r := first; r <= last; r++ {
		next, rep, err := s.round(ctx, r, global)
		if err != nil {
			return global, fmt.Errorf("fed: round %d: %w", r, err)
		}
		global = next
		if s.Evaluate {
			if err := s.evaluate(ctx, r, global, &rep); err != nil {
				return global, fmt.Errorf("fed: round %d: evaluation: %w", r, err)
			}
		}
		if s.Checkpoint != nil {
			if err := s.Checkpoint(ctx, Checkpoint{Round: r, Global: global, Report: rep}); err != nil {
				return global, fmt.Errorf("fed: round %d: checkpoint: %w", r, err)
			}
		}
		if s.Progress != nil {
			s.Progress(rep)
		}
	}
	return global, nil
}

func (s *Server) log() *slog.Logger {
	if s.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return s.Log
}

// round runs the fit phase of round r, retrying below quorum.
func (s *Server) round(ctx context.Context, r int, global Weights) (Weights, RoundReport, error) {
	if s.Secure != nil {
		return s.secureRound(ctx, r, global)
	}
	quorum := max(s.Quorum, 1)
	var rep RoundReport
	for attempt := 1; attempt <= s.Retries+1; attempt++ {
		ids, err := s.Fleet.Available(ctx)
		if err != nil {
			return nil, rep, err
		}
		tasks, err := s.Strategy.Configure(r, global, ids)
		if err != nil {
			return nil, rep, err
		}
		rep = RoundReport{Round: r, Attempt: attempt, Rejected: map[string]string{}, Causes: map[string]string{}}
		for _, t := range tasks {
			rep.Selected = append(rep.Selected, t.Client)
		}
		reject := func(c, cause string, err error) {
			rep.Rejected[c], rep.Causes[c] = err.Error(), cause
			s.log().Warn("update rejected", "round", r, "client", c, "cause", cause, "err", err)
		}
		// Updates are checked, then merged: one at a time when the fleet and
		// the strategy can stream (memory stays flat however many clients),
		// else all together.
		var acc Accumulator
		sf, streamFleet := s.Fleet.(StreamingFleet)
		ss, streamStrat := s.Strategy.(StreamingStrategy)
		stream := streamFleet && streamStrat
		if stream {
			acc = ss.Accumulate(r, global)
		}
		var ok []Update
		var answered []string
		merge := func(u Update) error {
			if acc != nil {
				if err := acc.Add(u); err != nil {
					return err
				}
				u.Weights = nil // merged: no need to keep it
			}
			ok = append(ok, u)
			return nil
		}
		var skip []Span
		if kl, isLocal := s.Strategy.(KeepsLocal); isLocal {
			skip = kl.LocalSpans()
		}
		var jd *judge
		if s.NormBound > 0 || s.Direction > 0 {
			jd = &judge{k: s.NormBound, rho: s.Direction, minDir: s.DirectionMin, copy: stream, global: global, skip: skip, accept: merge,
				reject: func(u Update, err error) { reject(u.Client, CauseOutlier, err) }}
			if stream {
				jd.window = cmp.Or(s.Window, defaultWindow)
			}
		}
		accept := func(u Update) error {
			answered = append(answered, u.Client)
			if u.Err != nil {
				reject(u.Client, CauseFailed, u.Err)
				return nil
			}
			var err error
			if u.Round != r || u.Kind != Fit {
				err = fmt.Errorf("answered round %d (%v), not round %d (fit)", u.Round, u.Kind, r)
			}
			if err == nil {
				err = CheckUpdate(global, u, s.MaxUpdateNorm)
			}
			if err != nil {
				reject(u.Client, CauseInvalid, err)
				return nil
			}
			if s.Samples != nil {
				if most := s.Samples(u.Client); most > 0 && u.N > most {
					s.log().Warn("sample count capped at the declared training-set size", "round", r, "client", u.Client, "reported", u.N, "declared", most)
					u.N = most
				}
			}
			if jd != nil {
				return jd.push(u, Distance(global, u.Weights, skip))
			}
			return merge(u)
		}
		if stream {
			if err := s.deliverEach(ctx, sf, tasks, accept); err != nil {
				return nil, rep, err
			}
		} else {
			replies, err := s.deliver(ctx, tasks)
			if err != nil {
				return nil, rep, err
			}
			for _, u := range replies {
				if err := accept(u); err != nil {
					return nil, rep, err
				}
			}
		}
		if jd != nil {
			if err := jd.finish(); err != nil {
				return nil, rep, err
			}
		}
		for _, c := range rep.Selected { // asked but never answered
			if !slices.Contains(answered, c) {
				rep.Rejected[c], rep.Causes[c] = "no answer before the deadline", CauseMissing
				s.log().Warn("client missed the round", "round", r, "client", c)
			}
		}
		slices.SortFunc(ok, func(a, b Update) int { return strings.Compare(a.Client, b.Client) })
		for _, u := range ok {
			rep.Accepted = append(rep.Accepted, u.Client)
		}
		if len(ok) < quorum {
			s.log().Warn("round below quorum", "round", r, "attempt", attempt, "accepted", len(ok), "quorum", quorum)
			if err := ctx.Err(); err != nil {
				return nil, rep, err
			}
			continue
		}
		rep.Train = WeightedMetrics(ok)
		if acc != nil {
			next, err := acc.Result()
			return next, rep, err
		}
		next, err := s.Strategy.Aggregate(r, global, ok)
		return next, rep, err
	}
	return nil, rep, fmt.Errorf("%w: %d accepted, %d needed, after %d attempts", ErrNoQuorum, len(rep.Accepted), quorum, s.Retries+1)
}

// deliver runs tasks under the round deadline; a deadline is not an error
// (late clients are simply missing), a cancelled ctx is.
func (s *Server) deliver(ctx context.Context, tasks []Task) ([]Update, error) {
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if s.RoundTimeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, s.RoundTimeout)
	}
	defer cancel()
	replies, err := s.Fleet.Run(rctx, tasks)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return replies, nil
}

// deliverEach is deliver for a streaming fleet.
func (s *Server) deliverEach(ctx context.Context, f StreamingFleet, tasks []Task, each func(Update) error) error {
	rctx, cancel := ctx, context.CancelFunc(func() {})
	if s.RoundTimeout > 0 {
		rctx, cancel = context.WithTimeout(ctx, s.RoundTimeout)
	}
	defer cancel()
	if err := f.RunEach(rctx, tasks, each); err != nil {
		return err
	}
	return ctx.Err()
}

// evaluate asks every available client to evaluate global and sums their
// statistics into rep.
func (s *Server) evaluate(ctx context.Context, r int, global Weights, rep *RoundReport) error {
	ids, err := s.Fleet.Available(ctx)
	if err != nil {
		return err
	}
	tasks := make([]Task, len(ids))
	for i, id := range ids {
		tasks[i] = Task{Client: id, Round: r, Kind: Evaluate, Global: global}
	}
	replies, err := s.deliver(ctx, tasks)
	if err != nil {
		return err
	}
	var ok []Update
	for _, u := range replies {
		if u.Err != nil || u.Kind != Evaluate || u.Round != r {
			s.log().Warn("evaluation failed", "round", r, "client", u.Client, "err", cmp.Or(u.Err, errors.New("wrong answer kind or round")))
			continue
		}
		ok = append(ok, u)
	}
	rep.Eval = SumMetrics(ok)
	rep.EvalClients = len(ok)
	return nil
}
