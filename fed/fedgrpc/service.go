package fedgrpc

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/status"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc/fedpb"
)

// Protocol is the version of fdrmfl.fed.v1 this package speaks.
const Protocol = 1

// maxWait bounds a long poll, so that a dead connection is noticed.
const maxWait = 30 * time.Second

// NewServer returns a gRPC server for the fleet: the federation service,
// checked by the fleet's Auth, and the standard health service (serving).
// creds secure the transport (nil: plaintext, for local tests only).
func NewServer(f *Fleet, creds credentials.TransportCredentials) (*grpc.Server, *health.Server) {
	opts := []grpc.ServerOption{
		grpc.MaxRecvMsgSize(f.opt.MaxPayload + f.opt.ChunkBytes + 1<<16),
		// Models stream in 1 MiB messages: larger socket buffers halve the
		// system calls of the default 32 KiB ones.
		grpc.WriteBufferSize(256 << 10), grpc.ReadBufferSize(256 << 10),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: 10 * time.Second, PermitWithoutStream: true}),
	}
	if creds != nil {
		opts = append(opts, grpc.Creds(creds))
	}
	if f.opt.Auth != nil {
		opts = append(opts, grpc.ChainUnaryInterceptor(f.opt.Auth.unary), grpc.ChainStreamInterceptor(f.opt.Auth.stream))
	}
	opts = append(opts, grpc.ForceServerCodecV2(wireCodec{}))
	s := grpc.NewServer(opts...)
	fedpb.RegisterFederationServer(s, &service{f: f})
	h := health.NewServer()
	h.SetServingStatus("", healthpb.HealthCheckResponse_SERVING)
	h.SetServingStatus("fdrmfl.fed.v1.Federation", healthpb.HealthCheckResponse_SERVING)
	healthpb.RegisterHealthServer(s, h)
	return s, h
}

// service implements the protocol on a Fleet.
type service struct {
	fedpb.UnimplementedFederationServer
	f *Fleet
}

// Register opens a session for the authenticated client, replacing its
// previous one.
func (sv *service) Register(ctx context.Context, req *fedpb.RegisterRequest) (*fedpb.RegisterReply, error) {
	f := sv.f
	name := caller(ctx)
	switch {
	case f.opt.Auth == nil && req.Client == "":
		return nil, status.Error(codes.InvalidArgument, "register: no client name")
	case f.opt.Auth == nil:
		name = req.Client
	case req.Client != "" && req.Client != name:
		return nil, status.Errorf(codes.PermissionDenied, "register: the credentials are %s's, not %s's", name, req.Client)
	}
	if req.Protocol != Protocol {
		return nil, status.Errorf(codes.FailedPrecondition, "register: the server speaks protocol %d, the client %d", Protocol, req.Protocol)
	}
	s := &session{id: randomID(16), client: name, seen: time.Now()}
	f.mu.Lock()
	s.ready = f.setup == nil
	if old := f.sessions[name]; old != nil {
		delete(f.byID, old.id)
		f.opt.Log.Info("client registered again; its old session ends", "client", name)
	} else {
		f.opt.Log.Info("client registered", "client", name)
	}
	f.sessions[name], f.byID[s.id] = s, s
	f.opt.Metrics.clients(len(f.sessions))
	f.broadcastLocked()
	f.mu.Unlock()
	return &fedpb.RegisterReply{Session: s.id, HeartbeatMs: uint32(f.opt.Heartbeat.Milliseconds()), ChunkBytes: uint32(f.opt.ChunkBytes)}, nil
}

// sessionLocked finds the caller's session and marks it alive.
func (f *Fleet) sessionLocked(ctx context.Context, id string) (*session, error) {
	s := f.byID[id]
	if s == nil {
		return nil, status.Error(codes.NotFound, "unknown or expired session: register again")
	}
	if name := caller(ctx); f.opt.Auth != nil && name != s.client {
		return nil, status.Errorf(codes.PermissionDenied, "the session is %s's, the credentials %s's", s.client, name)
	}
	s.seen = time.Now()
	return s, nil
}

