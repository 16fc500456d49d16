package fedgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
)

// Runner is the client side of a federation: it dials out (over Conn),
// registers as Name, and runs every task the server hands it with
// Client, until the server says the federation is done. It never accepts
// a connection. A server that is unreachable or restarting is retried
// with backoff for up to RetryFor; a session the server dropped is
// replaced by registering again.
type Runner struct {
	Name   string
	Client fed.Client
	// Conn is a connection to the server, with its credentials.
	Conn grpc.ClientConnInterface
	// Finish, if set, is called with the final global model when the
	// federation is done.
	Finish func(ctx context.Context, final fed.Weights) error
	// PullWait is the longest a pull waits on the server (0: 10 s).
	PullWait time.Duration
	// RetryFor is how long an unreachable server is retried (0: 10 min).
	RetryFor time.Duration
	// Log receives one line per event (nil: discard).
	Log *slog.Logger
}

// errDone ends a session loop when the federation is over.
var errDone = errors.New("federation done")

// Run takes part in the federation until it is done (nil), ctx is done,
// the server refuses this client, or the server stays unreachable.
func (r *Runner) Run(ctx context.Context) error {
	if r.Log == nil {
		r.Log = slog.New(slog.DiscardHandler)
	}
	api := fedpb.NewFederationClient(r.Conn)
	retryFor := r.RetryFor
	if retryFor <= 0 {
		retryFor = 10 * time.Minute
	}
	backoff := 100 * time.Millisecond
	lastOK := time.Now()
	for {
		reg, err := api.Register(ctx, &fedpb.RegisterRequest{Client: r.Name, Protocol: Protocol})
		if err == nil {
			backoff = 100 * time.Millisecond
			r.Log.Info("registered", "client", r.Name, "heartbeat_ms", reg.HeartbeatMs)
			err = r.session(ctx, api, reg)
			if errors.Is(err, errDone) {
				return nil
			}
			lastOK = time.Now()
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch status.Code(err) {
		case codes.Unauthenticated, codes.PermissionDenied, codes.FailedPrecondition, codes.InvalidArgument:
			if !isSessionError(err) {
				return fmt.Errorf("client %s: the server refused: %w", r.Name, err)
			}
		}
		hint := HandshakeHint(err, false)
		if hint != "" && permanentTLS(err) { // retrying cannot help: say what is wrong
			return fmt.Errorf("client %s: %s: %w", r.Name, hint, err)
		}
		if time.Since(lastOK) > retryFor {
			return fmt.Errorf("client %s: server unreachable for %v: %w", r.Name, retryFor, err)
		}
		if hint != "" {
			r.Log.Warn("connection to the server lost; retrying", "client", r.Name, "hint", hint, "err", err, "in", backoff)
		} else {
			r.Log.Warn("connection to the server lost; retrying", "client", r.Name, "err", err, "in", backoff)
		}
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return ctx.Err()
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// permanentTLS reports TLS failures that another attempt would repeat:
// certificates that do not verify, a server that does not speak TLS.
func permanentTLS(err error) bool {
	msg := err.Error()
	for _, s := range []string{"certificate signed by unknown authority", "certificate is valid for", "doesn't contain any IP SANs",
		"not valid for any names", "first record does not look like a TLS handshake", "certificate required", "tls: bad certificate", "unknown certificate authority"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// isSessionError reports errors after which registering again helps.
func isSessionError(err error) bool {
	var se sessionError
	return errors.As(err, &se) || status.Code(err) == codes.NotFound
}

// sessionError wraps a failure that should end the session, not the run.
type sessionError struct{ error }

func (e sessionError) Unwrap() error { return e.error }

// session runs one registered session: heartbeats beside a pull loop.
func (r *Runner) session(ctx context.Context, api fedpb.FederationClient, reg *fedpb.RegisterReply) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var (
		mu      sync.Mutex
		current string             // the task being run
		stop    context.CancelFunc // cancels it
	)
	hb := time.Duration(reg.HeartbeatMs) * time.Millisecond
	if hb <= 0 {
		hb = 5 * time.Second
	}
	hbErr := make(chan error, 1)
	go func() {
		t := time.NewTicker(hb)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			rep, err := api.Heartbeat(ctx, &fedpb.HeartbeatRequest{Session: reg.Session})
			if status.Code(err) == codes.NotFound { // the server forgot us
				hbErr <- sessionError{err}
				cancel()
				return
			}
			if err != nil {
				continue // transient; the pull loop sees a lasting failure
			}
			mu.Lock()
			if current != "" && rep.Task != current && stop != nil {
				r.Log.Warn("the server no longer waits for this task; abandoning it", "client", r.Name, "task", current)
				stop()
			}
			mu.Unlock()
		}
	}()
	wait := r.PullWait
	if wait <= 0 {
		wait = 10 * time.Second
	}
	for {
		in, err := api.Pull(ctx, &fedpb.PullRequest{Session: reg.Session, WaitMs: uint32(wait.Milliseconds())})
		if err != nil {
			select {
			case e := <-hbErr:
				return e
			default:
			}
			return err
		}
		switch in.Kind {
		case fedpb.Instruction_WAIT:
			if in.WaitMs > 0 {
				select {
				case <-time.After(time.Duration(in.WaitMs) * time.Millisecond):
				case <-ctx.Done():
				}
			}
			continue
		case fedpb.Instruction_DONE:
			var final fed.Weights
			if in.HasModel {
				if final, _, err = r.download(ctx, api, reg, in.Task); err != nil {
					return err
				}
			}
			r.Log.Info("federation done", "client", r.Name)
			if r.Finish != nil {
				if err := r.Finish(ctx, final); err != nil {
					return fmt.Errorf("client %s: finishing: %w", r.Name, err)
				}
			}
			return errDone
		}
		t := fed.Task{Client: r.Name, Round: int(in.Round), Prox: in.Prox, KeepNormLocal: in.KeepNormLocal, Payload: in.Payload}
		switch in.Kind {
		case fedpb.Instruction_FIT:
			t.Kind = fed.Fit
		case fedpb.Instruction_EVALUATE:
			t.Kind = fed.Evaluate
		case fedpb.Instruction_STATS:
			t.Kind = fed.Stats
		case fedpb.Instruction_SETUP:
			t.Kind = fed.Setup
		case fedpb.Instruction_SECAGG:
			t.Kind = fed.SecAgg
		default:
			return fmt.Errorf("client %s: unknown instruction %v (a newer server?)", r.Name, in.Kind)
		}
		var layout *fedpb.ModelHeader
		if in.HasModel {
			t.Global, layout, err = r.download(ctx, api, reg, in.Task)
			if status.Code(err) == codes.FailedPrecondition { // closed meanwhile
				r.Log.Warn("task closed before its model arrived", "client", r.Name, "task", in.Task, "err", err)
				continue
			}
			if err != nil {
				return err
			}
		}
		tctx, tcancel := context.WithCancel(ctx)
		mu.Lock()
		current, stop = in.Task, tcancel
		mu.Unlock()
		start := time.Now()
		u, xerr := r.Client.Execute(tctx, t)
		tcancel()
		mu.Lock()
		current, stop = "", nil
		mu.Unlock()
		if ctx.Err() != nil {
			select {
			case e := <-hbErr:
				return e
			default:
			}
			return ctx.Err()
		}
		err = r.upload(ctx, api, reg, in.Task, layout, u, xerr)
		switch status.Code(err) {
		case codes.OK:
			r.Log.Info("task done", "client", r.Name, "round", t.Round, "task", t.Kind, "took", time.Since(start).Round(time.Millisecond), "failed", xerr != nil)
		case codes.InvalidArgument, codes.FailedPrecondition:
			r.Log.Warn("the server did not use our result", "client", r.Name, "round", t.Round, "task", t.Kind, "err", status.Convert(err).Message())
		default:
			return err
		}
		if t.Kind == fed.Setup && xerr != nil {
			return fmt.Errorf("client %s: setup failed: %w", r.Name, xerr)
		}
	}
}

// download fetches a task's model.
func (r *Runner) download(ctx context.Context, api fedpb.FederationClient, reg *fedpb.RegisterReply, task string) (fed.Weights, *fedpb.ModelHeader, error) {
	st, err := api.Download(ctx, &fedpb.DownloadRequest{Session: reg.Session, Task: task}, codecOption)
	if err != nil {
		return nil, nil, err
	}
	first, err := recvPart(st.RecvMsg, new(fedpb.ModelPart), nil)
	if err != nil {
		return nil, nil, err
	}
	h := first.GetHeader()
	a, err := newAssembler(nil, h, 0, nil)
	if err != nil {
		return nil, nil, fmt.Errorf("client %s: the server's model: %w", r.Name, err)
	}
	sink := func(offset uint64, data [][]byte) error {
		if err := a.add(offset, data); err != nil {
			return fmt.Errorf("client %s: the server's model: %w", r.Name, err)
		}
		return nil
	}
	for {
		p, err := recvPart(st.RecvMsg, new(fedpb.ModelPart), sink)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, err
		}
		if p != nil {
			return nil, nil, fmt.Errorf("client %s: the server's model: a second header", r.Name)
		}
	}
	w, err := a.done()
	if err != nil {
		return nil, nil, fmt.Errorf("client %s: the server's model: %w", r.Name, err)
	}
	return w, h, nil
}

// upload sends a task's result: the header, then the model in chunks.
func (r *Runner) upload(ctx context.Context, api fedpb.FederationClient, reg *fedpb.RegisterReply, task string, layout *fedpb.ModelHeader, u fed.Update, xerr error) error {
	st, err := api.Upload(ctx, codecOption)
	if err != nil {
		return err
	}
	h := &fedpb.UpdateHeader{Session: reg.Session, Task: task}
	if xerr != nil {
		h.Error = xerr.Error()
	} else {
		h.Samples, h.Metrics, h.Payload = int64(u.N), u.Metrics, u.Payload
		if u.Weights != nil {
			if layout == nil {
				h.Error = "the client produced a model for a task without one"
			} else {
				h.Model = layout
			}
		}
	}
	if err := st.Send(&fedpb.UploadPart{Part: &fedpb.UploadPart_Header{Header: h}}); err != nil {
		_, err = st.CloseAndRecv() // the status says why
		return err
	}
	if h.Model != nil {
		err := encodeChunks(u.Weights, int(reg.ChunkBytes), func(offset uint64, data []byte) error {
			return st.SendMsg(&outChunk{offset: offset, data: data})
		})
		if err != nil && !errors.Is(err, io.EOF) {
			return err
		}
	}
	_, err = st.CloseAndRecv()
	return err
}

// DialOptions are the connection settings a Runner's connection should
// have besides its credentials: socket buffers sized for 1 MiB model
// chunks, and room for an instruction whose payload carries a
// strategy's state as large as the results' payload may be (SCAFFOLD's
// control variate: four bytes per weight).
func DialOptions() []grpc.DialOption {
	return []grpc.DialOption{grpc.WithWriteBufferSize(256 << 10), grpc.WithReadBufferSize(256 << 10),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20 + 1<<20))}
}
