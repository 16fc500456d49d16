package secagg

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// detRand is a deterministic byte source for tests (keys and shares only;
// nothing secret depends on it in a test).
type detRand struct{ r *rand.ChaCha8 }

func newRand(seed byte) *detRand { return &detRand{rand.NewChaCha8([32]byte{seed})} }

func (d *detRand) Read(b []byte) (int, error) { return d.r.Read(b) }

func testParams(n, k, t, bits, l int) Params {
	p := Params{Parties: n, Degree: k, Threshold: t, Bits: bits, Len: l}
	p.Session[0], p.GraphSeed[0] = 7, 9
	return p
}

// run runs an aggregation of inputs; drop[phase] lists the parties that
// stop answering from that phase on (they answer every earlier one). It
// returns the sum and the parties in it.
func run(t *testing.T, p Params, inputs []Vec, drop map[Phase][]int) (Vec, []int, error) {
	t.Helper()
	rng := newRand(1)
	clients := make([]*Client, p.Parties)
	gone := map[int]bool{}
	srv, err := NewServer(p)
	if err != nil {
		t.Fatal(err)
	}
	pending := map[int][]byte{}
	for i := range clients {
		if clients[i], err = NewClient(p, i, inputs[i], rng); err != nil {
			t.Fatal(err)
		}
	}
	for ph := Advertise; ph <= Unmask; ph++ {
		for _, d := range drop[ph] {
			gone[d] = true
		}
		for i, c := range clients {
			if gone[i] {
				continue
			}
			var out []byte
			if ph == Advertise {
				out, err = c.Start()
			} else {
				in, ok := pending[i]
				if !ok {
					continue // left out by the server
				}
				out, err = c.Step(in)
			}
			if err != nil {
				t.Fatalf("party %d, phase %v: %v", i, ph, err)
			}
			if err := srv.Receive(i, out); err != nil {
				t.Fatalf("server, party %d, phase %v: %v", i, ph, err)
			}
		}
		if pending, err = srv.Next(); err != nil {
			return Vec{}, nil, err
		}
	}
	return srv.Sum()
}

func randomInputs(n, bits, l int, seed uint64) []Vec {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]Vec, n)
	for i := range out {
		out[i] = NewVec(bits, l)
		for j := range l {
			out[i].Set(j, r.Uint64())
		}
	}
	return out
}

func plainSum(inputs []Vec, who []int) Vec {
	s := NewVec(inputs[0].Bits, inputs[0].Len())
	for _, i := range who {
		s.Add(inputs[i])
	}
	return s
}

func sameVec(a, b Vec) bool {
	if a.Len() != b.Len() {
		return false
	}
	for i := range a.Len() {
		if a.At(i) != b.At(i) {
			return false
		}
	}
	return true
}

func TestSumEqualsPlainSum(t *testing.T) {
	for _, c := range []struct {
		name          string
		n, k, t, bits int
	}{
		{"complete graph, 32 bits", 6, 5, 4, 32},
		{"complete graph, 24 bits", 5, 4, 3, 24},
		{"complete graph, 64 bits", 4, 3, 3, 64},
		{"sparse graph", 40, DefaultDegree(40), DefaultThreshold(DefaultDegree(40)), 32},
		{"sparse graph, 48 bits", 30, 6, 4, 48},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := testParams(c.n, c.k, c.t, c.bits, 1000)
			in := randomInputs(c.n, c.bits, 1000, 3)
			sum, who, err := run(t, p, in, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(who) != c.n {
				t.Fatalf("%d parties in the sum, want %d", len(who), c.n)
			}
			all := make([]int, c.n)
			for i := range all {
				all[i] = i
			}
			if !sameVec(sum, plainSum(in, all)) {
				t.Fatal("the unmasked sum differs from the plain sum")
			}
		})
	}
}

