package deploy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/fedgrpc"
	"github.com/fdrmfl/fdrmfl/internal/pki"
	"github.com/fdrmfl/fdrmfl/site"
)

// A linear model (model.kind pls, ridge, …) is fitted, not trained: after
// the statistics phase's moments, the server sends each client the pooled
// standardisation in a second kind of fed.Stats task, a
// LinearStatsRequest; the client standardises its sets, computes the
// sufficient statistics of its training rows' cross-validation folds
// (fdrmfl.LinearStats) and sends them in parts of at most PartBytes (1 MiB
// by default), one part per task. The server merges the clients' statistics in client
// order (fdrmfl.LinearPool), fits — the same arithmetic in the same order
// as fdrmfl.Simulate, so the same model bit for bit — and checkpoints the
// model. Then every client runs the Setup task with the fitted model's
// Plan and receives the weights as the federation's final model, with
// which it writes its predictions. There are no rounds.

// LinearStatsRequest asks a client for its fold statistics. It is the
// payload of a fed.Stats task in a linearStatsTask, under the key
// "linear", which a StatsRequest never has, so that a client tells the two
// apart; the task names the part to send.
type LinearStatsRequest struct {
	// Stats is the first step's request: the split and scaling.
	Stats StatsRequest `json:"stats"`
	// Standardizer is the pooled standardisation to apply.
	Standardizer *data.Standardizer `json:"standardizer"`
	// Spec names the model's inputs and the folds to cut.
	Spec fdrmfl.LinearStatsSpec `json:"spec"`
	// PartBytes bounds the parts the statistics are sent in.
	PartBytes int `json:"part_bytes"`
}

// linearStatsTask is the payload of a fed.Stats task that asks for part
// Part (from 0) of the statistics Linear (a LinearStatsRequest) describes.
// The request's bytes are the same for every part, so that a client
// knows the statistics it has already computed by their hash.
type linearStatsTask struct {
	Linear json.RawMessage `json:"linear,omitempty"`
	Part   int             `json:"part"`
	// Secure, under secure aggregation, asks instead for the client's
	// vector in one of the secure sums that merge the clients' folds
	// (linearSecureStep): it is never sent in parts.
	Secure *linearSecureStep `json:"secure,omitempty"`
}

// LinearStatsReply is a client's answer to a LinearStatsRequest: one
// part of its encoded fold statistics, with the number of parts, the
// total size and the SHA-256 of the whole, so that the server can check
// that the parts it assembles belong together. On the wire it is the
// JSON of the other fields, a newline, then Data's bytes as they are
// (MarshalBinary).
type LinearStatsReply struct {
	Part   int    `json:"part"`
	Parts  int    `json:"parts"`
	Size   int    `json:"size"`
	SHA256 string `json:"sha256"`
	// Rows is the number of training rows the statistics describe.
	Rows int    `json:"rows"`
	Data []byte `json:"-"`
}

// MarshalBinary returns the reply's wire form.
func (r LinearStatsReply) MarshalBinary() ([]byte, error) {
	head, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	return append(append(head, '\n'), r.Data...), nil
}

// UnmarshalBinary reads the wire form.
func (r *LinearStatsReply) UnmarshalBinary(b []byte) error {
	head, data, ok := bytes.Cut(b, []byte{'\n'})
	if !ok {
		return errors.New("no header line")
	}
	if err := json.Unmarshal(head, r); err != nil {
		return err
	}
	r.Data = data
	return nil
}

// defaultPartBytes is the size of a part: the transport's model chunk
// size, so that no message holds a connection (and the heartbeats
// behind it) for long.
const defaultPartBytes = 1 << 20

// linearRequest returns the linear statistics task a Stats task's
// payload holds, or nil when it holds the first step's StatsRequest.
func linearRequest(payload []byte) (*linearStatsTask, error) {
	var t linearStatsTask
	if err := json.Unmarshal(payload, &t); err != nil {
		return nil, err
	}
	if t.Linear == nil {
		return nil, nil
	}
	return &t, nil
}

