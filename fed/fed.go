// Package fed is the federated-learning protocol without transport or
// model: the values that travel (Weights, Task, Update), the policy that
// decides who trains and how results merge (Strategy), the delivery of
// tasks to clients (Fleet), and the round loop between them (Server).
//
// The same Server runs a simulation, where a Fleet calls clients in the
// same process, and a deployment, where a Fleet talks to remote processes.
// Nothing here opens a file or a socket; time enters as a deadline.
package fed

import (
	"github.com/fdrmfl/fdrmfl/internal/vec"

	"context"
	"fmt"
	"maps"
	"math"
	"slices"
)

// Weights is a model as one flat vector (trained weights, then buffers).
type Weights []float32

// Clone returns a copy of w.
func (w Weights) Clone() Weights { return slices.Clone(w) }

// Kind says what a task asks of a client.
type Kind int

const (
	// Fit asks the client to train the global model on its data and send
	// back the new weights.
	Fit Kind = iota
	// Evaluate asks the client to measure the global model on its
	// validation data and send back statistics, not weights.
	Evaluate
	// Stats asks the client, before training starts, for sufficient
	// statistics of its data (for instance standardisation moments) in
	// Update.Payload; Task.Payload says what to compute.
	Stats
	// Setup hands the client, in Task.Payload, what it needs before its
	// first fit or evaluate task (the model, the pooled statistics).
	Setup
)

// String returns the kind's name: "fit", "evaluate", "stats" or "setup".
func (k Kind) String() string {
	switch k {
	case Fit:
		return "fit"
	case Evaluate:
		return "evaluate"
	case Stats:
		return "stats"
	case Setup:
		return "setup"
	case SecAgg:
		return "secagg"
	}
	return fmt.Sprintf("kind(%d)", int(k))
}

// Task is what one client is asked to do in a round.
type Task struct {
	Client string
	Round  int
	Kind   Kind
	Global Weights
	// Prox is FedProx's μ for this round (0: plain local training).
	Prox float64
	// KeepNormLocal asks the client to keep its own normalisation layers
	// instead of the global ones (FedBN).
	KeepNormLocal bool
	// Payload is the application's data of a Stats or Setup task, opaque
	// to the protocol.
	Payload []byte
}

// Update is a client's answer to a Task.
type Update struct {
	Client string
	Round  int
	Kind   Kind
	// Weights are the trained model (Fit only).
	Weights Weights
	// N is the number of samples behind the update: training samples for
	// Fit, evaluation samples for Evaluate.
	N int
	// Metrics are numbers the client reports (loss terms for Fit,
	// prediction statistics for Evaluate).
	Metrics map[string]float64
	// Payload is the application's answer to a Stats task, opaque to the
	// protocol.
	Payload []byte
	// Err is the client's failure; a failed update carries nothing else.
	Err error
}

// Client does the work of tasks. Implementations must be safe to call
// for different clients at once; one client gets one task at a time.
type Client interface {
	Execute(ctx context.Context, t Task) (Update, error)
}

// ClientFunc adapts a function to a Client.
type ClientFunc func(ctx context.Context, t Task) (Update, error)

// Execute calls f.
func (f ClientFunc) Execute(ctx context.Context, t Task) (Update, error) { return f(ctx, t) }

// Strategy decides who trains in a round and how their updates become the
// next global model. It does no I/O; the Server calls it from one goroutine.
type Strategy interface {
	// Configure picks the round's clients among those available (sorted by
	// name) and says what each should do.
	Configure(round int, global Weights, available []string) ([]Task, error)
	// Aggregate merges the accepted updates, sorted by client, into the
	// next global weights. It must not modify global or the updates.
	Aggregate(round int, global Weights, updates []Update) (Weights, error)
}

// Accumulator merges a round's accepted fit updates one at a time, in
// client order, so that they need not all be held at once.
type Accumulator interface {
	// Add merges u. It must not keep u.Weights: a fleet may reuse their
	// memory once Add has returned.
	Add(u Update) error
	// Result returns the next global model.
	Result() (Weights, error)
}

