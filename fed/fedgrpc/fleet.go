// Package fedgrpc carries a federation over gRPC. On the server, Fleet is
// a fed.Fleet whose clients are remote processes, so fed.Server runs the
// same rounds with the same Strategy as a simulation; on a client, Runner
// dials out to the server, takes its tasks and runs them with a
// fed.Client. The protocol is fdrmfl.fed.v1 (fedpb/fed.proto): clients
// register, long-poll for instructions, download the global model and
// upload their results as chunked little-endian float32 tensors, and send
// heartbeats. Everything a client sends is checked before it reaches the
// round: tensor names and shapes against the Layout, finite values, the
// optional update-norm bound.
//
// The package opens no listener and reads no file: the caller owns
// sockets, certificates and signals.
package fedgrpc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/fdrmfl/fdrmfl/fed"
)

// Options configure a Fleet. The zero value of each field but Layout is
// its documented default.
type Options struct {
	// Layout is the model's tensors; every model on the wire must match
	// it. It may be left nil until SetSetup gives it.
	Layout Layout
	// Auth decides who may join. Nil lets clients name themselves, which is
	// only fit for tests and a trusted network.
	Auth *Auth
	// Heartbeat is the interval clients are asked to keep (0: 5 s). A
	// session silent for three intervals is dropped, and its task fails.
	Heartbeat time.Duration
	// MinClients is how many ready clients Available waits for (0: 1),
	// for at most JoinTimeout (0: until its context is done). Beyond that
	// it also waits for clients that are connected but still running
	// their setup, never for clients that are not connected.
	MinClients  int
	JoinTimeout time.Duration
	// MaxUpdateNorm rejects fit results farther than this from the global
	// model in L2 norm (0: no bound).
	MaxUpdateNorm float64
	// ChunkBytes bounds model chunks on the wire (0: DefaultChunkBytes).
	ChunkBytes int
	// MaxPayload bounds the application payload of a result (0: 16 MiB).
	MaxPayload int
	// Log receives one line per event (nil: discard).
	Log *slog.Logger
	// Metrics, if set, are kept up to date.
	Metrics *Metrics
	// Limits bound what callers can make the server hold (see Limits;
	// the zero value: the defaults).
	Limits Limits
}

// finalTask names the download of the final model.
const finalTask = "final"

// Fleet is a fed.Fleet of remote clients. Create it with NewFleet and
// serve it with NewServer. Its methods are safe for concurrent use.
type Fleet struct {
	opt Options

	mu       sync.Mutex
	changed  chan struct{}       // closed and replaced on every change
	sessions map[string]*session // by client name
	byID     map[string]*session
	open     map[string]*task  // by client name: the task it owes
	closed   map[string]string // task id → why it closed, for late callers
	order    []string          // closed task ids, oldest first
	setup    func(client string) ([]byte, error)
	setupGen int
	final    []byte // the encoded final model, once Finish is called
	closing  bool
	seq      int

	spare sync.Pool // of *fed.Weights: vectors of merged updates, for uploads
	guard *guard    // admits calls in the transport
}

type session struct {
	id, client string
	seen       time.Time
	ready      bool   // ran the current setup (or none is needed)
	setupTask  string // the setup task handed out and not yet answered
	setupErr   string
	refused    string // the server has no setup for this client: the reason it is told
	finalDone  bool   // downloaded the final model
}

type task struct {
	id     string
	t      fed.Task
	index  int    // in its Run's tasks
	model  []byte // the encoded global model (nil: none)
	answer chan<- answer
}

