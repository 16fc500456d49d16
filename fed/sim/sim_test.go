package sim

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
)

// scaler answers a fit task with the global weights times its factor,
// after scribbling over the copy it was given (which must not reach any
// other client).
type scaler float32

func (s scaler) Execute(_ context.Context, t fed.Task) (fed.Update, error) {
	w := make(fed.Weights, len(t.Global))
	for i, v := range t.Global {
		w[i] = v * float32(s)
		t.Global[i] = -1
	}
	return fed.Update{Kind: fed.Fit, Weights: w, N: 1}, nil
}

func fleet(n int) (*Fleet, []fed.Task) {
	clients := map[string]fed.Client{}
	var tasks []fed.Task
	global := fed.Weights{1, 2}
	for i := range n {
		name := fmt.Sprintf("c%02d", i)
		clients[name] = scaler(i)
		tasks = append(tasks, fed.Task{Client: name, Round: 4, Kind: fed.Fit, Global: global})
	}
	return New(clients), tasks
}

// TestRunGivesEveryClientItsOwnCopy runs tasks on 1 to 8 workers: the
// updates come back in task order, identical whatever the number of
// workers, each computed from an untouched copy of the global model.
func TestRunGivesEveryClientItsOwnCopy(t *testing.T) {
	var first []fed.Update
	for _, workers := range []int{1, 3, 8, 0} {
		f, tasks := fleet(12)
		f.Workers = workers
		ups, err := f.Run(context.Background(), tasks)
		if err != nil {
			t.Fatal(err)
		}
		if len(ups) != 12 {
			t.Fatalf("%d workers: %d updates", workers, len(ups))
		}
		for i, u := range ups {
			want := fed.Weights{float32(i), 2 * float32(i)}
			if u.Client != tasks[i].Client || u.Round != 4 || !slices.Equal(u.Weights, want) {
				t.Fatalf("%d workers: update %d is %+v, want %s's %v", workers, i, u, tasks[i].Client, want)
			}
		}
		if !slices.Equal(tasks[0].Global, fed.Weights{1, 2}) {
			t.Fatal("a client changed the caller's global model")
		}
		if first == nil {
			first = ups
		}
		for i := range ups {
			if !slices.Equal(ups[i].Weights, first[i].Weights) {
				t.Fatalf("%d workers differ from 1 worker at update %d", workers, i)
			}
		}
	}
}

// TestRunEachHandsOverInOrder checks that RunEach calls back in task
// order, never concurrently, with the same updates as Run.
func TestRunEachHandsOverInOrder(t *testing.T) {
	f, tasks := fleet(9)
	f.Workers = 4
	want, err := f.Run(context.Background(), tasks)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var got []fed.Update
	err = f.RunEach(context.Background(), tasks, func(u fed.Update) error {
		if !mu.TryLock() {
			t.Error("callback called concurrently")
			return nil
		}
		defer mu.Unlock()
		got = append(got, u)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("%d updates handed over, want %d", len(got), len(want))
	}
	for i := range got {
		if got[i].Client != want[i].Client || !slices.Equal(got[i].Weights, want[i].Weights) {
			t.Fatalf("update %d: %+v, want %+v", i, got[i], want[i])
		}
	}
	stop := errors.New("stop")
	n := 0
	if err := f.RunEach(context.Background(), tasks, func(fed.Update) error { n++; return stop }); !errors.Is(err, stop) || n != 1 {
		t.Fatalf("callback error: %v after %d calls, want stop after 1", err, n)
	}
}

// TestFailuresAreUpdates checks that a client's error comes back as the
// update's Err with the task's kind, and that a task for an unknown
// client fails the call.
func TestFailuresAreUpdates(t *testing.T) {
	boom := errors.New("disk full")
	f := New(map[string]fed.Client{
		"ok":  scaler(1),
		"bad": fed.ClientFunc(func(context.Context, fed.Task) (fed.Update, error) { return fed.Update{}, boom }),
	})
	ups, err := f.Run(context.Background(), []fed.Task{{Client: "bad", Round: 2, Kind: fed.Evaluate}, {Client: "ok", Round: 2, Kind: fed.Fit, Global: fed.Weights{1}}})
	if err != nil {
		t.Fatal(err)
	}
	if u := ups[0]; !errors.Is(u.Err, boom) || u.Client != "bad" || u.Round != 2 || u.Kind != fed.Evaluate {
		t.Fatalf("failed update %+v", u)
	}
	if u := ups[1]; u.Err != nil || u.Kind != fed.Fit {
		t.Fatalf("good update %+v", u)
	}
	if _, err := f.Run(context.Background(), []fed.Task{{Client: "nobody"}}); err == nil {
		t.Fatal("a task for an unknown client ran")
	}
	if err := f.RunEach(context.Background(), []fed.Task{{Client: "nobody"}}, func(fed.Update) error { return nil }); err == nil {
		t.Fatal("RunEach ran a task for an unknown client")
	}
	if names, _ := f.Available(context.Background()); !slices.Equal(names, []string{"bad", "ok"}) {
		t.Fatalf("available %v", names)
	}
}

// TestCancelledRunReturnsWhatFinished cancels the context from inside the
// first task on one worker: the tasks after it are missing, not waited for.
func TestCancelledRunReturnsWhatFinished(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := New(map[string]fed.Client{
		"a": fed.ClientFunc(func(context.Context, fed.Task) (fed.Update, error) {
			cancel()
			return fed.Update{Kind: fed.Fit}, nil
		}),
		"b": scaler(1), "c": scaler(1),
	})
	f.Workers = 1
	ups, err := f.Run(ctx, []fed.Task{{Client: "a"}, {Client: "b"}, {Client: "c"}})
	if err != nil {
		t.Fatal(err)
	}
	if len(ups) != 0 {
		t.Fatalf("%d updates after cancellation, want none", len(ups))
	}
}

// TestDoneCountsTasks checks the progress callback: one call per task,
// counting up to the number of tasks, never two at once.
func TestDoneCountsTasks(t *testing.T) {
	f, tasks := fleet(7)
	f.Workers = 3
	var mu sync.Mutex
	var seen []int
	f.Done = func(round int, kind fed.Kind, done, total int) {
		if !mu.TryLock() {
			t.Error("Done called concurrently")
			return
		}
		defer mu.Unlock()
		if round != 4 || kind != fed.Fit || total != 7 {
			t.Errorf("Done(%d, %v, %d, %d)", round, kind, done, total)
		}
		seen = append(seen, done)
	}
	if _, err := f.Run(context.Background(), tasks); err != nil {
		t.Fatal(err)
	}
	if err := f.RunEach(context.Background(), tasks, func(fed.Update) error { return nil }); err != nil {
		t.Fatal(err)
	}
	want := []int{1, 2, 3, 4, 5, 6, 7, 1, 2, 3, 4, 5, 6, 7}
	if !slices.Equal(seen, want) {
		t.Fatalf("progress %v, want %v", seen, want)
	}
}
