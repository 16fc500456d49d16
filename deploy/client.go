package deploy

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
	"github.com/fdrmfl/fdrmfl/internal/disk"
	"github.com/fdrmfl/fdrmfl/site"
	"github.com/fdrmfl/fdrmfl/train"
)

// ClientConfig is what NewClient needs.
type ClientConfig struct {
	// Study is the client's configuration; its data section says where
	// the client's own samples are.
	Study    fdrmfl.Config
	Settings ClientSettings
	// Dir is the folder the settings' relative paths start from (the
	// configuration file's).
	Dir string
	// Insecure dials without TLS (local tests only: the token travels in clear).
	Insecure bool
	// Data, if set, are the client's samples, raw, instead of those the
	// study's data section names: an application that embeds a client
	// hands over what it holds.
	Data *data.Dataset
	// FS is the folder the study's CSV files are read from when Data is
	// nil (default: the data root on disk).
	FS fs.FS
	// StateDir keeps the client's training state between rounds, so that
	// a client that restarts rejoins where it was.
	StateDir string
	// Log receives one structured line per event (nil: discard).
	Log *slog.Logger
	// Dial, if set, replaces the connection's credentials (tests, or a
	// transport of the caller's).
	Dial []grpc.DialOption
	// OnDone, if set, is called with the client's result — its features
	// and test error with the final model — when the final model
	// arrives; an error makes Run fail.
	OnDone func(*fdrmfl.Result) error
}

// Client is one client of a real federation: it dials out to the server
// (it never accepts a connection), answers the statistics phase, and
// trains and evaluates each round on its own data, which never leave it.
type Client struct {
	c    ClientConfig
	cfg  fdrmfl.Config
	ds   *data.Dataset
	rows []int
	log  *slog.Logger
}

// NewClient checks the configuration and loads the client's data.
func NewClient(c ClientConfig) (*Client, error) {
	cl := &Client{c: c, cfg: c.Study.Defaults(), log: c.Log}
	if cl.log == nil {
		cl.log = slog.New(slog.DiscardHandler)
	}
	name := c.Settings.Name
	if name == "" {
		return nil, errors.New("client.name is not set")
	}
	if err := cl.cfg.Validate(); err != nil {
		return nil, err
	}
	if c.StateDir == "" {
		return nil, fmt.Errorf("client %s: no state folder", name)
	}
	cl.ds = c.Data
	if cl.ds == nil {
		fsys := c.FS
		if fsys == nil && cl.cfg.Data.Source == "csv" {
			root := cl.cfg.Data.Root
			if root == "" {
				root = "."
			}
			fsys = os.DirFS(root)
		}
		ds, rep, err := fdrmfl.ReadData(cl.cfg, fsys)
		if err != nil {
			return nil, fmt.Errorf("client %s: %w", name, err)
		}
		cl.ds = ds
		rep.Log(cl.log.With("client", name))
	}
	if part := c.Settings.Part; part > 0 {
		parts, err := cl.cfg.Partition(cl.ds)
		if err != nil {
			return nil, err
		}
		if part > len(parts) {
			return nil, fmt.Errorf("client.part: %d, but federation.clients is %d", part, len(parts))
		}
		cl.rows = parts[part-1]
	}
	return cl, nil
}

// Name returns the client's name.
func (c *Client) Name() string { return c.c.Settings.Name }

// Addr returns the server address the client dials.
func (c *Client) Addr() string {
	if c.c.Settings.Server == "" {
		return "127.0.0.1:7443"
	}
	return c.c.Settings.Server
}

// Samples returns the number of samples the client holds.
func (c *Client) Samples() int {
	if c.rows != nil {
		return len(c.rows)
	}
	return c.ds.Len()
}

func (c *Client) dialOptions() ([]grpc.DialOption, error) {
	if c.c.Dial != nil {
		return c.c.Dial, nil
	}
	sec := c.c.Settings
	var opts []grpc.DialOption
	if c.c.Insecure {
		opts = append(opts, grpc.WithTransportCredentials(insecure.NewCredentials()))
		tok, err := sec.token(c.c.Dir)
		if err != nil {
			return nil, err
		}
		if tok != "" {
			opts = append(opts, grpc.WithPerRPCCredentials(fedgrpc.Token{Value: tok, Insecure: true}))
		}
		return opts, nil
	}
	creds, tok, err := sec.creds(c.c.Dir)
	if err != nil {
		return nil, err
	}
	opts = append(opts, grpc.WithTransportCredentials(creds))
	if tok != "" {
		opts = append(opts, grpc.WithPerRPCCredentials(fedgrpc.Token{Value: tok}))
	}
	return opts, nil
}

// Run takes part in the federation until the server hands out the final
// model, and returns this client's result. A client that cannot keep its
// training state stops with an error rather than carry on without it.
func (c *Client) Run(ctx context.Context) (*fdrmfl.Result, error) {
	opts, err := c.dialOptions()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(c.Addr(), append(fedgrpc.DialOptions(), opts...)...)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	p := &Participant{
		Name: c.Name(), Data: c.ds, Rows: c.rows, Source: c.cfg.Data.Source,
		StoreFor: func(id string) (site.StateStore, error) {
			return &disk.Store[train.ClientState]{Dir: filepath.Join(c.c.StateDir, id)}, nil
		},
	}
	c.log.Info("data loaded", "client", c.Name(), "samples", c.Samples())
	var res *fdrmfl.Result
	r := &fedgrpc.Runner{
		Name: c.Name(), Conn: conn, Log: c.log,
		Client: fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
			u, err := p.Execute(ctx, t)
			if se := (*site.StateError)(nil); errors.As(err, &se) {
				c.log.Error("cannot keep the training state; stopping", "client", c.Name(), "err", err)
				stop(err)
			}
			return u, err
		}),
		Finish: func(ctx context.Context, final fed.Weights) error {
			cr, err := p.Features(final)
			if err != nil {
				return err
			}
			res = &fdrmfl.Result{Manifest: p.Manifest(), Weights: final, Clients: []fdrmfl.ClientResult{cr}, Test: cr.Test}
			if c.c.OnDone != nil {
				return c.c.OnDone(res)
			}
			return nil
		},
	}
	if err := r.Run(ctx); err != nil {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			return nil, cause
		}
		return nil, err
	}
	if cause := context.Cause(ctx); cause != nil && res == nil {
		return nil, cause
	}
	return res, nil
}
