package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/baseline"
	"github.com/fdrmfl/fdrmfl/fed"
)

// secureLinearStudy is linearStudy under secure aggregation.
func secureLinearStudy(kind string) fdrmfl.Config {
	cfg := linearStudy(kind)
	cfg.Privacy.Secure.Enabled = true
	return cfg
}

// clientFolds returns each client's fold statistics as a participant of
// cfg's federation computes them with the model man describes.
func clientFolds(t *testing.T, cfg fdrmfl.Config, man *fdrmfl.Manifest) [][]*baseline.SuffStats {
	t.Helper()
	cfg = cfg.Defaults()
	ds, err := fdrmfl.LoadData(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := fdrmfl.Prepare(cfg, ds)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]*baseline.SuffStats
	for k, c := range p.Clients() {
		st, err := fdrmfl.LinearStats(c.Train, cfg.LinearStatsSpec(man, k))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, st)
	}
	return out
}

// TestSecureLinearFederationMatchesSimulate fits PLS and ridge with a
// server and three clients over TLS under secure aggregation, watching
// everything the server receives. The model is the simulation's under
// secure aggregation to the bit (both merge each fold by the same secure
// sums), no client sends its statistics in the clear, and none of a
// client's fold counts and sums, nor any of its cross-products, appears in
// what it sent — though the same search finds them in the clear wire form
// of its statistics.
func TestSecureLinearFederationMatchesSimulate(t *testing.T) {
	for _, kind := range []string{fdrmfl.KindPLS, fdrmfl.KindRidge} {
		t.Run(kind, func(t *testing.T) {
			cfg := secureLinearStudy(kind)
			sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
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
			requireSimulatedModel(t, d, res, sim)
			if f := res.Manifest.Linear; f.Clients != 3 || f.Folds != cfg.Defaults().Linear.Folds && kind == fdrmfl.KindPLS {
				t.Fatalf("fit %+v: want 3 clients and %d folds", f, cfg.Defaults().Linear.Folds)
			}
			if !strings.Contains(d.log.String(), "linear statistics summed securely") {
				t.Fatalf("no secure sum of the linear statistics in the log:\n%s", d.log)
			}
			// What each client sent: descriptions and protocol messages only.
			payloads := map[string][][]byte{}
			for _, u := range w.ups {
				if u.Err != nil {
					t.Fatalf("%s failed: %v", u.Client, u.Err)
				}
				var r LinearStatsReply
				if u.Kind == fed.Stats && r.UnmarshalBinary(u.Payload) == nil && r.Parts > 0 {
					t.Fatalf("%s sent its linear statistics in the clear", u.Client)
				}
				payloads[u.Client] = append(payloads[u.Client], u.Payload)
			}
			var fracs []int
			for _, tk := range w.tasks {
				var lt linearStatsTask
				if tk.Kind == fed.Stats && json.Unmarshal(tk.Payload, &lt) == nil && lt.Secure != nil && lt.Secure.Step.Encoding != nil {
					for _, b := range lt.Secure.Step.Encoding.Blocks {
						fracs = append(fracs, lt.Secure.Step.Encoding.Frac(b))
					}
				}
			}
			if len(fracs) == 0 {
				t.Fatal("the server announced no fixed point for the linear statistics")
			}
			for k, folds := range clientFolds(t, cfg, res.Manifest) {
				name := d.Clients[k].Name
				var values []float64
				l := baseline.MergeLayout{P: len(folds[0].MeanX), Q: len(folds[0].MeanY)}
				for _, s := range folds {
					values = append(values, l.First(s)[1:]...) // the count is public: the description's set size
					s.Densify()
					raw := s.Sxx.RawSymmetric()
					for i := 0; i < l.P; i += 3 { // a third of the rows' upper triangles: enough to tell, quick to search
						values = append(values, raw.Data[i*raw.Stride+i:(i+1)*raw.Stride]...)
					}
				}
				if n := leaks(values, fracs, payloads[name]); n > 0 {
					t.Fatalf("%d of %s's %d statistics appear in what it sent the server", n, name, len(values))
				}
				clear, err := encodeLinearStats(folds, l.P, l.Q)
				if err != nil {
					t.Fatal(err)
				}
				if found := leaks(values, nil, [][]byte{clear}); found < len(values)/2 {
					t.Fatalf("the search finds %d of %s's %d statistics in their clear wire form", found, name, len(values))
				} else {
					t.Logf("%s: 0 of %d statistics in what it sent; %d in their clear wire form", name, len(values), found)
				}
			}
		})
	}
}

// dropLinearStep makes a client fail its masked input in the secure sum
// of the cross-products of the second fold: the server leaves it out
// and sums every fold again without it.
func dropLinearStep() func(fed.Client) fed.Client {
	var mu sync.Mutex
	armed := false
	return func(c fed.Client) fed.Client {
		return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
			mu.Lock()
			defer mu.Unlock()
			if t.Kind == fed.Stats {
				var lt linearStatsTask
				armed = json.Unmarshal(t.Payload, &lt) == nil && lt.Secure != nil && lt.Secure.Fold == 1 && lt.Secure.Stage == 2 && lt.Secure.Step.Encoding != nil
			}
			if armed && t.Kind == fed.SecAgg && len(t.Payload) > 0 && t.Payload[0] == 4 {
				return fed.Update{}, errors.New("dropped out")
			}
			mu.Unlock()
			u, err := c.Execute(ctx, t)
			mu.Lock()
			return u, err
		})
	}
}

// TestSecureLinearStatisticsSurviveADropout has client-3 leave the secure
// sums of the linear statistics halfway: it is left out with the reason
// and the model is fitted from the other two, every fold of them.
func TestSecureLinearStatisticsSurviveADropout(t *testing.T) {
	d := newDeployment(t, secureLinearStudy(fdrmfl.KindPLS))
	res, err, outcomes := runDeployment(t, d, map[string]func(fed.Client) fed.Client{"client-3": dropLinearStep()}, nil)
	if err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	for name, o := range outcomes {
		if name != "client-3" && o.err != nil {
			t.Errorf("%s: %v", name, o.err)
		}
	}
	if f := res.Manifest.Linear; f.Clients != 2 {
		t.Fatalf("fitted from %d clients, want the 2 that stayed", f.Clients)
	}
	if o := outcomes["client-3"]; o.err == nil || !strings.Contains(o.err.Error(), "left out") || !strings.Contains(o.err.Error(), "secure sums of the linear statistics") {
		t.Fatalf("client-3: %v, want an error saying it left the secure sums of the linear statistics", o.err)
	}
	if log := d.log.String(); !strings.Contains(log, "client left out") || !strings.Contains(log, "masked input") {
		t.Fatalf("the server did not log client-3's exclusion at the masked input\n%s", log)
	}
	t.Log(outcomes["client-3"].err)
}
