package cli

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/deploy"
)

func runServer(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "server", "--config server.yaml [--out dir]", `
Runs the server of a real federation: clients ("fdrmfl client") dial in over
TLS, authenticate with a token or a certificate the configuration lists,
send the statistics of their training data, and then train the model round
by round; the server aggregates with the configured strategy, exactly as
"fdrmfl simulate" does, and needs no data of its own. A linear model.kind
(pls, ridge, lasso, enet) is fitted instead from the sufficient statistics of the
clients' cross-validation folds, with no rounds.

After every round it writes a checkpoint (out/state/checkpoint); run the
same command again after a crash or a stop and it resumes where it was.
SIGTERM or Ctrl-C abandons the current round cleanly. At the end it writes
the model in the layout of "fdrmfl simulate":
  model/manifest.json, model/model.safetensors   the trained model
  rounds.csv, rounds.json                        per-round metrics (network)
  cv.csv, cv.json                                cross-validation (linear kinds)
  config.yaml                                    the configuration as run`)
	config := fs.String("config", "", "server configuration `file` (see README: Running a real federation)")
	out := fs.String("out", "out/server", "output `folder`")
	listen := fs.String("listen", "", "override server.listen (`address`)")
	force := fs.Bool("force", false, "write into a non-empty --out folder that holds no checkpoint to resume from")
	insecure := fs.Bool("insecure", false, "serve without TLS (local tests only: tokens travel in clear)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *config == "" {
		return usagef("--config is required")
	}
	if err := checkOut(*out, *force, filepath.Join("state", "checkpoint")); err != nil {
		return err
	}
	var file serverFile
	if err := readFile(*config, &file, &file.Config); err != nil {
		return err
	}
	if *listen != "" {
		file.Server.Listen = *listen
	}
	s, err := newServer(file, *config, *out, *insecure, newLogger(e.stderr, slog.LevelInfo))
	if err != nil {
		return err
	}
	lis, err := net.Listen("tcp", s.Addr())
	if err != nil {
		return err
	}
	if cfg := s.Config(); cfg.IsLinear() {
		fmt.Fprintf(e.stdout, "fdrmfl server: listening on %s (%s), %d clients, %s from their statistics; output in %s\n", lis.Addr(), s.Security(), s.Clients(), kindName(cfg.Model.Kind), *out)
	} else {
		fmt.Fprintf(e.stdout, "fdrmfl server: listening on %s (%s), %d clients, %d rounds; output in %s\n", lis.Addr(), s.Security(), s.Clients(), cfg.Federation.Rounds, *out)
	}
	if _, err := s.Run(ctx, lis); err != nil {
		if ctx.Err() != nil { // a stop asked for (SIGTERM, Ctrl-C) is not a failure
			fmt.Fprintf(e.stdout, "stopped; run the same command to resume from the last checkpoint in %s\n", filepath.Join(*out, "state"))
			return nil
		}
		return err
	}
	fmt.Fprintf(e.stdout, "wrote %s (model, %s)\n", *out, map[bool]string{false: "rounds", true: "cross-validation"}[s.Config().IsLinear()])
	return nil
}

// newServer returns the runtime of "fdrmfl server" for a configuration
// file, writing its outputs to out: rounds after every round, the model
// and the configuration at the end.
func newServer(file serverFile, config, out string, insecure bool, log *slog.Logger) (*deploy.Server, error) {
	s, err := deploy.NewServer(deploy.ServerConfig{
		Study: file.Config, Settings: file.Server, Dir: configDir(config), Insecure: insecure,
		StateDir: filepath.Join(out, "state"), Log: log,
		OnRound: func(res *fdrmfl.Result) error { return writeRounds(out, res) },
		OnDone: func(res *fdrmfl.Result) error {
			for _, step := range []func() error{
				func() error { return saveModel(filepath.Join(out, "model"), res.Manifest, res.Weights) },
				func() error { return writeTraining(out, res) },
				func() error { return writeYAML(filepath.Join(out, "config.yaml"), res.Config) },
			} {
				if err := step(); err != nil {
					return fmt.Errorf("writing results to %s: %w", out, err)
				}
			}
			log.Info("model written", "model", filepath.Join(out, "model"))
			return nil
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config, err)
	}
	return s, nil
}