// TestDropoutsAtEachPhase drops up to n − t parties at each phase of a
// complete-graph aggregation (Bonawitz et al.) and checks that the sum is
// that of the parties whose masked input arrived.
func TestDropoutsAtEachPhase(t *testing.T) {
	const n, th, l = 7, 4, 257
	p := testParams(n, n-1, th, 32, l)
	in := randomInputs(n, 32, l, 5)
	for ph := Advertise; ph <= Unmask; ph++ {
		for d := 1; d <= n-th; d++ {
			drop := map[Phase][]int{}
			for i := range d {
				drop[ph] = append(drop[ph], (2*i+1)%n)
			}
			sum, who, err := run(t, p, in, drop)
			if err != nil {
				t.Fatalf("phase %v, %d dropouts: %v", ph, d, err)
			}
			want := []int{}
			for i := range n {
				if ph == Unmask || !slices.Contains(drop[ph], i) {
					want = append(want, i)
				}
			}
			if !slices.Equal(who, want) {
				t.Fatalf("phase %v, %d dropouts: parties %v in the sum, want %v", ph, d, who, want)
			}
			if !sameVec(sum, plainSum(in, want)) {
				t.Fatalf("phase %v, %d dropouts: wrong sum", ph, d)
			}
		}
		// One more than n − t is too many.
		drop := map[Phase][]int{}
		for i := range n - th + 1 {
			drop[ph] = append(drop[ph], i)
		}
		if _, _, err := run(t, p, in, drop); err == nil {
			t.Fatalf("phase %v: %d dropouts out of %d with threshold %d gave a sum", ph, n-th+1, n, th)
		}
	}
}

// TestDropoutsAcrossPhases drops parties at several phases at once on a
// sparse graph.
func TestDropoutsAcrossPhases(t *testing.T) {
	n := 50
	k := DefaultDegree(n)
	p := testParams(n, k, DefaultThreshold(k), 32, 100)
	in := randomInputs(n, 32, 100, 8)
	drop := map[Phase][]int{Advertise: {3}, Share: {11}, Mask: {20, 41}, Unmask: {7, 33}}
	sum, who, err := run(t, p, in, drop)
	if err != nil {
		t.Fatal(err)
	}
	var want []int
	for i := range n {
		if !slices.Contains([]int{3, 11, 20, 41}, i) {
			want = append(want, i)
		}
	}
	if !slices.Equal(who, want) || !sameVec(sum, plainSum(in, want)) {
		t.Fatalf("parties %v, want %v, or a wrong sum", who, want)
	}
}

func TestQuantisationBound(t *testing.T) {
	enc := Encoding{Bits: 32, Blocks: []Block{{Len: 500, Clip: 4, MaxSum: 4}, {Len: 3, Clip: 1000, MaxSum: 8000}}}
	n := 8
	r := rand.New(rand.NewPCG(2, 2))
	p := testParams(n, n-1, 5, 32, enc.Len())
	var in []Vec
	plain := make([]float64, enc.Len())
	for range n {
		x := make([]float64, enc.Len())
		for j := range x {
			if j < 500 {
				x[j] = (r.Float64()*2 - 1) * 4 / float64(n)
			} else {
				x[j] = r.NormFloat64() * 300
			}
			plain[j] += x[j]
		}
		v, clipped, err := enc.Encode(x)
		if err != nil || clipped != 0 {
			t.Fatal(err, clipped)
		}
		in = append(in, v)
	}
	sum, _, err := run(t, p, in, nil)
	if err != nil {
		t.Fatal(err)
	}
	got, err := enc.Decode(sum)
	if err != nil {
		t.Fatal(err)
	}
	for j := range got {
		b := enc.Blocks[0]
		if j >= 500 {
			b = enc.Blocks[1]
		}
		if bound := float64(n) * enc.Step(b) / 2; math.Abs(got[j]-plain[j]) > bound {
			t.Fatalf("value %d: %v, plain %v: off by more than n·step/2 = %g", j, got[j], plain[j], bound)
		}
	}
}