// linearStats answers a linear statistics task: it computes the encoded
// statistics the request describes (or takes them from its cache, for
// later parts: the request's hash is the key) and returns the part asked
// for.
func (p *Participant) linearStats(t linearStatsTask) (fed.Update, error) {
	if t.Secure != nil {
		return p.secureLinearStats(t)
	}
	sum := sha256.Sum256(t.Linear)
	key := string(sum[:])
	p.mu.Lock()
	st := p.lin
	p.mu.Unlock()
	if st == nil || st.key != key {
		var err error
		if st, err = p.computeLinearStats(t.Linear); err != nil {
			return fed.Update{}, err
		}
		st.key = key
		p.mu.Lock()
		p.lin = st
		p.mu.Unlock()
	}
	parts := (len(st.enc) + st.partBytes - 1) / st.partBytes
	if t.Part < 0 || t.Part >= parts {
		return fed.Update{}, fmt.Errorf("client %s: part %d of statistics in %d parts asked for", p.Name, t.Part, parts)
	}
	rep := LinearStatsReply{
		Part: t.Part, Parts: parts, Size: len(st.enc), SHA256: st.digest, Rows: st.rows,
		Data: st.enc[t.Part*st.partBytes : min((t.Part+1)*st.partBytes, len(st.enc))],
	}
	b, err := rep.MarshalBinary()
	if err != nil {
		return fed.Update{}, err
	}
	return fed.Update{Kind: fed.Stats, N: st.rows, Payload: b}, nil
}

// linearEncoded is a client's encoded statistics, kept while the server
// fetches them part by part.
type linearEncoded struct {
	key       string // the SHA-256 of the request they answer
	enc       []byte
	digest    string // the SHA-256 of enc, hex
	rows      int
	partBytes int
}

// linearFolds computes the fold statistics a request describes, with
// the request, the number of training rows and of responses.
func (p *Participant) linearFolds(raw json.RawMessage) ([]*baseline.SuffStats, LinearStatsRequest, [2]int, error) {
	var req LinearStatsRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return nil, req, [2]int{}, fmt.Errorf("client %s: the linear statistics request: %w", p.Name, err)
	}
	if req.Standardizer == nil {
		return nil, req, [2]int{}, fmt.Errorf("client %s: the linear statistics request has no standardisation", p.Name)
	}
	sets, err := p.split(req.Stats)
	if err != nil {
		return nil, req, [2]int{}, err
	}
	modes, err := site.ScaleModes(req.Stats.Scale)
	if err != nil {
		return nil, req, [2]int{}, err
	}
	own, err := sets.Moments(modes)
	if err != nil {
		return nil, req, [2]int{}, fmt.Errorf("client %s: %w", p.Name, err)
	}
	if err := sets.Standardize(req.Standardizer, own, req.Stats.Standardize); err != nil {
		return nil, req, [2]int{}, err
	}
	folds, err := fdrmfl.LinearStats(sets.Train, req.Spec)
	if err != nil {
		return nil, req, [2]int{}, fmt.Errorf("client %s: %w", p.Name, err)
	}
	return folds, req, [2]int{sets.Train.Len(), sets.Train.NumResponses()}, nil
}

// computeLinearStats computes the encoded statistics a request describes.
func (p *Participant) computeLinearStats(raw json.RawMessage) (*linearEncoded, error) {
	folds, req, size, err := p.linearFolds(raw)
	if err != nil {
		return nil, err
	}
	rows := size[0]
	enc, err := encodeLinearStats(folds, len(folds[0].MeanX), size[1])
	if err != nil {
		return nil, fmt.Errorf("client %s: %w", p.Name, err)
	}
	digest := sha256.Sum256(enc)
	out := &linearEncoded{enc: enc, digest: hex.EncodeToString(digest[:]), rows: rows, partBytes: req.PartBytes}
	if out.partBytes <= 0 {
		out.partBytes = defaultPartBytes
	}
	return out, nil
}

// linearUpload is one client's statistics as they arrive, part by part.
type linearUpload struct {
	index int // the client's place in the federation
	req   LinearStatsRequest
	raw   json.RawMessage // req, encoded once for every part
	parts [][]byte
	first LinearStatsReply
	next  int
}