// Heartbeat keeps a session alive and names the task the server waits for.
func (sv *service) Heartbeat(ctx context.Context, req *fedpb.HeartbeatRequest) (*fedpb.HeartbeatReply, error) {
	f := sv.f
	f.mu.Lock()
	defer f.mu.Unlock()
	s, err := f.sessionLocked(ctx, req.Session)
	if err != nil {
		return nil, err
	}
	r := &fedpb.HeartbeatReply{}
	if tk := f.open[s.client]; tk != nil {
		r.Task = tk.id
	}
	if s.setupTask != "" {
		r.Task = s.setupTask
	}
	return r, nil
}

// Pull returns the session's next instruction, holding the call until
// there is one or the requested wait is over.
func (sv *service) Pull(ctx context.Context, req *fedpb.PullRequest) (*fedpb.Instruction, error) {
	f := sv.f
	deadline := time.Now().Add(min(time.Duration(req.WaitMs)*time.Millisecond, maxWait))
	for {
		f.mu.Lock()
		s, err := f.sessionLocked(ctx, req.Session)
		if err != nil {
			f.mu.Unlock()
			return nil, err
		}
		if f.closing {
			f.mu.Unlock()
			return nil, status.Error(codes.Unavailable, "the server is stopping")
		}
		in, ch := f.instructionLocked(s), f.changed
		refused := s.refused
		f.mu.Unlock()
		if refused != "" {
			return nil, status.Error(codes.PermissionDenied, refused)
		}
		if in != nil {
			return in, nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return &fedpb.Instruction{Kind: fedpb.Instruction_WAIT}, nil
		}
		t := time.NewTimer(left)
		select {
		case <-ch:
			t.Stop()
		case <-t.C:
			return &fedpb.Instruction{Kind: fedpb.Instruction_WAIT}, nil
		case <-ctx.Done():
			t.Stop()
			return nil, status.FromContextError(ctx.Err()).Err()
		}
	}
}

// instructionLocked returns the session's next instruction, or nil if it
// has nothing to do yet.
func (f *Fleet) instructionLocked(s *session) *fedpb.Instruction {
	if f.final != nil {
		return &fedpb.Instruction{Kind: fedpb.Instruction_DONE, Task: finalTask, HasModel: true}
	}
	if !s.ready {
		if s.setupErr != "" || f.setup == nil {
			return nil
		}
		p, err := f.setup(s.client)
		if err != nil {
			f.opt.Log.Error("no setup for client", "client", s.client, "err", err)
			s.setupErr, s.refused = err.Error(), err.Error()
			return nil
		}
		s.setupTask = fmt.Sprintf("setup-%d-%s", f.setupGen, s.id[:8])
		return &fedpb.Instruction{Kind: fedpb.Instruction_SETUP, Task: s.setupTask, Payload: p}
	}
	tk := f.open[s.client]
	if tk == nil {
		return nil
	}
	in := &fedpb.Instruction{Task: tk.id, Round: uint32(tk.t.Round), HasModel: tk.model != nil,
		Prox: tk.t.Prox, KeepNormLocal: tk.t.KeepNormLocal, Payload: tk.t.Payload}
	switch tk.t.Kind {
	case fed.Fit:
		in.Kind = fedpb.Instruction_FIT
	case fed.Evaluate:
		in.Kind = fedpb.Instruction_EVALUATE
	case fed.Stats:
		in.Kind = fedpb.Instruction_STATS
	case fed.Setup:
		in.Kind = fedpb.Instruction_SETUP
	case fed.SecAgg:
		in.Kind = fedpb.Instruction_SECAGG
	}
	return in
}