func TestEncodeClips(t *testing.T) {
	enc := Encoding{Bits: 16, Blocks: []Block{{Len: 3, Clip: 1, MaxSum: 1}}}
	v, clipped, err := enc.Encode([]float64{2, -0.5, -7})
	if err != nil || clipped != 2 {
		t.Fatal(err, clipped)
	}
	got, _ := enc.Decode(v)
	if got[0] != 1 || got[1] != -0.5 || got[2] != -1 {
		t.Fatalf("decoded %v", got)
	}
	if _, _, err := enc.Encode([]float64{math.NaN(), 0, 0}); err == nil {
		t.Fatal("NaN encoded")
	}
	if err := (Encoding{Bits: 8, Blocks: []Block{{Len: 1, Clip: 1, MaxSum: 1e6}}}).Check(); err == nil {
		t.Fatal("an encoding without fractional bits passed")
	}
}

// chiSquare returns Pearson's statistic of the top byte of v's elements
// over 256 equally likely bins.
func chiSquare(v Vec) float64 {
	var counts [256]float64
	for i := range v.Len() {
		counts[v.At(i)>>(v.Bits-8)]++
	}
	e := float64(v.Len()) / 256
	var x2 float64
	for _, c := range counts {
		x2 += (c - e) * (c - e) / e
	}
	return x2
}

// ksUniform returns the Kolmogorov–Smirnov distance between v's elements,
// scaled to [0, 1), and the uniform distribution.
func ksUniform(v Vec) float64 {
	xs := make([]float64, v.Len())
	for i := range xs {
		xs[i] = math.Ldexp(float64(v.At(i)), -v.Bits)
	}
	slices.Sort(xs)
	var d float64
	n := float64(len(xs))
	for i, x := range xs {
		d = max(d, math.Abs(float64(i+1)/n-x), math.Abs(x-float64(i)/n))
	}
	return d
}

// TestMaskedInputLooksUniform checks what the server sees of one party:
// its masked input, for a structured input (a ramp of small values), is
// indistinguishable from uniform by a chi-square test on the top byte
// (255 degrees of freedom: the 0.999 quantile is 330.5) and by
// Kolmogorov–Smirnov (1.95/√n at α = 0.001), while the unmasked encoding
// fails both.
func TestMaskedInputLooksUniform(t *testing.T) {
	const n, l = 5, 100_000
	enc := Encoding{Bits: 32, Blocks: []Block{{Len: l, Clip: 1, MaxSum: 1}}}
	x := make([]float64, l)
	for i := range x {
		x[i] = float64(i%100) / 1000
	}
	own, _, err := enc.Encode(x)
	if err != nil {
		t.Fatal(err)
	}
	p := testParams(n, n-1, 3, 32, l)
	rng := newRand(4)
	var clients []*Client
	srv, _ := NewServer(p)
	var msgs map[int][]byte
	for i := range n {
		in := NewVec(32, l)
		if i == 0 {
			in = own
		}
		c, err := NewClient(p, i, in, rng)
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
		m, _ := c.Start()
		srv.Receive(i, m)
	}
	for range 2 {
		if msgs, err = srv.Next(); err != nil {
			t.Fatal(err)
		}
		for i, c := range clients {
			m, err := c.Step(msgs[i])
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 && m[0] == msgMasked {
				seen := NewVec(32, l)
				if err := seen.AddPacked(m[17:]); err != nil {
					t.Fatal(err)
				}
				ksCrit := 1.95 / math.Sqrt(l)
				if x2, d := chiSquare(seen), ksUniform(seen); x2 > 330.5 || d > ksCrit {
					t.Fatalf("the masked input is not uniform: χ² = %.1f (critical 330.5), KS = %.4f (critical %.4f)", x2, d, ksCrit)
				}
				if x2, d := chiSquare(own), ksUniform(own); x2 < 330.5 || d < ksCrit {
					t.Fatalf("the test cannot tell the raw input from uniform: χ² = %.1f, KS = %.4f", x2, d)
				}
			}
			srv.Receive(i, m)
		}
	}
}

// unmaskRequest builds a request naming survivors and dropped parties.
func unmaskRequest(p Params, survived, dropped []uint32) []byte {
	return appendIDs(appendIDs(header(msgUnmaskReq, p), survived), dropped)
}

