package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/deploy"
	"github.com/fdrmfl/fdrmfl/site"
)

func runClient(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "client", "--config client.yaml [--name client-1] [--out dir]", `
Runs one client of a real federation: reads this client's own data (the data
section of the configuration), dials out to the server over TLS (it never
accepts a connection), and takes part until the federation is done:
statistics of its training data, then local training and evaluation each
round (for a linear model.kind, the statistics of its cross-validation
folds instead). Its data never leave it; only model weights and statistics
do. Its training state is kept on disk (out/state), so a client that
restarts rejoins where it was. At the end it writes, with the final model:
  features/<name>.csv   split, row, z1…zd, observed and predicted responses
  results.json          its test error`)
	config := fs.String("config", "", "client configuration `file`")
	name := fs.String("name", "", "override client.name")
	server := fs.String("server", "", "override client.server (`address`)")
	out := fs.String("out", "", "output `folder` (default out/<name>)")
	force := fs.Bool("force", false, "write into a non-empty --out folder that holds no client state to rejoin with")
	insecureFlag := fs.Bool("insecure", false, "dial without TLS (local tests only: the token travels in clear)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *config == "" {
		return usagef("--config is required")
	}
	var file clientFile
	if err := readFile(*config, &file, &file.Config); err != nil {
		return err
	}
	if *name != "" {
		file.Client.Name = *name
	}
	if *server != "" {
		file.Client.Server = *server
	}
	if file.Client.Name == "" {
		return fmt.Errorf("%s: client.name is not set (or give --name)", *config)
	}
	if *out == "" {
		*out = filepath.Join("out", file.Client.Name)
	}
	if err := checkOut(*out, *force, "state"); err != nil {
		return err
	}
	c, err := newClient(file, *config, *out, *insecureFlag, newLogger(e.stderr, slog.LevelInfo))
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "fdrmfl client %s: server %s, output in %s\n", c.Name(), c.Addr(), *out)
	res, err := c.Run(ctx)
	if se := (*site.StateError)(nil); errors.As(err, &se) {
		return fmt.Errorf("cannot keep the training state in its state folder %s, so it stopped (make the folder writable and run the same command to rejoin): %w", filepath.Join(*out, "state"), err)
	}
	if err != nil {
		return err
	}
	if res != nil && res.Test != nil {
		for j, r := range res.Manifest.Responses {
			fmt.Fprintf(e.stdout, "%s test: n = %d, MSE(%s) = %.5g, R² = %.4f\n", c.Name(), res.Test.N, r, res.Test.MSE[j], res.Test.R2[j])
		}
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", *out)
	return nil
}

// newClient returns the runtime of "fdrmfl client" for a configuration
// file, writing its features and results to out when the final model
// arrives.
func newClient(file clientFile, config, out string, insecure bool, log *slog.Logger) (*deploy.Client, error) {
	c, err := deploy.NewClient(deploy.ClientConfig{
		Study: file.Config, Settings: file.Client, Dir: configDir(config), Insecure: insecure,
		StateDir: filepath.Join(out, "state"), Log: log,
		OnDone: func(res *fdrmfl.Result) error {
			if err := writeFeatures(out, res); err != nil {
				return err
			}
			return writeSummary(out, res)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", config, err)
	}
	return c, nil
}