// Download streams the model of an open task (or the final model).
func (sv *service) Download(req *fedpb.DownloadRequest, stream grpc.ServerStreamingServer[fedpb.ModelPart]) error {
	f := sv.f
	f.mu.Lock()
	s, err := f.sessionLocked(stream.Context(), req.Session)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	var model []byte
	head := f.opt.Layout.header()
	final := req.Task == finalTask && f.final != nil
	switch tk := f.open[s.client]; {
	case final:
		model = f.final
	case tk != nil && tk.id == req.Task:
		model = tk.model
	default:
		why := f.closed[req.Task]
		f.mu.Unlock()
		if why == "" {
			why = "no such task"
		}
		return status.Errorf(codes.FailedPrecondition, "task %s is closed: %s", req.Task, why)
	}
	f.mu.Unlock()
	if model == nil {
		return status.Errorf(codes.FailedPrecondition, "task %s has no model", req.Task)
	}
	if err := stream.Send(&fedpb.ModelPart{Part: &fedpb.ModelPart_Header{Header: head}}); err != nil {
		return err
	}
	err = chunks(model, f.opt.ChunkBytes, func(offset uint64, data []byte) error {
		return stream.SendMsg(&outChunk{offset: offset, data: data}) // model is never written to again
	})
	if err != nil {
		return err
	}
	if final {
		f.mu.Lock()
		s.finalDone = true
		f.broadcastLocked()
		f.mu.Unlock()
		f.opt.Log.Info("client fetched the final model", "client", s.client)
	}
	return nil
}

// Upload receives a task's result, checks it and answers the task.
func (sv *service) Upload(stream grpc.ClientStreamingServer[fedpb.UploadPart, fedpb.UploadReply]) error {
	f := sv.f
	first, err := recvPart(stream.RecvMsg, new(fedpb.UploadPart), nil)
	if err != nil {
		return err
	}
	h := first.GetHeader()
	if h == nil {
		return status.Error(codes.InvalidArgument, "upload: the first message must be the header")
	}
	f.mu.Lock()
	s, err := f.sessionLocked(stream.Context(), h.Session)
	if err != nil {
		f.mu.Unlock()
		return err
	}
	if s.setupTask != "" && h.Task == s.setupTask {
		s.setupTask = ""
		if h.Error != "" {
			s.setupErr = h.Error
			f.mu.Unlock()
			f.opt.Log.Error("client failed its setup", "client", s.client, "err", h.Error)
			return stream.SendAndClose(&fedpb.UploadReply{})
		}
		s.ready = true
		f.broadcastLocked()
		f.mu.Unlock()
		f.opt.Log.Info("client ready", "client", s.client)
		return stream.SendAndClose(&fedpb.UploadReply{})
	}
	tk, layout := f.open[s.client], f.opt.Layout
	if tk == nil || tk.id != h.Task {
		why := f.closed[h.Task]
		f.mu.Unlock()
		if why == "" {
			why = "no such task"
		}
		f.opt.Metrics.update("late")
		f.opt.Log.Warn("late or unknown result refused", "client", s.client, "task", h.Task, "reason", why)
		return status.Errorf(codes.FailedPrecondition, "task %s is closed (%s): the result was not used", h.Task, why)
	}
	f.mu.Unlock()

	next := func(sink chunkSink) (*fedpb.UploadPart, error) {
		return recvPart(stream.RecvMsg, new(fedpb.UploadPart), sink)
	}
	u, err := f.readResult(tk, layout, h, next)
	if err != nil {
		f.mu.Lock()
		f.answerLocked(tk, fed.Update{Client: tk.t.Client, Round: tk.t.Round, Kind: tk.t.Kind, Err: fmt.Errorf("rejected by the server: %w", err)})
		f.mu.Unlock()
		f.opt.Metrics.update("rejected")
		f.opt.Log.Warn("result rejected", "client", tk.t.Client, "round", tk.t.Round, "task", tk.t.Kind, "err", err)
		return status.Errorf(codes.InvalidArgument, "round %d %s result rejected: %v", tk.t.Round, tk.t.Kind, err)
	}
	f.mu.Lock()
	ok := f.answerLocked(tk, u)
	why := f.closed[tk.id]
	f.mu.Unlock()
	if !ok {
		f.opt.Metrics.update("late")
		return status.Errorf(codes.FailedPrecondition, "task %s closed while the result arrived (%s): it was not used", tk.id, why)
	}
	if u.Err != nil {
		f.opt.Metrics.update("failed")
		f.opt.Log.Warn("client failed its task", "client", tk.t.Client, "round", tk.t.Round, "task", tk.t.Kind, "err", u.Err)
	} else {
		f.opt.Metrics.update("accepted")
	}
	return stream.SendAndClose(&fedpb.UploadReply{})
}

