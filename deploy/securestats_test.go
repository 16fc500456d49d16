package deploy

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/fed/secagg"
	"github.com/fdrmfl/fdrmfl/preprocess"
	"github.com/fdrmfl/fdrmfl/site"
)

// secureStudy is the deployment tests' study under secure aggregation.
func secureStudy(rounds int) fdrmfl.Config {
	cfg := study(rounds)
	cfg.Privacy.Secure.Enabled = true
	return cfg
}

// withMSC adds spectral preprocessing with an msc reference, fitted from
// summed spectra.
func withMSC(cfg fdrmfl.Config) fdrmfl.Config {
	cfg.Data.Preprocess = map[string]string{"vector": "sg(5,2)+msc", "image": "snv"}
	return cfg
}

// plainStats returns what each of the deployment's clients would send in
// the clear: its moments after the preprocessing pre, as a participant
// computes them, in client order.
func plainStats(t *testing.T, cfg fdrmfl.Config, pre []fdrmfl.Preprocessing) [][]site.Moments {
	t.Helper()
	cfg = cfg.Defaults()
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := cfg.Partition(ds)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]site.Moments
	for k, rows := range parts {
		p := &Participant{Name: fmt.Sprintf("client-%d", k+1), Data: ds, Rows: rows, Source: "simulation"}
		req := NewStatsRequest(cfg, k)
		req.Preprocess = pre
		rep, err := p.stats(req)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rep.Moments)
	}
	return out
}

// standardizerGap returns the largest difference between two
// standardisers' means and standard deviations, relative to max(1, |b|).
func standardizerGap(t *testing.T, a, b *data.Standardizer) float64 {
	t.Helper()
	sa := append(append([]data.Scaling(nil), a.Modalities...), a.Y)
	sb := append(append([]data.Scaling(nil), b.Modalities...), b.Y)
	if len(sa) != len(sb) {
		t.Fatalf("standardisers of %d and %d scalings", len(sa), len(sb))
	}
	var worst float64
	for i := range sa {
		if sa[i].Name != sb[i].Name || len(sa[i].Mean) != len(sb[i].Mean) {
			t.Fatalf("scaling %d: %s of %d values, %s of %d", i, sa[i].Name, len(sa[i].Mean), sb[i].Name, len(sb[i].Mean))
		}
		for j := range sa[i].Mean {
			worst = max(worst, math.Abs(sa[i].Mean[j]-sb[i].Mean[j])/max(1, math.Abs(sb[i].Mean[j])))
			worst = max(worst, math.Abs(sa[i].Std[j]-sb[i].Std[j])/max(1, math.Abs(sb[i].Std[j])))
		}
	}
	return worst
}

// pooledOf returns the standardiser the clients' statistics give when
// summed in the clear (float64).
func pooledOf(t *testing.T, responses []string, parts [][]site.Moments) *data.Standardizer {
	t.Helper()
	std, err := site.Pooled(responses, parts)
	if err != nil {
		t.Fatal(err)
	}
	return std
}

// runDeployment serves d until the federation is done, its clients
// answering through wrap[name] where set, and returns the server's result
// or error with every client's outcome. A failed server cancels the
// clients.
func runDeployment(t *testing.T, d *deployment, wrap map[string]func(fed.Client) fed.Client, watch func(fed.Fleet) fed.Fleet) (*fdrmfl.Result, error, map[string]clientOutcome) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	lis := listen(t, "127.0.0.1:0")
	out := make(chan clientOutcome, len(d.Clients))
	for _, set := range d.Clients {
		set.Server = lis.Addr().String()
		c, err := NewClient(ClientConfig{
			Study: d.Study, Settings: set, Dir: d.Dir, StateDir: filepath.Join(d.Dir, set.Name, "state"),
			Log: slog.New(slog.NewTextHandler(d.log, nil)),
		})
		if err != nil {
			t.Fatal(err)
		}
		c.wrap = wrap[set.Name]
		go func() {
			res, err := c.Run(ctx)
			out <- clientOutcome{set.Name, res, err}
		}()
	}
	s := d.newServer(t, nil)
	s.wrapStats = watch
	res, err := s.Run(ctx, lis)
	if err != nil {
		cancel()
	}
	outcomes := map[string]clientOutcome{}
	for range d.Clients {
		o := <-out
		outcomes[o.name] = o
	}
	return res, err, outcomes
}