// StreamingStrategy is a Strategy that can merge updates as they come.
// Accumulate must give the same result as Aggregate on the same updates.
type StreamingStrategy interface {
	Strategy
	Accumulate(round int, global Weights) Accumulator
}

// StreamingFleet is a Fleet that hands over each update through a
// callback, in task order, as soon as it and every earlier task's update
// are in (or known to be missing), so that its caller holds few at a time.
// The callback must not keep u.Weights once it returns: the fleet may
// reuse their memory.
type StreamingFleet interface {
	Fleet
	RunEach(ctx context.Context, tasks []Task, each func(Update) error) error
}

// Fleet delivers tasks and brings back updates.
type Fleet interface {
	// Available lists the clients ready for work, sorted by name.
	Available(ctx context.Context) ([]string, error)
	// Run returns an Update for each task whose client answered before ctx
	// is done. A client's failure is in Update.Err; an error from Run
	// means the fleet itself is broken.
	Run(ctx context.Context, tasks []Task) ([]Update, error)
}

// CheckUpdate returns an error if a fit update cannot be merged into a
// model like global: wrong length, no samples, or values that are not
// finite. maxNorm > 0 also bounds ‖update − global‖₂.
func CheckUpdate(global Weights, u Update, maxNorm float64) error {
	if u.Kind != Fit {
		return nil
	}
	if len(u.Weights) != len(global) {
		return fmt.Errorf("update has %d values, the model has %d", len(u.Weights), len(global))
	}
	if u.N <= 0 {
		return fmt.Errorf("update reports %d training samples", u.N)
	}
	if i := vec.FirstNonFinite(u.Weights); i >= 0 {
		return fmt.Errorf("update value %d is %v", i, u.Weights[i])
	}
	if maxNorm > 0 {
		var s float64
		for i, v := range u.Weights {
			d := float64(v) - float64(global[i])
			s += d * d
		}
		if math.Sqrt(s) > maxNorm {
			return fmt.Errorf("update norm %.4g exceeds the bound %.4g", math.Sqrt(s), maxNorm)
		}
	}
	return nil
}

// WeightedMetrics returns the mean of each metric over updates, weighted
// by their N.
func WeightedMetrics(ups []Update) map[string]float64 {
	sum := map[string]float64{}
	var total float64
	for _, u := range ups {
		total += float64(u.N)
		for k, v := range u.Metrics {
			sum[k] += float64(u.N) * v
		}
	}
	if total == 0 {
		return sum
	}
	for _, k := range slices.Sorted(maps.Keys(sum)) {
		sum[k] /= total
	}
	return sum
}

// SumMetrics returns the sum of each metric over updates.
func SumMetrics(ups []Update) map[string]float64 {
	sum := map[string]float64{}
	for _, u := range ups {
		for k, v := range u.Metrics {
			sum[k] += v
		}
	}
	return sum
}

// InOrder hands a StreamingFleet's updates to its callback in task
// order: an update arriving early waits only for the earlier tasks'.
// It is not safe for concurrent use.
type InOrder struct {
	each  func(Update) error
	tasks int
	ready map[int]Update
	next  int // the first task not yet handed over
	err   error
}

// NewInOrder returns an InOrder for tasks tasks that calls each.
func NewInOrder(tasks int, each func(Update) error) *InOrder {
	return &InOrder{each: each, tasks: tasks, ready: map[int]Update{}}
}

// Put records the update of task i and hands over every update that is
// now next in line.
func (o *InOrder) Put(i int, u Update) {
	o.ready[i] = u
	o.flush(false)
}

// Finish hands over the updates still waiting, in order, skipping the
// tasks that never answered, and returns the first error of the
// callback (after which it was not called again).
func (o *InOrder) Finish() error {
	o.flush(true)
	return o.err
}

func (o *InOrder) flush(all bool) {
	for o.next < o.tasks && o.err == nil {
		u, ok := o.ready[o.next]
		if !ok {
			if !all {
				return
			}
			o.next++
			continue
		}
		delete(o.ready, o.next)
		o.next++
		o.err = o.each(u)
	}
}