// readResult reads the rest of an upload for tk and checks it: a fit
// result must carry a model of the federation's layout, with finite
// values, within the norm bound; other results must carry none.
func (f *Fleet) readResult(tk *task, layout Layout, h *fedpb.UpdateHeader, next nextPart) (fed.Update, error) {
	u := fed.Update{Client: tk.t.Client, Round: tk.t.Round, Kind: tk.t.Kind}
	w, err := readUpload(layout, h, next, f.opt.ChunkBytes, f.opt.MaxPayload, tk.t.Kind, f.weights)
	if err != nil {
		return u, err
	}
	if h.Error != "" {
		u.Err = fmt.Errorf("client %s reported: %s", tk.t.Client, h.Error)
		return u, nil
	}
	u.Weights, u.N, u.Metrics, u.Payload = w, int(h.Samples), h.Metrics, h.Payload
	switch {
	case tk.t.Kind != fed.Fit, w == nil: // no model: another kind, or a fit under secure aggregation
	case f.opt.MaxUpdateNorm > 0: // the assembler checked the layout and values; this adds the bound
		if err := fed.CheckUpdate(tk.t.Global, u, f.opt.MaxUpdateNorm); err != nil {
			return u, err
		}
	case u.N <= 0:
		return u, fmt.Errorf("the result reports %d training samples", u.N)
	}
	return u, nil
}

// nextPart reads an upload's next message: a chunk goes to sink (and
// nextPart returns nil), anything else is returned; io.EOF ends the
// upload.
type nextPart func(sink chunkSink) (*fedpb.UploadPart, error)

// readUpload checks an upload's header and reassembles its model, if the
// task's kind has one, into a vector from alloc. It is the whole decoding
// of what a client sends.
func readUpload(layout Layout, h *fedpb.UpdateHeader, next nextPart, maxChunk, maxPayload int, kind fed.Kind, alloc func(int) fed.Weights) (fed.Weights, error) {
	if h.Samples < 0 || h.Samples > math.MaxInt32 {
		return nil, fmt.Errorf("%d samples", h.Samples)
	}
	for k, v := range h.Metrics {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("metric %q is %v", k, v)
		}
	}
	if len(h.Payload) > maxPayload {
		return nil, fmt.Errorf("payload of %d bytes exceeds the %d allowed", len(h.Payload), maxPayload)
	}
	sink := func(uint64, [][]byte) error { return errors.New("a chunk in a result without a model") }
	var a *assembler
	// A fit result under secure aggregation carries the protocol's message
	// in its payload instead of a model.
	secure := kind == fed.Fit && h.Model == nil && len(h.Payload) > 0
	if h.Error == "" && kind == fed.Fit && !secure {
		var err error
		if a, err = newAssembler(layout, h.Model, maxChunk, alloc); err != nil {
			return nil, fmt.Errorf("model: %w", err)
		}
		sink = func(offset uint64, data [][]byte) error {
			if err := a.add(offset, data); err != nil {
				return fmt.Errorf("model: %w", err)
			}
			return nil
		}
	} else if h.Model != nil {
		return nil, fmt.Errorf("a %s result carries no model", kind)
	}
	for {
		p, err := next(sink)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if p != nil {
			return nil, errors.New("a second header in the upload")
		}
	}
	if a == nil {
		return nil, nil
	}
	w, err := a.done()
	if err != nil {
		return nil, fmt.Errorf("model: %w", err)
	}
	return w, nil
}