// toUnmask runs an aggregation up to the unmasking phase and returns the
// clients, waiting for their unmasking request.
func toUnmask(t *testing.T, p Params) []*Client {
	t.Helper()
	rng := newRand(6)
	srv, _ := NewServer(p)
	var clients []*Client
	for i := range p.Parties {
		c, _ := NewClient(p, i, NewVec(p.Bits, p.Len), rng)
		clients = append(clients, c)
		m, _ := c.Start()
		srv.Receive(i, m)
	}
	for range 2 {
		msgs, err := srv.Next()
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range clients {
			m, err := c.Step(msgs[i])
			if err != nil {
				t.Fatal(err)
			}
			srv.Receive(i, m)
		}
	}
	return clients
}

func TestBothSharesRefused(t *testing.T) {
	p := testParams(5, 4, 3, 32, 8)
	all := []uint32{0, 1, 2, 3, 4}
	for _, c := range []struct {
		name              string
		survived, dropped []uint32
		want              error
	}{
		{"a party both survived and dropped", all, []uint32{3}, ErrBothShares},
		{"the party asked counted as dropped", []uint32{1, 2, 3, 4}, []uint32{0}, ErrBothShares},
		{"fewer survivors than the threshold", []uint32{0, 1}, []uint32{2, 3, 4}, ErrTooFew},
	} {
		t.Run(c.name, func(t *testing.T) {
			clients := toUnmask(t, p)
			_, err := clients[0].Step(unmaskRequest(p, c.survived, c.dropped))
			if !errors.Is(err, c.want) {
				t.Fatalf("got %v, want %v", err, c.want)
			}
		})
	}
	t.Run("a second request", func(t *testing.T) {
		clients := toUnmask(t, p)
		if _, err := clients[0].Step(unmaskRequest(p, all, nil)); err != nil {
			t.Fatal(err)
		}
		// Having given party 3's self-mask share, party 0 must not give its key share.
		_, err := clients[0].Step(unmaskRequest(p, []uint32{0, 1, 2, 4}, []uint32{3}))
		if !errors.Is(err, ErrPhase) {
			t.Fatalf("got %v, want %v", err, ErrPhase)
		}
	})
}

// TestSplitViewServerLearnsNothing plays the dishonest server of the
// threat model: it tells some of party 3's neighbours that 3 survived
// (to collect its self-mask seed) and the others that it dropped (to
// collect its mask key), which would unmask 3's input. With a threshold
// above half the neighbourhood, one of the two secrets always lacks
// shares.
func TestSplitViewServerLearnsNothing(t *testing.T) {
	const n = 7
	p := testParams(n, n-1, DefaultThreshold(n-1), 32, 4)
	for split := 0; split <= n-1; split++ {
		clients := toUnmask(t, p)
		var bShares, sShares int
		others := []uint32{0, 1, 2, 4, 5, 6}
		for i, c := range others {
			var survived, dropped []uint32
			if i < split {
				survived, dropped = []uint32{0, 1, 2, 3, 4, 5, 6}, nil
			} else {
				survived, dropped = []uint32{0, 1, 2, 4, 5, 6}, []uint32{3}
			}
			reply, err := clients[c].Step(unmaskRequest(p, survived, dropped))
			if err != nil {
				continue
			}
			r, _ := open(reply, msgUnmaskReply, p)
			for _, e := range r.shares() {
				if e.of == 3 {
					bShares++
				}
			}
			for _, e := range r.shares() {
				if e.of == 3 {
					sShares++
				}
			}
		}
		bShares++ // party 3's own share of b, which it would give as a survivor
		if bShares >= p.Threshold && sShares >= p.Threshold {
			t.Fatalf("split %d: the server got %d self-mask and %d key shares of party 3 (threshold %d)", split, bShares, sShares, p.Threshold)
		}
	}
}