// TestSecureFederationOverGRPC runs the federation of
// TestFederationMatchesSimulate under secure aggregation, without and
// with an msc reference to fit: the statistics and the updates reach the
// server masked, over TLS. The pooled standardiser (and the msc
// reference) is the simulation's to the bit — both sum the same vectors
// in the same fixed point (fed.SecureFloats, secagg.SumFloats) — and
// within float64 precision of the clear sum of the clients' moments (the
// quantisation bound, n·2^(E+⌈log₂ n⌉−63) per summed value, is far below
// it); the model is the simulation's to within the fixed-point rounding
// of the updates.
func TestSecureFederationOverGRPC(t *testing.T) {
	for _, c := range []struct {
		name string
		cfg  fdrmfl.Config
	}{
		{"moments", secureStudy(2)},
		{"msc", withMSC(secureStudy(2))},
	} {
		t.Run(c.name, func(t *testing.T) {
			sim, err := fdrmfl.Simulate(context.Background(), c.cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := newDeployment(t, c.cfg)
			res, err, outcomes := runDeployment(t, d, nil, nil)
			if err != nil {
				t.Fatalf("%v\n%s", err, d.log)
			}
			for name, o := range outcomes {
				if o.err != nil {
					t.Fatalf("%s: %v", name, o.err)
				}
			}
			if !reflect.DeepEqual(res.Manifest.Preprocess, sim.Manifest.Preprocess) || len(res.Manifest.Preprocess) != len(c.cfg.Data.Preprocess) {
				t.Fatalf("preprocessing %+v, the simulation's %+v", res.Manifest.Preprocess, sim.Manifest.Preprocess)
			}
			if !reflect.DeepEqual(res.Manifest.Standardizer, sim.Manifest.Standardizer) {
				t.Fatalf("the pooled standardiser differs from the simulation's by %g (relative)", standardizerGap(t, res.Manifest.Standardizer, sim.Manifest.Standardizer))
			}
			clear := pooledOf(t, res.Manifest.Responses, plainStats(t, c.cfg, res.Manifest.Preprocess))
			if gap := standardizerGap(t, res.Manifest.Standardizer, clear); gap > 1e-12 {
				t.Fatalf("the securely pooled standardiser is %g (relative) from the clear one", gap)
			} else {
				t.Logf("standardiser: the simulation's to the bit, %.3g (relative) from the clear sum", gap)
			}
			var worst float64
			for i := range res.Weights {
				worst = max(worst, math.Abs(float64(res.Weights[i]-sim.Weights[i])))
			}
			if worst > 1e-5 {
				t.Fatalf("the secure federation's model differs from the simulation's by %g\n%s", worst, d.log)
			}
			for _, r := range res.Rounds {
				if r.Clients != 3 {
					t.Fatalf("round %d merged %d clients", r.Round, r.Clients)
				}
			}
			if log := d.log.String(); !strings.Contains(log, "task=secagg") || strings.Contains(log, "in the clear") {
				t.Fatalf("no secure aggregation step in the log, or a warning that statistics travel in the clear\n%s", log)
			}
		})
	}
}

// watchFleet records what the server sends and receives in the
// statistics phase.
type watchFleet struct {
	fed.Fleet
	mu    sync.Mutex
	tasks []fed.Task
	ups   []fed.Update
}

func (w *watchFleet) sent(tasks []fed.Task) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, t := range tasks {
		t.Payload = bytes.Clone(t.Payload)
		w.tasks = append(w.tasks, t)
	}
}

func (w *watchFleet) got(u fed.Update) {
	w.mu.Lock()
	defer w.mu.Unlock()
	u.Payload = bytes.Clone(u.Payload)
	w.ups = append(w.ups, u)
}

func (w *watchFleet) Run(ctx context.Context, tasks []fed.Task) ([]fed.Update, error) {
	w.sent(tasks)
	ups, err := w.Fleet.Run(ctx, tasks)
	for _, u := range ups {
		w.got(u)
	}
	return ups, err
}

