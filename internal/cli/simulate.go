package cli

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/internal/disk"
	"github.com/fdrmfl/fdrmfl/train"
)

func runSimulate(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "simulate", "[--config file.yaml] [--out dir]", `
Runs a federation with every client in this process: partitions the data
among the clients, trains the FDRMFL network by federated rounds, and writes
the trained model, per-round metrics and the features Z of every client's
samples. With no --config it runs the built-in default, the paper's
simulation function 1 with 3 clients, which needs no files.

Output folder:
  model/manifest.json, model/model.safetensors   the trained model
  rounds.csv, rounds.json                        per-round metrics
  features/<client>.csv                          Z, y and ŷ of every sample
  results.json                                   final test metrics
  config.yaml                                    the configuration as run
  run.log                                        the log, one line per event`)
	config := fs.String("config", "", "YAML configuration `file` (see: fdrmfl config)")
	out := fs.String("out", "out", "output `folder`")
	seed := fs.Int64("seed", -1, "override the configuration's seed")
	workers := fs.Int("workers", 0, "clients trained at once (0: the configuration's, or all cores)")
	quiet := fs.Bool("quiet", false, "print only the final table")
	force := fs.Bool("force", false, "write into a non-empty --out folder (the earlier run's features are removed, other files replaced)")
	stateDir := fs.String("state-dir", "", "keep the clients' training states in this `folder` rather than in memory\n(default: a temporary folder when there are more than 64 clients, so memory does not grow with them)")
	if err := parse(fs, args); err != nil {
		return err
	}
	var cfg fdrmfl.Config
	if *config != "" {
		var err error
		if cfg, err = loadConfig(*config); err != nil {
			return err
		}
	}
	if *seed >= 0 {
		cfg.Seed = uint64(*seed)
	}
	if *workers > 0 {
		cfg.Federation.Workers = *workers
	}
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		if *config != "" {
			return fmt.Errorf("%s: %w", *config, err)
		}
		return err
	}
	if err := checkOut(*out, *force); err != nil {
		return err
	}
	if *force {
		if err := os.RemoveAll(filepath.Join(*out, "features")); err != nil {
			return err
		}
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		return err
	}
	logf, err := os.Create(filepath.Join(*out, "run.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	log := slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{ReplaceAttr: dropTime}))
	opt := fdrmfl.Options{Log: log}
	if cfg.Data.Source == "csv" {
		root := cfg.Data.Root
		if root == "" {
			root = "."
		}
		opt.FS = os.DirFS(root)
	}
	if dir := *stateDir; dir != "" || cfg.Federation.Clients > 64 {
		if dir == "" {
			tmp, err := os.MkdirTemp("", "fdrmfl-states-")
			if err != nil {
				return err
			}
			defer os.RemoveAll(tmp)
			dir = tmp
		}
		opt.Store = &disk.Store[train.ClientState]{Dir: dir, Scratch: true}
		log.Info("client states on disk", "dir", dir)
	}
	start := time.Now()
	progress := e.stdout
	if *quiet {
		progress = io.Discard
	}
	fmt.Fprintf(progress, "fdrmfl simulate: %s, %d clients (%s), %d rounds × %d epochs, d = %d, seed %d\n",
		describeData(cfg), cfg.Federation.Clients, cfg.Federation.Partition, cfg.Federation.Rounds, cfg.Train.Epochs, featuresOf(cfg), cfg.Seed)
	printed := false
	ticker := newClientTicker(progress)
	opt.ClientsDone = ticker.done
	opt.Progress = func(r fdrmfl.RoundMetrics) {
		ticker.clear()
		if !printed {
			fmt.Fprintf(progress, "%5s %7s %9s %9s %8s %8s %8s %10s %8s %7s\n", "round", "clients", "loss", "mse", "mi", "kl", "con", "val_mse", "val_r2", "time")
			printed = true
		}
		vm, vr := "-", "-"
		if r.Val != nil {
			vm, vr = fmt.Sprintf("%.4g", r.Val.MSE[0]), fmt.Sprintf("%.3f", r.Val.R2[0])
		}
		line := fmt.Sprintf("%5d %7d %9.4g %9.4g %8.4g %8.4g %8.4g %10s %8s %6.1fs",
			r.Round, r.Clients, r.Train["loss"], r.Train["mse"], r.Train["mi"], r.Train["kl"], r.Train["con"], vm, vr, time.Since(start).Seconds())
		attrs := []any{"round", r.Round, "clients", r.Clients, "loss", r.Train["loss"], "mse", r.Train["mse"], "mi", r.Train["mi"], "kl", r.Train["kl"], "con", r.Train["con"]}
		if r.Val != nil {
			attrs = append(attrs, "val_mse", r.Val.MSE, "val_r2", r.Val.R2)
		}
		if r.Delta > 0 {
			attrs = append(attrs, "epsilon", r.Epsilon, "delta", r.Delta)
			line += fmt.Sprintf("  ε = %.3g (δ = %.0e)", r.Epsilon, r.Delta)
		}
		fmt.Fprintln(progress, line)
		for c, why := range r.Rejected {
			log.Warn("update rejected", "round", r.Round, "client", c, "reason", why)
		}
		log.Info("round", attrs...)
	}
	log.Info("start", "data", describeData(cfg), "clients", cfg.Federation.Clients, "rounds", cfg.Federation.Rounds, "seed", cfg.Seed)
	res, err := fdrmfl.Simulate(ctx, cfg, opt)
	if err != nil {
		log.Error("failed", "err", err)
		return err
	}
	for _, step := range []func() error{
		func() error { return saveModel(filepath.Join(*out, "model"), res.Manifest, res.Weights) },
		func() error { return writeRounds(*out, res) },
		func() error { return writeFeatures(*out, res) },
		func() error { return writeSummary(*out, res) },
		func() error { return writeYAML(filepath.Join(*out, "config.yaml"), res.Config) },
	} {
		if err := step(); err != nil {
			return fmt.Errorf("writing results to %s: %w", *out, err)
		}
	}
	log.Info("done", "test_mse", res.Test.MSE, "test_r2", res.Test.R2)
	printResults(e.stdout, res)
	fmt.Fprintf(e.stdout, "\nwrote %s (model, rounds, features of %d clients) in %.1fs\n", *out, len(res.Clients), time.Since(start).Seconds())
	return nil
}

// printResults prints the final table: test error per client and pooled.
func printResults(w io.Writer, res *fdrmfl.Result) {
	resp := res.Manifest.Responses
	fmt.Fprintf(w, "\nTest error of the network's head (final global model):\n")
	fmt.Fprintf(w, "%-12s %6s", "client", "n")
	for _, r := range resp {
		fmt.Fprintf(w, " %12s %8s", "mse_"+r, "r2_"+r)
	}
	fmt.Fprintln(w)
	row := func(name string, m *fdrmfl.Metrics) {
		if m == nil {
			return
		}
		fmt.Fprintf(w, "%-12s %6d", name, m.N)
		for j := range resp {
			fmt.Fprintf(w, " %12.5g %8.4f", m.MSE[j], m.R2[j])
		}
		fmt.Fprintln(w)
	}
	for _, c := range res.Clients {
		row(c.Name, c.Test)
	}
	row("pooled", res.Test)
	if m := res.Test; m != nil && m.Count != nil {
		for j, r := range resp {
			if m.Count[j] < m.N {
				fmt.Fprintf(w, "(%s: over the %d of %d test samples that have a value)\n", r, m.Count[j], m.N)
			}
		}
	}
}

func describeData(cfg fdrmfl.Config) string {
	d := cfg.Data
	switch {
	case d.Source == "simulation":
		return fmt.Sprintf("simulation function %d (%d samples)", d.Function, d.Samples)
	case d.Preset != "":
		return "preset " + d.Preset
	}
	var names []string
	for _, m := range d.Modalities {
		names = append(names, m.Name)
	}
	return "csv modalities " + strings.Join(names, ", ")
}

func featuresOf(cfg fdrmfl.Config) int {
	if cfg.Model.Features > 0 {
		return cfg.Model.Features
	}
	return 16
}

// dropTime removes the time from log lines, so that two runs with the same
// seed write the same log.
func dropTime(groups []string, a slog.Attr) slog.Attr {
	if len(groups) == 0 && a.Key == slog.TimeKey {
		return slog.Attr{}
	}
	return a
}
