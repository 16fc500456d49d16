package attack

import (
	"math"
	"testing"

	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/site"
)

// TestUpdates checks what each attack sends for an honest step of
// (3, 4) from a global model at (1, 1).
func TestUpdates(t *testing.T) {
	global := fed.Weights{1, 1}
	honest := fed.Update{Client: "c", Round: 2, Kind: fed.Fit, Weights: fed.Weights{4, 5}, N: 7}
	for _, c := range []struct {
		a     Attack
		check func(u fed.Update) bool
	}{
		{Attack{Kind: SignFlip}, func(u fed.Update) bool { return u.Weights[0] == -2 && u.Weights[1] == -3 && u.N == 7 }},
		{Attack{Kind: Scale, Factor: 10}, func(u fed.Update) bool { return u.Weights[0] == 31 && u.Weights[1] == 41 }},
		{Attack{Kind: Frozen}, func(u fed.Update) bool { return u.Weights[0] == 1 && u.Weights[1] == 1 && u.N == math.MaxInt32 }},
		{Attack{Kind: Noise, Seed: 1}, func(u fed.Update) bool {
			d := fed.Distance(global, u.Weights, nil)
			return d > 0 && d < 25 && u.Weights[0] != 4 // a random step of about the honest length, 5
		}},
		{Attack{Kind: Absent}, func(u fed.Update) bool { return u.Err != nil }},
		{Attack{Kind: LabelFlip}, func(u fed.Update) bool { return u.Weights[0] == 4 }}, // trains on other data instead
	} {
		if u := c.a.Update(global, honest); !c.check(u) {
			t.Errorf("%s: sent %+v", c.a.Kind, u)
		}
	}
	if honest.Weights[0] != 4 {
		t.Fatal("the attack modified the honest update")
	}
}

// TestALIE: z is Baruch et al.'s z_max, and the hostile update sits z
// standard deviations below the honest mean in every coordinate.
func TestALIE(t *testing.T) {
	if z := zMax(10, 1); math.Abs(z) > 1e-12 {
		t.Fatalf("z_max(10, 1) = %v, want 0", z)
	}
	if z := zMax(10, 3); math.Abs(z-0.5244) > 1e-3 {
		t.Fatalf("z_max(10, 3) = %v, want 0.524", z)
	}
	global := fed.Weights{0}
	honest := []fed.Update{{Weights: fed.Weights{1}}, {Weights: fed.Weights{3}}}
	a := &Attack{Kind: ALIE, Factor: 2}
	u := a.update(global, fed.Update{Kind: fed.Fit, Weights: fed.Weights{9}}, honest, 1)
	if u.Weights[0] != 0 { // mean 2, sd 1: 2 − 2·1
		t.Fatalf("ALIE sent %v, want 0", u.Weights)
	}
}

// TestStatistics: only a hostile client's statistics are scaled, and the
// original is left alone.
func TestStatistics(t *testing.T) {
	m := []site.Moments{{Name: "x", N: []float64{2}, Sum: []float64{3}, Sum2: []float64{5}}}
	a := &Attack{Kind: Stats, Clients: []string{"bad"}}
	got, _ := a.Statistics("bad", m, 2)
	if got[0].Sum[0] != 3e6 || got[0].Sum2[0] != 5e6 || m[0].Sum[0] != 3 {
		t.Fatalf("scaled %+v, original %+v", got, m)
	}
	if got, _ := a.Statistics("good", m, 2); got[0].Sum[0] != 3 {
		t.Fatalf("an honest client's statistics changed: %+v", got)
	}
}
