// Package sim is an in-process Fleet: every client lives in this process
// and tasks run on a bounded pool of goroutines. Each client receives its
// own copy of the global weights, as it would over a wire, so clients
// share no memory, and results do not depend on the number of workers.
package sim

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"sort"
	"sync"

	"github.com/fdrmfl/fdrmfl/fed"
)

// Fleet runs clients in this process.
type Fleet struct {
	clients map[string]fed.Client
	names   []string
	// Workers is the number of tasks run at once (0: GOMAXPROCS).
	Workers int
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
	workers := f.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, t := range tasks {
		if _, ok := f.clients[t.Client]; !ok {
			return nil, fmt.Errorf("sim: no client named %q", t.Client)
		}
	}
	out := make([]fed.Update, len(tasks))
	done := make([]bool, len(tasks))
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t := tasks[i]
				t.Global = t.Global.Clone()
				u, err := f.clients[t.Client].Execute(ctx, t)
				if err != nil {
					u = fed.Update{Err: err}
				}
				u.Client, u.Round, u.Kind = t.Client, t.Round, cmpKind(u, t)
				if ctx.Err() == nil {
					out[i], done[i] = u, true
				}
			}
		}()
	}
feed:
	for i := range tasks {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	var ups []fed.Update
	for i, u := range out {
		if done[i] {
			ups = append(ups, u)
		}
	}
	return ups, nil
}

// cmpKind keeps the kind a client reported unless it reported a failure,
// which carries the task's kind.
func cmpKind(u fed.Update, t fed.Task) fed.Kind {
	if u.Err != nil {
		return t.Kind
	}
	return u.Kind
}

// RunEach executes the tasks, at most Workers at a time, and calls each
// with their updates in task order: an update waits only for the earlier
// tasks' updates, so few are held at once. When ctx is done, the updates
// already in are handed over (in order) and the rest are missing.
func (f *Fleet) RunEach(ctx context.Context, tasks []fed.Task, each func(fed.Update) error) error {
	workers := f.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	for _, t := range tasks {
		if _, ok := f.clients[t.Client]; !ok {
			return fmt.Errorf("sim: no client named %q", t.Client)
		}
	}
	var mu sync.Mutex
	order := fed.NewInOrder(len(tasks), each)
	jobs := make(chan int)
	var wg sync.WaitGroup
	for range min(workers, len(tasks)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				t := tasks[i]
				t.Global = t.Global.Clone()
				u, err := f.clients[t.Client].Execute(ctx, t)
				if err != nil {
					u = fed.Update{Err: err}
				}
				u.Client, u.Round, u.Kind = t.Client, t.Round, cmpKind(u, t)
				mu.Lock()
				if ctx.Err() == nil {
					order.Put(i, u)
				}
				mu.Unlock()
			}
		}()
	}
feed:
	for i := range tasks {
		select {
		case jobs <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(jobs)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	return order.Finish()
}
