package deploy

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/model"
)

// linearStudy is study's federation fitting a linear model of the
// simulation's vector and text modalities (p = 532 inputs: the large-p
// algebra of package baseline).
func linearStudy(kind string) fdrmfl.Config {
	cfg := study(1)
	cfg.Model = model.Config{Kind: kind, Modalities: []model.Modality{{Name: "text"}, {Name: "vector"}}}
	cfg.Train = fdrmfl.Config{}.Train
	cfg.Federation.Rounds = 0
	cfg.Linear = fdrmfl.Linear{Folds: 4, MaxComponents: 8}
	if kind != fdrmfl.KindPLS {
		cfg.Linear.MaxComponents = 0
	}
	return cfg
}

// TestLinearFederationMatchesSimulate fits PLS, ridge and the lasso with a server
// and three clients talking TLS over 127.0.0.1, the statistics split into
// many parts, and checks that they reach fdrmfl.Simulate's model bit for
// bit, with the same features and predictions on every client's samples.
func TestLinearFederationMatchesSimulate(t *testing.T) {
	for _, kind := range []string{fdrmfl.KindPLS, fdrmfl.KindRidge, fdrmfl.KindLasso} {
		t.Run(kind, func(t *testing.T) {
			cfg := linearStudy(kind)
			sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
			if err != nil {
				t.Fatal(err)
			}
			d := newDeployment(t, cfg)
			ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
			defer cancel()
			lis := listen(t, "127.0.0.1:0")
			results := d.startClients(t, ctx, lis.Addr().String())
			s := d.newServer(t, nil)
			s.partBytes = 300 << 10 // about 15 parts per client
			if kind == fdrmfl.KindRidge {
				s.linearBatch = 2 // clients 1 and 2, then 3
			}
			res, err := s.Run(ctx, lis)
			if err != nil {
				t.Fatalf("%v\n%s", err, d.log)
			}
			requireSimulatedModel(t, d, res, sim)
			if f := res.Manifest.Linear; f.Clients != 3 || f.Folds != 4 || len(f.CV) == 0 {
				t.Fatalf("fit %+v: want 3 clients, 4 folds and a cross-validation", f)
			}
			if !strings.Contains(d.log.String(), "linear statistics") {
				t.Fatalf("no linear statistics in the log:\n%s", d.log)
			}
			d.eachClient(t, results, sim, func(name string, got, want fdrmfl.ClientResult) {
				for s := range want.Splits {
					if !sameBits(got.Splits[s].Z, want.Splits[s].Z) || !sameBits(got.Splits[s].Pred, want.Splits[s].Pred) {
						t.Fatalf("%s: %s features or predictions differ from the simulation's", name, want.Splits[s].Name)
					}
				}
				if got.Test.N != want.Test.N || got.Test.R2[0] != want.Test.R2[0] {
					t.Fatalf("%s: test %+v, the simulation's %+v", name, got.Test, want.Test)
				}
			})
		})
	}
}

// requireSimulatedModel fails the test unless the federation's model —
// weights and manifest — is the simulation's bit for bit.
func requireSimulatedModel(t *testing.T, d *deployment, res, sim *fdrmfl.Result) {
	t.Helper()
	if !sameBits(res.Weights, sim.Weights) {
		t.Fatalf("the federation's model differs from the simulation's\n%s", d.log)
	}
	got, _ := json.Marshal(res.Manifest)
	want, _ := json.Marshal(sim.Manifest)
	if string(got) != string(want) {
		t.Fatalf("manifest\n%s\nthe simulation's\n%s", got, want)
	}
}

