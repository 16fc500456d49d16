package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
	"github.com/fdrmfl/fdrmfl/internal/disk"
)

func runClient(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "client", "--config client.yaml [--name client-1] [--out dir]", `
Runs one client of a real federation: reads this client's own data (the data
section of the configuration), dials out to the server over TLS (it never
accepts a connection), and takes part until the federation is done:
statistics of its training data, then local training and evaluation each
round. Its data never leave it; only model weights and statistics do. Its
training state is kept on disk (out/state), so a client that restarts
rejoins where it was. At the end it writes, with the final model:
  features/<name>.csv   split, row, z1…zd, observed and predicted responses
  results.json          its test error`)
	config := fs.String("config", "", "client configuration `file`")
	name := fs.String("name", "", "override client.name")
	server := fs.String("server", "", "override client.server (`address`)")
	out := fs.String("out", "", "output `folder` (default out/<name>)")
	insecureFlag := fs.Bool("insecure", false, "dial without TLS (local tests only: the token travels in clear)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *config == "" {
		return errors.New("--config is required")
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
	c := &federationClient{file: file, config: *config, out: *out, insecure: *insecureFlag, log: newLogger(e.stderr, slog.LevelInfo)}
	fmt.Fprintf(e.stdout, "fdrmfl client %s: server %s, output in %s\n", file.Client.Name, c.addr(), *out)
	res, err := c.run(ctx)
	if err != nil {
		return err
	}
	if res != nil && res.Test != nil {
		for j, r := range res.Manifest.Responses {
			fmt.Fprintf(e.stdout, "%s test: n = %d, MSE(%s) = %.5g, R² = %.4f\n", file.Client.Name, res.Test.N, r, res.Test.MSE[j], res.Test.R2[j])
		}
	}
	fmt.Fprintf(e.stdout, "wrote %s\n", *out)
	return nil
}

// federationClient is one run of "fdrmfl client".
type federationClient struct {
	file     clientFile
	config   string
	out      string
	insecure bool
	log      *slog.Logger
	// dial, if set, replaces the connection options (tests).
	dial []grpc.DialOption
}

func (c *federationClient) addr() string {
	if c.file.Client.Server == "" {
		return "127.0.0.1:7443"
	}
	return c.file.Client.Server
}

// run takes part in the federation and returns this client's results.
func (c *federationClient) run(ctx context.Context) (*fdrmfl.Result, error) {
	sec := c.file.Client
	cfg := c.file.Config.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", c.config, err)
	}
	var fsys = os.DirFS(".")
	if cfg.Data.Source == "csv" {
		root := cfg.Data.Root
		if root == "" {
			root = "."
		}
		fsys = os.DirFS(root)
	}
	ds, err := fdrmfl.LoadData(cfg, fsys)
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", sec.Name, err)
	}
	var rows []int
	if sec.Part > 0 {
		parts, err := fdrmfl.Partition(cfg, ds)
		if err != nil {
			return nil, err
		}
		if sec.Part > len(parts) {
			return nil, fmt.Errorf("client.part: %d, but federation.clients is %d", sec.Part, len(parts))
		}
		rows = parts[sec.Part-1]
	}
	opts := c.dial
	if opts == nil {
		if c.insecure {
			opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
			if tok, err := sec.token(c.config); err != nil {
				return nil, err
			} else if tok != "" {
				opts = append(opts, grpc.WithPerRPCCredentials(fedgrpc.Token{Value: tok, Insecure: true}))
			}
		} else {
			creds, tok, err := sec.creds(c.config)
			if err != nil {
				return nil, err
			}
			opts = append(opts, grpc.WithTransportCredentials(creds))
			if tok != "" {
				opts = append(opts, grpc.WithPerRPCCredentials(fedgrpc.Token{Value: tok}))
			}
		}
	}
	conn, err := grpc.NewClient(c.addr(), append(fedgrpc.DialOptions(), opts...)...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	p := &fdrmfl.Participant{
		Name: sec.Name, Data: ds, Rows: rows, Source: cfg.Data.Source,
		StoreFor: func(id string) (fdrmfl.StateStore, error) {
			return &disk.Store{Dir: filepath.Join(c.out, "state", id)}, nil
		},
	}
	mine := ds.Len()
	if rows != nil {
		mine = len(rows)
	}
	c.log.Info("data loaded", "client", sec.Name, "samples", mine)
	var res *fdrmfl.Result
	r := &fedgrpc.Runner{
		Name: sec.Name, Client: p, Conn: conn, Log: c.log,
		Finish: func(ctx context.Context, final fed.Weights) error {
			cr, err := p.Features(final)
			if err != nil {
				return err
			}
			res = &fdrmfl.Result{Manifest: p.Manifest(), Weights: final, Clients: []fdrmfl.ClientResult{cr}, Test: cr.Test}
			if err := writeFeatures(c.out, res); err != nil {
				return err
			}
			return writeSummary(c.out, res)
		},
	}
	if err := r.Run(ctx); err != nil {
		return nil, err
	}
	return res, nil
}