// setupLinear runs the linear statistics step for the clients named
// (those whose moments the plan used, in client order) and fits the
// model the plan describes. Clients whose statistics do not arrive or
// do not fit are left out, with the reason, as in the first step.
func (s *Server) setupLinear(ctx context.Context, fleet *fedgrpc.Fleet, man *fdrmfl.Manifest, names []string, leftOut map[string]string, quorum int) (checkpoint, error) {
	p, q := 0, len(man.Responses)
	for _, mi := range man.Modalities {
		p += prod(mi.Shape)
	}
	folds := s.cfg.Linear.Folds
	maxSize := statsSize(p, q, folds)
	partBytes := s.partBytes
	if partBytes <= 0 {
		partBytes = defaultPartBytes
	}
	maxParts := (maxSize + partBytes - 1) / partBytes
	s.log.Info("setup: asking for the linear statistics", "kind", man.Model.Kind, "inputs", p, "folds", folds, "at_most_bytes_per_client", maxSize, "clients", len(names))
	start := time.Now()
	pool := fdrmfl.NewLinearPool(man)
	// A few clients at a time, in client order, so that the server holds
	// the bytes of a batch only, not of the whole federation.
	batchSize := s.linearBatch
	if batchSize <= 0 {
		batchSize = linearBatch
	}
	for b := 0; b < len(names); b += batchSize {
		batch := names[b:min(b+batchSize, len(names))]
		ups := map[string]*linearUpload{}
		for _, name := range batch {
			ups[name] = &linearUpload{index: s.index[name], req: s.linearStatsRequest(man, name, partBytes)}
		}
		drop := func(name, why string) {
			leftOut[name] = why
			delete(ups, name)
			s.log.Warn("setup: client left out", "client", name, "reason", why)
		}
		if err := s.gatherLinear(ctx, fleet, ups, drop, maxSize, maxParts); err != nil {
			return checkpoint{}, err
		}
		for _, name := range batch {
			u := ups[name]
			if u == nil {
				continue
			}
			st, why := u.decode(p, q, folds)
			if why == "" {
				if err := pool.Add(st, folds); err != nil {
					why = err.Error()
				}
			}
			if why != "" {
				drop(name, "sent malformed linear statistics: "+why)
				continue
			}
			s.log.Info("setup: linear statistics", "client", name, "rows", u.first.Rows, "folds", len(st), "bytes", u.first.Size)
			delete(ups, name) // the pool holds the merge
		}
	}
	return s.fitLinear(pool, man, leftOut, quorum, start)
}

// fitLinear fits the model from the pooled statistics and returns the
// checkpoint that holds it.
func (s *Server) fitLinear(pool *fdrmfl.LinearPool, man *fdrmfl.Manifest, leftOut map[string]string, quorum int, start time.Time) (checkpoint, error) {
	if pool.Clients() < max(quorum, 1) {
		return checkpoint{}, fmt.Errorf("setup: %d clients sent usable linear statistics, the quorum is %d", pool.Clients(), quorum)
	}
	mod, err := pool.Fit(man, s.cfg.Linear)
	if err != nil {
		return checkpoint{}, fmt.Errorf("setup: %w", err)
	}
	f := mod.Manifest.Linear
	s.log.Info("setup: linear model fitted", "kind", man.Model.Kind, "chosen", f.Chosen(), "rows", f.Rows, "folds", f.Folds, "clients", pool.Clients(), "took", time.Since(start).Round(time.Millisecond))
	ck := checkpoint{Study: s.study(), Federation: pki.Token()[:16], Global: mod.Weights, Excluded: leftOut}
	if ck.Manifest, err = json.Marshal(mod.Manifest); err != nil {
		return checkpoint{}, err
	}
	return ck, nil
}

// linearStatsRequest returns what the server asks client name for: the
// statistics of its folds after the fitted preprocessing chains and the
// pooled standardisation, sent in parts of partBytes (0 under secure
// aggregation, where they are summed instead).
func (s *Server) linearStatsRequest(man *fdrmfl.Manifest, name string, partBytes int) LinearStatsRequest {
	i := s.index[name]
	stats := NewStatsRequest(s.cfg, i)
	stats.Preprocess = man.Preprocess // the fitted chains, as the standardisation saw them
	return LinearStatsRequest{Stats: stats, Standardizer: man.Standardizer, Spec: s.cfg.LinearStatsSpec(man, i), PartBytes: partBytes}
}

// linearBatch is the number of clients whose statistics the server
// gathers at once.
const linearBatch = 4