// TestLinearServerResumesAfterTheFit stops the server once it has fitted
// and checkpointed the model (its OnDone fails): started again, it hands
// out the checkpointed model without asking for statistics again, and the
// clients, which reconnect, get the simulation's model.
func TestLinearServerResumesAfterTheFit(t *testing.T) {
	cfg := linearStudy(fdrmfl.KindPLS)
	sim, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	d := newDeployment(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	lis := listen(t, "127.0.0.1:0")
	addr := lis.Addr().String()
	results := d.startClients(t, ctx, addr)
	s := d.newServer(t, nil)
	s.c.OnDone = func(*fdrmfl.Result) error { return errors.New("stop here") }
	if _, err := s.Run(ctx, lis); err == nil || !strings.Contains(err.Error(), "stop here") {
		t.Fatalf("first run: %v, want the OnDone error\n%s", err, d.log)
	}
	lis.Close()
	before := strings.Count(d.log.String(), "asking for the linear statistics")
	res, err := d.newServer(t, nil).Run(ctx, listen(t, addr))
	if err != nil {
		t.Fatalf("%v\n%s", err, d.log)
	}
	if after := strings.Count(d.log.String(), "asking for the linear statistics"); before != 1 || after != 1 {
		t.Fatalf("statistics asked for %d times before the restart and %d in all, want once", before, after)
	}
	if !sameBits(res.Weights, sim.Weights) {
		t.Fatal("the resumed server's model differs from the simulation's")
	}
	for range d.Clients {
		if o := <-results; o.err != nil || !sameBits(o.res.Weights, sim.Weights) {
			t.Fatalf("%s: %v", o.name, o.err)
		}
	}
}

// TestLinearUploadChecks: parts that do not belong together, or
// statistics that do not decode to the model's, are refused with the
// reason.
func TestLinearUploadChecks(t *testing.T) {
	const p, q, k = 4, 1, 3
	enc, err := encodeLinearStats(foldStats(t, 12, p, q, k), p, q)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(enc)
	digest := hex.EncodeToString(sum[:])
	const part = 100
	reply := func(i int) LinearStatsReply {
		return LinearStatsReply{Part: i, Parts: (len(enc) + part - 1) / part, Size: len(enc), SHA256: digest, Rows: 12,
			Data: enc[i*part : min((i+1)*part, len(enc))]}
	}
	fresh := func() *linearUpload { return &linearUpload{req: LinearStatsRequest{PartBytes: part}} }
	maxSize, maxParts := statsSize(p, q, k), (statsSize(p, q, k)+part-1)/part
	var back LinearStatsReply
	if b, err := reply(1).MarshalBinary(); err != nil || back.UnmarshalBinary(b) != nil || back.Part != 1 || string(back.Data) != string(reply(1).Data) || back.SHA256 != digest {
		t.Fatalf("reply round trip: %v, %+v", err, back)
	}
	if err := back.UnmarshalBinary([]byte(`{"part": 1}`)); err == nil {
		t.Fatal("a reply without its header line was read")
	}
	u := fresh()
	for i := range reply(0).Parts {
		if why := u.accept(reply(i), maxSize, maxParts); why != "" {
			t.Fatalf("part %d: %s", i, why)
		}
	}
	if st, why := u.decode(p, q, k); why != "" || len(st) != k {
		t.Fatalf("decode: %q, %d folds", why, len(st))
	}
	for _, c := range []struct {
		name  string
		edit  func(r *LinearStatsReply)
		after int // parts accepted before
		want  string
	}{
		{"first part not 0", func(r *LinearStatsReply) { r.Part = 1 }, 0, "part 1 of"},
		{"too big", func(r *LinearStatsReply) { r.Size = maxSize + 1 }, 0, "bytes expected"},
		{"too many parts", func(r *LinearStatsReply) { r.Parts = maxParts + 1 }, 0, "parts and"},
		{"short part", func(r *LinearStatsReply) { r.Data = r.Data[:10] }, 0, "part 0 holds 10 bytes, 100 expected"},
		{"changed", func(r *LinearStatsReply) { r.SHA256 = "00" }, 1, "the statistics changed between parts"},
		{"out of order", func(r *LinearStatsReply) { *r = reply(3) }, 1, "part 3 of"},
	} {
		u := fresh()
		for i := range c.after {
			u.accept(reply(i), maxSize, maxParts)
		}
		r := reply(c.after)
		c.edit(&r)
		if why := u.accept(r, maxSize, maxParts); !strings.Contains(why, c.want) {
			t.Errorf("%s: %q, want %q", c.name, why, c.want)
		}
	}
	// Parts that fit together but do not hash to the announced digest,
	// and statistics of another model.
	u = fresh()
	for i := range reply(0).Parts {
		r := reply(i)
		if i == 2 {
			r.Data = append([]byte(nil), r.Data...)
			r.Data[5] ^= 1
		}
		u.accept(r, maxSize, maxParts)
	}
	if _, why := u.decode(p, q, k); !strings.Contains(why, "assembled") {
		t.Errorf("a corrupted part: %q", why)
	}
	u = fresh()
	for i := range reply(0).Parts {
		u.accept(reply(i), maxSize, maxParts)
	}
	if _, why := u.decode(p+1, q, k); !strings.Contains(why, "the model has 5 and 1") {
		t.Errorf("another model's statistics: %q", why)
	}
}