func TestShamir(t *testing.T) {
	r := newRand(3)
	secret := make([]byte, SecretSize)
	r.Read(secret)
	xs := []uint32{1, 2, 3, 4, 5, 6}
	sh, err := split(secret, 4, xs, r)
	if err != nil {
		t.Fatal(err)
	}
	for _, pick := range [][]int{{0, 1, 2, 3}, {5, 3, 1, 0}, {2, 3, 4, 5, 0}} {
		var sub []share
		for _, i := range pick {
			sub = append(sub, sh[i])
		}
		got, err := combine(sub, 4)
		if err != nil || !bytes.Equal(got, secret) {
			t.Fatalf("shares %v: %v", pick, err)
		}
	}
	if got, err := combine(sh[:3], 3); err == nil && bytes.Equal(got, secret) {
		t.Fatal("three shares of a threshold-4 secret gave it back")
	}
	if _, err := combine([]share{sh[0], sh[0], sh[1], sh[2]}, 4); err == nil {
		t.Fatal("a repeated share was accepted")
	}
}

func TestParams(t *testing.T) {
	p := testParams(100, DefaultDegree(100), DefaultThreshold(DefaultDegree(100)), 32, 10)
	if p.degree() != 14 {
		t.Fatalf("degree %d for 100 parties, want 2⌈log₂ 100⌉ = 14", p.degree())
	}
	b, _ := p.MarshalBinary()
	var q Params
	if err := q.UnmarshalBinary(b); err != nil || q != p {
		t.Fatalf("round trip: %v, %+v", err, q)
	}
	// The graph is symmetric and each party has k neighbours.
	for i := range 100 {
		nb := p.Neighbours(i)
		if len(nb) != 14 {
			t.Fatalf("party %d has %d neighbours", i, len(nb))
		}
		for _, j := range nb {
			if _, ok := slices.BinarySearch(p.Neighbours(int(j)), uint32(i)); !ok {
				t.Fatalf("%d is %d's neighbour but not the other way", j, i)
			}
		}
	}
	for _, bad := range []Params{
		testParams(1, 1, 1, 32, 1),
		testParams(10, 4, 2, 32, 1), // t not above (k+1)/2
		testParams(10, 4, 6, 32, 1), // t above k+1
		testParams(10, 4, 3, 4, 1),  // bits
	} {
		if bad.Validate() == nil {
			t.Errorf("%+v passed", bad)
		}
	}
}

func FuzzServerReceive(f *testing.F) {
	p := testParams(4, 3, 3, 16, 3)
	c, _ := NewClient(p, 1, NewVec(16, 3), newRand(1))
	m, _ := c.Start()
	f.Add(m, 0)
	f.Add([]byte{msgShares}, 1)
	f.Fuzz(func(t *testing.T, msg []byte, phase int) {
		s, _ := NewServer(p)
		for range phase % 4 {
			s.Next()
		}
		s.Receive(1, msg) // must not panic
	})
}

func FuzzClientStep(f *testing.F) {
	p := testParams(4, 3, 3, 16, 3)
	f.Add(appendKeys(header(msgKeyList, p), []keyEntry{{id: 2}}), 1)
	f.Add(unmaskRequest(p, []uint32{0, 1, 2}, []uint32{3}), 3)
	f.Fuzz(func(t *testing.T, msg []byte, phase int) {
		c, _ := NewClient(p, 1, NewVec(16, 3), newRand(1))
		c.Start()
		c.phase = 1 + (phase%3+3)%3
		c.Step(msg) // must not panic
	})
}

func TestPackRoundTrip(t *testing.T) {
	for _, bits := range []int{8, 12, 24, 32, 40, 64} {
		v := randomInputs(1, bits, 33, uint64(bits))[0]
		w := NewVec(bits, 33)
		if err := w.AddPacked(v.Pack(nil)); err != nil || !sameVec(v, w) {
			t.Fatalf("%d bits: %v", bits, err)
		}
		if len(v.Pack(nil)) != PackedSize(bits, 33) {
			t.Fatalf("%d bits: packed size", bits)
		}
	}
}