// gatherLinear fetches every part of the statistics of the clients of
// ups, in parallel, one part per client per task; a client that fails,
// falls silent or sends something malformed is dropped with the reason.
func (s *Server) gatherLinear(ctx context.Context, fleet *fedgrpc.Fleet, ups map[string]*linearUpload, drop func(name, why string), maxSize, maxParts int) error {
	for len(ups) > 0 {
		var tasks []fed.Task
		for _, name := range slices.Sorted(maps.Keys(ups)) {
			u := ups[name]
			if u.first.Parts > 0 && u.next >= u.first.Parts {
				continue
			}
			if u.raw == nil {
				var err error
				if u.raw, err = json.Marshal(u.req); err != nil {
					return err
				}
			}
			b, err := json.Marshal(linearStatsTask{Linear: u.raw, Part: u.next})
			if err != nil {
				return err
			}
			tasks = append(tasks, fed.Task{Client: name, Kind: fed.Stats, Payload: b})
		}
		if len(tasks) == 0 {
			return nil
		}
		rctx, cancel := context.WithTimeout(ctx, s.c.Settings.RoundTimeout.Or(10*time.Minute))
		got, err := fleet.Run(rctx, tasks)
		cancel()
		if err != nil {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		answered := map[string]bool{}
		for _, g := range got {
			answered[g.Client] = true
			u := ups[g.Client]
			if u == nil {
				continue
			}
			if g.Err != nil {
				drop(g.Client, fmt.Sprintf("sent no linear statistics: %v", g.Err))
				continue
			}
			var r LinearStatsReply
			if err := r.UnmarshalBinary(g.Payload); err != nil {
				drop(g.Client, fmt.Sprintf("sent malformed linear statistics: %v", err))
				continue
			}
			if why := u.accept(r, maxSize, maxParts); why != "" {
				drop(g.Client, "sent malformed linear statistics: "+why)
			}
		}
		for _, t := range tasks {
			if !answered[t.Client] && ups[t.Client] != nil {
				drop(t.Client, "sent no linear statistics before the deadline")
			}
		}
	}
	return nil
}

// accept records a reply and returns why it cannot be, if so.
func (u *linearUpload) accept(r LinearStatsReply, maxSize, maxParts int) string {
	if u.first.Parts == 0 {
		if r.Part != 0 || r.Parts < 1 || r.Parts > maxParts || r.Size < 1 || r.Size > maxSize || r.Rows < 1 {
			return fmt.Sprintf("part %d of %d, %d bytes of %d rows (at most %d parts and %d bytes expected)", r.Part, r.Parts, r.Size, r.Rows, maxParts, maxSize)
		}
		u.first = r
	} else if r.Part != u.next || r.Parts != u.first.Parts || r.Size != u.first.Size || r.SHA256 != u.first.SHA256 {
		return fmt.Sprintf("part %d of %d parts (%s) after part %d of %d (%s): the statistics changed between parts", r.Part, r.Parts, r.SHA256, u.next-1, u.first.Parts, u.first.SHA256)
	}
	if want := min(u.first.Size-r.Part*u.req.PartBytes, u.req.PartBytes); len(r.Data) != want {
		return fmt.Sprintf("part %d holds %d bytes, %d expected", r.Part, len(r.Data), want)
	}
	u.parts = append(u.parts, r.Data)
	u.next++
	return ""
}

// decode assembles and decodes a client's statistics.
func (u *linearUpload) decode(p, q, folds int) ([]*baseline.SuffStats, string) {
	b := slices.Concat(u.parts...)
	u.parts = nil
	sum := sha256.Sum256(b)
	if len(b) != u.first.Size || hex.EncodeToString(sum[:]) != u.first.SHA256 {
		return nil, fmt.Sprintf("%d bytes with SHA-256 %x assembled, %d with %s announced", len(b), sum, u.first.Size, u.first.SHA256)
	}
	st, err := decodeLinearStats(b, p, q, folds)
	if err != nil {
		return nil, err.Error()
	}
	return st, ""
}

// finishLinear hands out a fitted linear model: it waits (at most the
// join timeout) until as many clients as sent their statistics have run
// the setup with the model's plan, and then gives every client the
// weights as the federation's final model.
func (s *Server) finishLinear(ctx context.Context, fleet *fedgrpc.Fleet, served <-chan error, res *fdrmfl.Result, ck checkpoint) (*fdrmfl.Result, error) {
	f := res.Manifest.Linear
	s.log.Info("handing out the linear model's plan", "kind", res.Manifest.Model.Kind, "chosen", f.Chosen(), "clients", f.Clients)
	if _, err := fleet.Wait(ctx, f.Clients, s.c.Settings.JoinTimeout.Or(10*time.Minute)); err != nil {
		return nil, err
	}
	res.Weights = ck.Global
	s.log.Info("linear model done; handing out its weights", "values", len(ck.Global))
	return s.finish(ctx, fleet, served, res)
}