func (w *watchFleet) RunEach(ctx context.Context, tasks []fed.Task, each func(fed.Update) error) error {
	w.sent(tasks)
	return w.Fleet.(fed.StreamingFleet).RunEach(ctx, tasks, func(u fed.Update) error {
		w.got(u)
		return each(u)
	})
}

// leaks returns how many of the values appear in the payloads as a
// plain statistic would show itself on the wire: its JSON text in a JSON
// message (when long enough not to arise by chance), its float64 bits, or its fixed point
// with any of fracs fractional bits (an 8-byte ring element), at any
// offset, when that fixed point fits the ring and is not mostly zero
// bytes as a header's counters are. Eight bytes do not recur by chance in a few hundred kilobytes
// of keys, ciphertexts and masked vectors (float32's four would).
func leaks(values []float64, fracs []int, payloads [][]byte) int {
	words := map[uint64]bool{}
	var text [][]byte // the JSON messages: the others are binary
	for _, p := range payloads {
		if len(p) > 0 && p[0] == '{' {
			text = append(text, p)
		}
		for i := 0; i+8 <= len(p); i++ {
			words[binary.LittleEndian.Uint64(p[i:])] = true
		}
	}
	fracs = slices.Clone(fracs) // the caller's, left in its order
	slices.Sort(fracs)
	fracs = slices.Compact(fracs)
	n := 0
	for _, v := range values {
		if v == 0 {
			continue
		}
		found := words[math.Float64bits(v)]
		for _, f := range fracs {
			// Only a fixed point the ring can hold (int64 of a float
			// beyond ±2⁶³ is 0x8000000000000000 on amd64) and with at
			// least four non-zero bytes: a small integer, or a count
			// shifted to the top byte, is a counter followed by one byte
			// of a key, and such words sit in every protocol header.
			m := math.RoundToEven(math.Ldexp(v, f))
			if math.Abs(m) >= 1<<62 {
				continue
			}
			if q := uint64(int64(m)); nonZeroBytes(q) >= 4 && words[q] {
				found = true
			}
		}
		if s := strconv.FormatFloat(v, 'g', -1, 64); !found && len(s) >= 8 {
			for _, p := range text {
				found = found || bytes.Contains(p, []byte(s))
			}
		}
		if found {
			n++
		}
	}
	return n
}

// nonZeroBytes returns how many of w's eight bytes are not zero.
func nonZeroBytes(w uint64) int {
	n := 0
	for ; w != 0; w >>= 8 {
		if w&0xff != 0 {
			n++
		}
	}
	return n
}

