package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/fdrmfl/fdrmfl/internal/bench"
)

func runBench(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || args[0] != "engine" {
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
			fmt.Fprintln(e.stderr, "Usage: fdrmfl bench engine [--json] [--task name,...]")
			return errHelp
		}
		return fmt.Errorf("want \"bench engine\"")
	}
	fs := newFlags(e, "bench engine", "[--json] [--task name,...]", `
Times the engine on the benchmark tasks of shared/bench (mlp, conv1d, conv2d,
lstm, fdrmfl): the median wall time of one training epoch over 5 epochs after
a warm-up, on one thread, with the same models, data shapes, batch sizes and
Adam as the PyTorch reference script torch_bench.py. Run both in one session
and compare the ratio; absolute times move with the machine's load.`)
	asJSON := fs.Bool("json", false, "print a JSON array (the reference script's fields)")
	tasks := fs.String("task", strings.Join(bench.Tasks, ","), "comma-separated `tasks`")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	debug.SetGCPercent(400) // the engine reuses its buffers; fewer collections between epochs
	var out []bench.Result
	for _, t := range strings.Split(*tasks, ",") {
		if err := ctx.Err(); err != nil {
			return err
		}
		r, err := bench.Run(strings.TrimSpace(t), bench.Options{})
		if err != nil {
			return err
		}
		out = append(out, r)
		if !*asJSON {
			fmt.Fprintf(e.stdout, "%-8s n=%5d batch=%3d %9.2f ms/epoch  loss=%.4f  (%s)\n", r.Task, r.N, r.Batch, r.MsPerEpoch, r.FinalLoss, r.Objective)
		}
	}
	if *asJSON {
		b, err := json.Marshal(out)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, string(b))
	}
	return nil
}
