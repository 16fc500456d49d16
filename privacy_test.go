package fdrmfl_test

import (
	"context"
	"errors"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl"
	"github.com/fdrmfl/fdrmfl/fed"
	"github.com/fdrmfl/fdrmfl/internal/shareddata"
	"github.com/fdrmfl/fdrmfl/train"
)

// dropping makes client name fail its fit (plain) or its masked input
// (secure: after training, sharing its keys and receiving its
// neighbours' shares), every round.
func dropping(name string, secure bool) func(string, fed.Client) fed.Client {
	return func(n string, c fed.Client) fed.Client {
		if n != name {
			return c
		}
		return fed.ClientFunc(func(ctx context.Context, t fed.Task) (fed.Update, error) {
			if (!secure && t.Kind == fed.Fit) || (secure && t.Kind == fed.SecAgg && t.Payload[0] == 4) {
				return fed.Update{}, errors.New("dropped out")
			}
			return c.Execute(ctx, t)
		})
	}
}

// TestSecureAggregationWithDropoutsMatchesFedAvg runs ten clients on the
// Tecator data (fat), one of
// which (10 %) drops out of every round, in the clear and under secure
// aggregation — statistics and updates — and checks that the models agree
// within the quantisation error: R² on the test samples moves by at most
// 0.001.
func TestSecureAggregationWithDropoutsMatchesFedAvg(t *testing.T) {
	cfg := fdrmfl.Config{
		Seed:       3,
		Data:       fdrmfl.Data{Source: "csv", Preset: "tecator-p1/fat"},
		Federation: fdrmfl.Federation{Clients: 10, Rounds: 10},
	}
	fsys := os.DirFS(shareddata.Dir(t))
	plain, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: fsys, Wrap: dropping("client-04", false)})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Privacy.Secure.Enabled = true
	sec, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: fsys, Wrap: dropping("client-04", true)})
	if err != nil {
		t.Fatal(err)
	}
	for r := range plain.Rounds {
		if plain.Rounds[r].Clients != 9 || sec.Rounds[r].Clients != 9 {
			t.Fatalf("round %d merged %d (plain) and %d (secure) clients, want 9", r+1, plain.Rounds[r].Clients, sec.Rounds[r].Clients)
		}
	}
	var worst float64
	for i := range plain.Weights {
		worst = max(worst, math.Abs(float64(plain.Weights[i]-sec.Weights[i])))
	}
	dr2 := math.Abs(plain.Test.R2[0] - sec.Test.R2[0])
	t.Logf("R² %.6f in the clear, %.6f under secure aggregation; largest weight difference %.3g", plain.Test.R2[0], sec.Test.R2[0], worst)
	if plain.Test.R2[0] < 0.2 {
		t.Fatalf("R² %v: the model did not learn enough for the comparison to mean anything", plain.Test.R2[0])
	}
	if dr2 > 0.001 {
		t.Fatalf("R² moved by %v", dr2)
	}
	// Each round's aggregation differs by at most m·step/(2Σω), with the
	// fixed-point step 2⁻²⁹ (≈ 1e-8 for ten clients), plus float32
	// rounding; training from the slightly different models can let that
	// grow (Adam normalises its steps), so the bound is loose.
	if worst > 1e-5 {
		t.Fatalf("weights differ by %v", worst)
	}
}

// TestClientDPReportsEpsilonAndStops trains with client-level DP and a
// budget that lasts a few rounds: every round reports the ε spent so far,
// increasing, and training stops before the budget is passed.
func TestClientDPReportsEpsilonAndStops(t *testing.T) {
	cfg := small()
	cfg.Federation.Rounds = 20
	cfg.Privacy.DP = fdrmfl.DP{Level: "client", Noise: 2, Epsilon: 6, Clip: 0.5}
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if n := len(res.Rounds); n == 0 || n == 20 {
		t.Fatalf("%d rounds ran: the budget should stop training early", n)
	}
	prev := 0.0
	for _, r := range res.Rounds {
		if r.Epsilon <= prev || r.Epsilon > 6 || r.Delta != 1e-5 {
			t.Fatalf("round %d: ε = %v after %v (budget 6), δ = %v", r.Round, r.Epsilon, prev, r.Delta)
		}
		prev = r.Epsilon
	}
	if res.Weights == nil {
		t.Fatal("no model after the budget stopped training")
	}
}

func TestPrivacyConfigErrorsNameTheKey(t *testing.T) {
	for _, c := range []struct {
		mutate func(*fdrmfl.Config)
		want   string
	}{
		{func(c *fdrmfl.Config) { c.Privacy.Secure = fdrmfl.SecureAggregation{Enabled: true, Bits: 70} }, "privacy.secure_aggregation.bits"},
		{func(c *fdrmfl.Config) { c.Privacy.Secure = fdrmfl.SecureAggregation{Enabled: true, Threshold: 1} }, "privacy.secure_aggregation.threshold"},
		{func(c *fdrmfl.Config) { c.Privacy.DP = fdrmfl.DP{Level: "row"} }, "privacy.dp.level"},
		{func(c *fdrmfl.Config) { c.Privacy.DP = fdrmfl.DP{Level: "client"} }, "privacy.dp"},
		{func(c *fdrmfl.Config) { c.Privacy.DP = fdrmfl.DP{Level: "client", Noise: 1, NoiseAt: "clients"} }, "privacy.dp.noise_at"},
		{func(c *fdrmfl.Config) {
			c.Privacy.Secure.Enabled, c.Federation.Clients = true, 1
		}, "privacy.secure_aggregation.enabled"},
	} {
		cfg := small()
		c.mutate(&cfg)
		_, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one naming %q", err, c.want)
		}
	}
}

// TestSampleDPTrainsWithinBudget trains three Tecator clients by DP-SGD
// with a budget of ε = 3: the noise is chosen to spend it over the
// rounds, every round reports what the most exposed client has spent, and
// the last round ends within the budget.
func TestSampleDPTrainsWithinBudget(t *testing.T) {
	cfg := fdrmfl.Config{
		Seed:       2,
		Data:       fdrmfl.Data{Source: "csv", Preset: "tecator-p1/fat"},
		Federation: fdrmfl.Federation{Clients: 3, Rounds: 4},
		Loss:       &train.Loss{KL: 0.01, Con: 0.01},
		Privacy:    fdrmfl.Privacy{DP: fdrmfl.DP{Level: "sample", Epsilon: 3}},
	}
	cfg.Train.Epochs = 2
	res, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: os.DirFS(shareddata.Dir(t))})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rounds) != 4 {
		t.Fatalf("%d rounds: the calibrated noise should last all 4", len(res.Rounds))
	}
	last := res.Rounds[3].Epsilon
	if last > 3 || last < 2.5 {
		t.Fatalf("ε after the last round %v: the calibration should spend most of the budget of 3", last)
	}
	if res.Manifest.Train.DP.Noise == 0 {
		t.Fatal("the model's manifest does not record DP-SGD")
	}
	cfg.Loss = nil // the default MI term has no per-sample gradient
	if _, err := fdrmfl.Simulate(context.Background(), cfg, fdrmfl.Options{FS: os.DirFS(shareddata.Dir(t))}); err == nil || !strings.Contains(err.Error(), "loss.mi") {
		t.Fatalf("sample-level DP with the MI term: %v", err)
	}
}