// TestSecureStatisticsNeverReachTheServer watches everything the server
// receives in the statistics phase of a secure federation with an msc
// reference: one description per client in the clear (modalities, shapes,
// responses, set sizes; no moment and no sum), and otherwise messages of
// the protocol. No value of any client's moments or spectra sums appears
// in them — not as JSON text, nor float64 bits, nor as a ring
// element in the fixed point the server announced — though the same
// search finds them in the clear reply and in the unmasked encoding, so
// it is not blind.
func TestSecureStatisticsNeverReachTheServer(t *testing.T) {
	cfg := withMSC(secureStudy(1))
	d := newDeployment(t, cfg)
	w := &watchFleet{}
	res, err, outcomes := runDeployment(t, d, nil, func(f fed.Fleet) fed.Fleet { w.Fleet = f; return w })
	if err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	for name, o := range outcomes {
		if o.err != nil {
			t.Fatalf("%s: %v", name, o.err)
		}
	}
	// What the server asked for: a description, then two aggregations
	// (exponents, values) per sum — the msc reference's spectra and the
	// moments — and the fixed point of each values aggregation.
	var fracs []int
	secure := map[string]int{}
	for _, tk := range w.tasks {
		if tk.Kind != fed.Stats {
			continue
		}
		var req StatsRequest
		if err := json.Unmarshal(tk.Payload, &req); err != nil {
			t.Fatal(err)
		}
		if req.Secure == nil {
			if !req.Describe {
				t.Fatalf("a stats request in the clear that asks for more than the description: %s", tk.Payload)
			}
			continue
		}
		secure[tk.Client]++
		if e := req.Secure.Encoding; e != nil {
			for _, b := range e.Blocks {
				fracs = append(fracs, e.Frac(b))
			}
		}
	}
	for _, c := range d.Clients {
		if secure[c.Name] != 4 {
			t.Fatalf("%s was asked for %d secure aggregations, want 4 (exponents and values of the spectra and of the moments)", c.Name, secure[c.Name])
		}
	}
	payloads := map[string][][]byte{}
	described := map[string]int{}
	for _, u := range w.ups {
		if u.Err != nil {
			t.Fatalf("%s failed: %v", u.Client, u.Err)
		}
		payloads[u.Client] = append(payloads[u.Client], u.Payload)
		if u.Kind != fed.Stats || len(u.Payload) == 0 || u.Payload[0] != '{' {
			continue // a protocol message
		}
		var r StatsReply
		if err := json.Unmarshal(u.Payload, &r); err != nil {
			t.Fatalf("%s: %v", u.Client, err)
		}
		if len(r.Moments) > 0 || len(r.Sum) > 0 || r.SumCount != 0 {
			t.Fatalf("%s sent statistics in the clear: %s", u.Client, u.Payload)
		}
		described[u.Client]++
	}
	// Every client's plain statistics: moments and the msc spectra sum.
	pre := res.Manifest.Preprocess
	moments := plainStats(t, cfg, pre)
	var chain preprocess.Chain
	for _, p := range pre {
		if p.Modality == "vector" {
			chain = p.Chain
		}
	}
	at := -1
	for i, s := range chain {
		if s.Op == "msc" {
			at = i
		}
	}
	if at < 0 {
		t.Fatalf("no msc in %+v", pre)
	}
	full := cfg.Defaults()
	ds, err := fdrmfl.LoadData(full, nil)
	if err != nil {
		t.Fatal(err)
	}
	parts, err := full.Partition(ds)
	if err != nil {
		t.Fatal(err)
	}
	for k, c := range d.Clients {
		if described[c.Name] != 1 {
			t.Fatalf("%s described its data %d times", c.Name, described[c.Name])
		}
		x, _ := site.FlatMoments(moments[k])
		p := &Participant{Name: c.Name, Data: ds, Rows: parts[k], Source: "simulation"}
		req := NewStatsRequest(full, k)
		req.Sums = &SumRequest{Modality: "vector", Prefix: chain[:at]}
		clear, err := p.stats(req)
		if err != nil {
			t.Fatal(err)
		}
		values := append(x, clear.Sum...)
		if n := leaks(values, fracs, payloads[c.Name]); n > 0 {
			t.Fatalf("%d of %s's %d statistics appear in what it sent the server", n, c.Name, len(values))
		}
		// The search is not blind: it finds them in the clear reply and in
		// the fixed-point vector before masking.
		b, _ := json.Marshal(StatsReply{Moments: moments[k], Sum: clear.Sum})
		inClear := leaks(values, nil, [][]byte{b})
		if inClear < len(values)-len(x)/3 { // all but the counts, too short to tell

			t.Fatalf("the search finds %d of %d values in the clear reply", inClear, len(values))
		}
		var encs []secagg.Encoding
		for _, tk := range w.tasks {
			var req StatsRequest
			if tk.Client == c.Name && tk.Kind == fed.Stats && json.Unmarshal(tk.Payload, &req) == nil && req.Secure != nil && req.Secure.Encoding != nil && req.Sums == nil {
				encs = append(encs, *req.Secure.Encoding)
			}
		}
		if len(encs) != 1 {
			t.Fatalf("%s: %d values aggregations of the moments", c.Name, len(encs))
		}
		v, clipped, err := encs[0].Encode(x)
		if err != nil || clipped > 0 {
			t.Fatalf("%s: the announced fixed point: %v, %d clipped", c.Name, err, clipped)
		}
		unmasked := leaks(x, fracs, [][]byte{v.Pack(nil)})
		if unmasked < len(x)/2 {
			t.Fatalf("the search finds %d of %d values in the unmasked encoding", unmasked, len(x))
		}
		t.Logf("%s: 0 of %d statistics in what it sent; the search finds %d in its clear reply, %d of its %d moments in their unmasked encoding", c.Name, len(values), inClear, unmasked, len(x))
	}
}

