// Package sim is an in-process Fleet: every client lives in this process
// and tasks run on a bounded pool of goroutines. Each client receives its
// own copy of the global weights, as it would over a wire, so clients
// share no memory, and results do not depend on the number of workers.
package sim

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/internal/workpool"
)

// Fleet runs clients in this process.
type Fleet struct {
	clients map[string]fed.Client
	names   []string
	// Workers is the number of tasks run at once (0: GOMAXPROCS).
	Workers int
	// Done, if set, is called after each task of a Run or RunEach with
	// the task's round and kind and the number of that call's tasks
	// finished so far out of all of them: progress within a round. Calls
	// never overlap.
	Done func(round int, kind fed.Kind, done, total int)
}

// New returns a fleet of the named clients.
func New(clients map[string]fed.Client) *Fleet {
	names := make([]string, 0, len(clients))
	for n := range clients {
		names = append(names, n)
	}
	sort.Strings(names)
	return &Fleet{clients: clients, names: names}
}

// Available lists every client.
func (f *Fleet) Available(context.Context) ([]string, error) { return slices.Clone(f.names), nil }

// Run executes the tasks, at most Workers at a time, and returns the
// updates of the tasks that finished before ctx was done, in task order.
func (f *Fleet) Run(ctx context.Context, tasks []fed.Task) ([]fed.Update, error) {
	if err := f.check(tasks); err != nil {
		return nil, err
	}
	out := make([]fed.Update, len(tasks))
	done := make([]bool, len(tasks))
	tick := f.ticker(tasks)
	workpool.Run(ctx, len(tasks), f.Workers, func(i int) {
		u := f.execute(ctx, tasks[i])
		if ctx.Err() == nil {
			out[i], done[i] = u, true
		}
		tick()
	})
	var ups []fed.Update
	for i, u := range out {
		if done[i] {
			ups = append(ups, u)
		}
	}
	return ups, nil
}

// RunEach executes the tasks, at most Workers at a time, and calls each
// with their updates in task order: an update waits only for the earlier
// tasks' updates, so few are held at once. When ctx is done, the updates
// already in are handed over (in order) and the rest are missing.
func (f *Fleet) RunEach(ctx context.Context, tasks []fed.Task, each func(fed.Update) error) error {
	if err := f.check(tasks); err != nil {
		return err
	}
	var mu sync.Mutex
	order := fed.NewInOrder(len(tasks), each)
	tick := f.ticker(tasks)
	workpool.Run(ctx, len(tasks), f.Workers, func(i int) {
		u := f.execute(ctx, tasks[i])
		mu.Lock()
		if ctx.Err() == nil {
			order.Put(i, u)
		}
		mu.Unlock()
		tick()
	})
	mu.Lock()
	defer mu.Unlock()
	return order.Finish()
}

// ticker returns the function each finished task calls to report
// progress through Done (a no-op without Done).
func (f *Fleet) ticker(tasks []fed.Task) func() {
	if f.Done == nil || len(tasks) == 0 {
		return func() {}
	}
	var mu sync.Mutex
	n := 0
	return func() {
		mu.Lock()
		defer mu.Unlock()
		n++
		f.Done(tasks[0].Round, tasks[0].Kind, n, len(tasks))
	}
}

// check reports a task for a client the fleet does not have.
func (f *Fleet) check(tasks []fed.Task) error {
	for _, t := range tasks {
		if _, ok := f.clients[t.Client]; !ok {
			return fmt.Errorf("sim: no client named %q", t.Client)
		}
	}
	return nil
}

// execute runs one task on a copy of its global weights, as a client
// across a wire would receive them. A failure becomes the update's Err,
// with the task's kind.
func (f *Fleet) execute(ctx context.Context, t fed.Task) fed.Update {
	t.Global = t.Global.Clone()
	u, err := f.clients[t.Client].Execute(ctx, t)
	if err != nil {
		u = fed.Update{Err: err}
	}
	kind := u.Kind
	if u.Err != nil {
		kind = t.Kind
	}
	u.Client, u.Round, u.Kind = t.Client, t.Round, kind
	return u
}
