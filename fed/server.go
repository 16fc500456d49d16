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
	// (failure, invalid update, deadline).
	Rejected map[string]string
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
		rep = RoundReport{Round: r, Attempt: attempt, Rejected: map[string]string{}}
		for _, t := range tasks {
			rep.Selected = append(rep.Selected, t.Client)
		}
		// Updates are checked, then merged: one at a time when the fleet and
		// the strategy can stream (memory stays flat however many clients),
		// else all together.
		var acc Accumulator
		sf, streamFleet := s.Fleet.(StreamingFleet)
		ss, streamStrat := s.Strategy.(StreamingStrategy)
		if streamFleet && streamStrat {
			acc = ss.Accumulate(r, global)
		}
		var ok []Update
		var answered []string
		accept := func(u Update) error {
			answered = append(answered, u.Client)
			err := u.Err
			if err == nil && (u.Round != r || u.Kind != Fit) {
				err = fmt.Errorf("answered round %d (%v), not round %d (fit)", u.Round, u.Kind, r)
			}
			if err == nil {
				err = CheckUpdate(global, u, s.MaxUpdateNorm)
			}
			if err != nil {
				rep.Rejected[u.Client] = err.Error()
				s.log().Warn("update rejected", "round", r, "client", u.Client, "err", err)
				return nil
			}
			if acc != nil {
				if err := acc.Add(u); err != nil {
					return err
				}
				u.Weights = nil // merged: no need to keep it
			}
			ok = append(ok, u)
			return nil
		}
		if acc != nil {
			if err := s.deliverEach(ctx, sf, tasks, accept); err != nil {
				return nil, rep, err
			}
		} else {
			replies, err := s.deliver(ctx, tasks)
			if err != nil {
				return nil, rep, err
			}
			for _, u := range replies {
				accept(u)
			}
		}
		for _, c := range rep.Selected { // asked but never answered
			if !slices.Contains(answered, c) {
				rep.Rejected[c] = "no answer before the deadline"
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