// dropStatsStep makes a client fail its secure aggregation step of the
// given message kind (2: share keys, 4: masked input, 6: unmasking) in
// the values aggregation of the moments: it leaves after the exponents.
// (A client wraps its participant anew for each task: the state lives
// here.)
func dropStatsStep(kind byte) func(fed.Client) fed.Client {
	var mu sync.Mutex
	inValues := false
	return func(c fed.Client) fed.Client {
		return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
			if t.Kind == fed.Stats {
				var req StatsRequest
				if err := json.Unmarshal(t.Payload, &req); err == nil {
					mu.Lock()
					inValues = req.Secure != nil && req.Secure.Encoding != nil && req.Sums == nil
					mu.Unlock()
				}
			}
			mu.Lock()
			drop := inValues && t.Round == 0 && t.Kind == fed.SecAgg && len(t.Payload) > 0 && t.Payload[0] == kind
			mu.Unlock()
			if drop {
				return fed.Update{}, errors.New("dropped out")
			}
			return c.Execute(ctx, t)
		})
	}
}

// TestSecureStatisticsSurviveADropout has client-3 leave the secure sum
// of the moments after sharing its keys, before sending its masked input
// (one dropout, n − t with three clients): the server rebuilds the sum of
// the other two from the shares, leaves client-3 out of the federation
// with the reason, and trains with the standardisation the two give —
// their clear pooled moments to float64 precision. With two clients gone
// (below the threshold of 2) the server stops with an error naming the
// statistics phase, the aggregation and the protocol's phase.
func TestSecureStatisticsSurviveADropout(t *testing.T) {
	t.Run("one of three", func(t *testing.T) {
		cfg := secureStudy(1)
		d := newDeployment(t, cfg)
		res, err, outcomes := runDeployment(t, d, map[string]func(fed.Client) fed.Client{"client-3": dropStatsStep(4)}, nil)
		if err != nil {
			t.Fatalf("%v\n%s", err, d.log)
		}
		for name, o := range outcomes {
			switch {
			case name == "client-3" && (o.err == nil || !strings.Contains(o.err.Error(), "left out") || !strings.Contains(o.err.Error(), "masked input")):
				t.Errorf("client-3: %v, want an error saying it was left out at the masked input", o.err)
			case name != "client-3" && o.err != nil:
				t.Errorf("%s: %v", name, o.err)
			}
		}
		t.Log(outcomes["client-3"].err)
		if len(res.Rounds) != 1 || res.Rounds[0].Clients != 2 {
			t.Fatalf("rounds %+v: want one of two clients", res.Rounds)
		}
		moments := plainStats(t, cfg, nil)
		two := pooledOf(t, res.Manifest.Responses, moments[:2])
		if gap := standardizerGap(t, res.Manifest.Standardizer, two); gap > 1e-12 {
			t.Fatalf("the standardiser is %g (relative) from the two clients' clear one", gap)
		}
		if gap := standardizerGap(t, res.Manifest.Standardizer, pooledOf(t, res.Manifest.Responses, moments)); gap < 1e-6 {
			t.Fatalf("the standardiser is the three clients' (%g): client-3's moments are in it", gap)
		}
		if log := d.log.String(); !strings.Contains(log, "client left out") || !strings.Contains(log, "secure sum of the moments") {
			t.Fatalf("the server did not log client-3's exclusion\n%s", log)
		}
	})
	t.Run("two of three", func(t *testing.T) {
		d := newDeployment(t, secureStudy(1))
		drop := map[string]func(fed.Client) fed.Client{"client-2": dropStatsStep(4), "client-3": dropStatsStep(4)}
		_, err, _ := runDeployment(t, d, drop, nil)
		t.Log(err)
		if err == nil || !errors.Is(err, fed.ErrTooFewLeft) {
			t.Fatalf("two of three clients dropped with threshold 2: %v", err)
		}
		for _, want := range []string{"statistics phase", "moments", "values", "masked input"} {
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("the error does not name the %s: %v", want, err)
			}
		}
	})
}