// NewFleet returns a fleet for a model of the given layout.
func NewFleet(opt Options) *Fleet {
	if opt.Heartbeat <= 0 {
		opt.Heartbeat = 5 * time.Second
	}
	if opt.ChunkBytes <= 0 {
		opt.ChunkBytes = DefaultChunkBytes
	}
	opt.ChunkBytes -= opt.ChunkBytes % 4
	if opt.MaxPayload <= 0 {
		opt.MaxPayload = 16 << 20
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	return &Fleet{
		opt: opt, changed: make(chan struct{}),
		sessions: map[string]*session{}, byID: map[string]*session{},
		open: map[string]*task{}, closed: map[string]string{},
		guard: newGuard(opt.Auth, opt.Limits, opt.Log, opt.Metrics),
	}
}

// broadcastLocked wakes everyone waiting for a change.
func (f *Fleet) broadcastLocked() {
	close(f.changed)
	f.changed = make(chan struct{})
}

// timeout is how long a session may stay silent.
func (f *Fleet) timeout() time.Duration { return 3 * f.opt.Heartbeat }

// SetSetup fixes the model's layout and makes every client run a Setup
// task, whose payload fn returns for it, before any other work, once per
// session; until it has, the client is not Available. A client for which
// fn returns an error is refused: its next Pull fails with the error. fn runs with the
// fleet locked: it must be quick and must not call the fleet.
func (f *Fleet) SetSetup(layout Layout, fn func(client string) ([]byte, error)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opt.Layout = layout
	f.setup = fn
	f.setupGen++
	for _, s := range f.sessions {
		s.ready, s.setupTask, s.setupErr, s.refused = false, "", "", ""
	}
	f.broadcastLocked()
}

// readyLocked lists the clients with a live session that have run the
// setup, sorted.
func (f *Fleet) readyLocked() []string {
	var names []string
	for name, s := range f.sessions {
		if s.ready {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// Connected returns the number of clients with a live session.
func (f *Fleet) Connected() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.sessions)
}

// Available lists the ready clients, sorted by name, once at least
// MinClients are ready and none is in the middle of its setup, or once
// JoinTimeout has passed.
func (f *Fleet) Available(ctx context.Context) ([]string, error) {
	return f.wait(ctx, max(f.opt.MinClients, 1), f.opt.JoinTimeout)
}

// Wait lists the ready clients, sorted by name, once at least n are
// ready and none is in the middle of its setup, or once timeout has
// passed (0: no limit). A server uses it to wait for every client before
// the first round.
func (f *Fleet) Wait(ctx context.Context, n int, timeout time.Duration) ([]string, error) {
	return f.wait(ctx, n, timeout)
}

func (f *Fleet) wait(ctx context.Context, need int, timeout time.Duration) ([]string, error) {
	var give <-chan time.Time
	if timeout > 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		give = t.C
	}
	tick := time.NewTicker(f.opt.Heartbeat / 2)
	defer tick.Stop()
	logged := false
	for {
		f.expire()
		f.mu.Lock()
		names, ch := f.readyLocked(), f.changed
		settling := 0
		for _, s := range f.sessions {
			if !s.ready && s.setupErr == "" {
				settling++
			}
		}
		f.mu.Unlock()
		if len(names) >= need && settling == 0 {
			return names, nil
		}
		if !logged {
			f.opt.Log.Info("waiting for clients", "ready", len(names), "need", need, "in_setup", settling)
			logged = true
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-give:
			f.opt.Log.Warn("clients did not join in time", "ready", len(names), "need", need, "waited", timeout)
			return names, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Run hands each task to its client and returns the answers that came
// before ctx was done. A client that is not connected, drops out or
// sends an invalid result answers with an error. Tasks still open when
// ctx is done are closed: their late results are refused.
func (f *Fleet) Run(ctx context.Context, tasks []fed.Task) ([]fed.Update, error) {
	ups := make([]fed.Update, 0, len(tasks))
	err := f.run(ctx, tasks, func(_ int, u fed.Update) { ups = append(ups, u) })
	return ups, err
}

// RunEach is Run that hands each answer to each, in task order, as soon
// as it and every earlier task's answer are in (a task closed unanswered
// is skipped), so that fed.Server merges the updates one at a time and
// holds few. Once each returns, the memory of the update's weights is
// reused for later uploads: each must not keep them.
func (f *Fleet) RunEach(ctx context.Context, tasks []fed.Task, each func(fed.Update) error) error {
	order := fed.NewInOrder(len(tasks), func(u fed.Update) error {
		err := each(u)
		f.reuse(u.Weights)
		return err
	})
	if err := f.run(ctx, tasks, order.Put); err != nil {
		return err
	}
	return order.Finish()
}

// run hands out the tasks and calls got, from its own goroutine, with
// each task's index and answer as they come in, until every task is
// answered or ctx is done.
func (f *Fleet) run(ctx context.Context, tasks []fed.Task, got func(i int, u fed.Update)) error {
	if ctx.Err() != nil { // hand out nothing that could not be answered
		return nil
	}
	start := time.Now()
	answers := make(chan answer, len(tasks))
	encoded := map[*float32][]byte{}
	f.mu.Lock()
	mine := make([]*task, 0, len(tasks))
	for i, t := range tasks {
		tk := &task{id: f.taskID(t), t: t, index: i, answer: answers}
		if len(t.Global) > 0 && (t.Kind == fed.Fit || t.Kind == fed.Evaluate) {
			b, ok := encoded[&t.Global[0]]
			if !ok {
				if len(t.Global) != f.opt.Layout.Values() {
					f.mu.Unlock()
					return fmt.Errorf("fedgrpc: the global model has %d values, the layout %d", len(t.Global), f.opt.Layout.Values())
				}
				b = encode(t.Global)
				encoded[&t.Global[0]] = b
			}
			tk.model = b
		}
		if old := f.open[t.Client]; old != nil {
			f.answerLocked(old, fed.Update{Client: t.Client, Round: old.t.Round, Kind: old.t.Kind, Err: errors.New("replaced by a newer task")})
		}
		f.open[t.Client] = tk
		mine = append(mine, tk)
		if f.sessions[t.Client] == nil {
			f.answerLocked(tk, fed.Update{Client: t.Client, Round: t.Round, Kind: t.Kind, Err: fmt.Errorf("client %s is not connected", t.Client)})
			f.opt.Metrics.update("lost")
		}
	}
	f.broadcastLocked()
	f.mu.Unlock()
	if m := f.opt.Metrics; m != nil && len(tasks) > 0 {
		m.Round.Set(float64(tasks[0].Round))
	}

	n := 0
	tick := time.NewTicker(f.opt.Heartbeat / 2)
	defer tick.Stop()
wait:
	for n < len(mine) {
		select {
		case a := <-answers:
			got(a.index, a.u)
			n++
		case <-tick.C:
			f.expire()
		case <-ctx.Done():
			break wait
		}
	}
	why := "the round's deadline passed"
	if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
		why = "the round was cancelled"
	}
	f.mu.Lock()
	for _, tk := range mine {
		if f.open[tk.t.Client] == tk {
			delete(f.open, tk.t.Client)
			f.rememberLocked(tk.id, why)
			f.opt.Log.Warn("task closed unanswered", "client", tk.t.Client, "round", tk.t.Round, "task", tk.t.Kind, "reason", why)
		}
	}
	f.broadcastLocked()
	f.mu.Unlock()
	for n < len(mine) { // answers that came in before the close
		select {
		case a := <-answers:
			got(a.index, a.u)
			n++
			continue
		default:
		}
		break
	}
	if m := f.opt.Metrics; m != nil && len(tasks) > 0 {
		m.PhaseDuration.WithLabelValues(tasks[0].Kind.String()).Observe(time.Since(start).Seconds())
	}
	return nil
}

// answer is a task's answer, with the task's index in its Run.
type answer struct {
	index int
	u     fed.Update
}

// weights returns a vector of n values for an upload to fill: one whose
// update was merged, if there is one, else a new one. Reused vectors spare
// the server a page fault for every 4 KiB of every update (on loopback,
// 0.05 s of a 100-client round of 1 M parameters).
func (f *Fleet) weights(n int) fed.Weights {
	if p, ok := f.spare.Get().(*fed.Weights); ok && len(*p) == n {
		return *p
	}
	return make(fed.Weights, n)
}

// reuse keeps w, an update's vector that nothing refers to any more, for
// a later upload. The pool lets the garbage collector take what stays
// unused.
func (f *Fleet) reuse(w fed.Weights) {
	if len(w) > 0 {
		f.spare.Put(&w)
	}
}

// taskID returns a new task id, readable in logs.
func (f *Fleet) taskID(t fed.Task) string {
	f.seq++
	return fmt.Sprintf("r%d-%s-%d-%s", t.Round, t.Kind, f.seq, randomID(4))
}

// answerLocked delivers u for tk if tk is still open, and closes it.
func (f *Fleet) answerLocked(tk *task, u fed.Update) bool {
	if f.open[tk.t.Client] != tk {
		return false
	}
	delete(f.open, tk.t.Client)
	f.rememberLocked(tk.id, "it was already answered")
	tk.answer <- answer{tk.index, u} // buffered for every task of its Run
	return true
}

// rememberLocked keeps why a task closed, for the last 4096 tasks.
func (f *Fleet) rememberLocked(id, why string) {
	f.closed[id] = why
	f.order = append(f.order, id)
	if len(f.order) > 4096 {
		delete(f.closed, f.order[0])
		f.order = f.order[1:]
	}
}

// expire drops sessions silent for too long and fails their tasks.
func (f *Fleet) expire() {
	now := time.Now()
	f.mu.Lock()
	defer f.mu.Unlock()
	changed := false
	for name, s := range f.sessions {
		if now.Sub(s.seen) <= f.timeout() {
			continue
		}
		silent := now.Sub(s.seen).Round(time.Millisecond)
		delete(f.sessions, name)
		delete(f.byID, s.id)
		changed = true
		f.opt.Log.Warn("client lost", "client", name, "silent", silent)
		if tk := f.open[name]; tk != nil {
			f.answerLocked(tk, fed.Update{Client: name, Round: tk.t.Round, Kind: tk.t.Kind, Err: fmt.Errorf("client %s lost: no heartbeat for %v", name, silent)})
			f.opt.Metrics.update("lost")
		}
	}
	if changed {
		f.opt.Metrics.clients(len(f.sessions))
		f.broadcastLocked()
	}
}

// Finish ends the federation: from now on every client's next
// instruction is DONE with the final model. It returns once every client
// with a live session has downloaded that model (or dropped out), or
// when ctx is done.
func (f *Fleet) Finish(ctx context.Context, final fed.Weights) error {
	f.mu.Lock()
	if len(final) != f.opt.Layout.Values() {
		f.mu.Unlock()
		return fmt.Errorf("fedgrpc: the final model has %d values, the layout %d", len(final), f.opt.Layout.Values())
	}
	f.final = encode(final)
	f.broadcastLocked()
	f.mu.Unlock()
	tick := time.NewTicker(f.opt.Heartbeat / 2)
	defer tick.Stop()
	for {
		f.expire()
		f.mu.Lock()
		left, ch := 0, f.changed
		for _, s := range f.sessions {
			if !s.finalDone {
				left++
			}
		}
		f.mu.Unlock()
		if left == 0 {
			return nil
		}
		select {
		case <-ch:
		case <-tick.C:
		case <-ctx.Done():
			return fmt.Errorf("fedgrpc: %d clients did not fetch the final model: %w", left, ctx.Err())
		}
	}
}

// Close ends the long polls in progress and refuses new ones, so that a
// server can stop gracefully without waiting for them; clients see
// codes.Unavailable and retry.
func (f *Fleet) Close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closing = true
	f.broadcastLocked()
}

func randomID(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
