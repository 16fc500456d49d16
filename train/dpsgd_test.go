package train_test

import (
	"math"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// dpNet is a network DP-SGD can train: no batch normalisation; a conv
// encoder, a BiLSTM and an MLP, so that every kind of layer is covered.
func dpNet() model.Config {
	return model.Config{Latent: 8, Features: 4, Modalities: []model.Modality{
		{Name: "image", Shape: []int{3, 32, 32}, Encoder: model.Encoder{Type: model.EncConv2d, Channels: []int{4}, Strides: []int{4}}},
		{Name: "text", Shape: []int{10, 50}, Encoder: model.Encoder{Type: model.EncBiLSTM, LSTMHidden: 4, LSTMLayers: 1}},
		{Name: "vector", Shape: []int{32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{8}}},
	}, Head: model.Head{Hidden: []int{8}}}
}

// oneStep trains one epoch of one full batch with plain SGD and returns
// the weights.
func oneStep(t *testing.T, cfg train.Config, n int) ([]float32, []float32) {
	t.Helper()
	ds := simData(t, n, 4)
	tr, err := train.New(dpNet(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	w, _ := train.InitialWeights(dpNet(), 2)
	res, err := tr.Fit(train.Task{Data: ds, Global: w, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return w, res.Weights
}

// TestDPSGDPerSampleGradientsSumToTheBatchGradient checks the per-sample
// gradients: with every sample in the batch (q = 1), no clipping to speak
// of and no noise to speak of, DP-SGD's step — the mean of n gradients of
// one sample each — is the ordinary step on the full batch, whose
// gradient the engine's own tests check against finite differences.
func TestDPSGDPerSampleGradientsSumToTheBatchGradient(t *testing.T) {
	const n = 12
	base := train.Config{Epochs: 1, BatchSize: n, Optimizer: "sgd", LR: 0.1, Loss: train.Loss{KL: 0.05}}
	w0, plain := oneStep(t, base, n)
	dp := base
	dp.DP = train.DPSGD{Clip: 1e9, Noise: 1e-30}
	_, priv := oneStep(t, dp, n)
	var worst, moved float64
	for i := range plain {
		worst = max(worst, math.Abs(float64(plain[i]-priv[i])))
		moved = max(moved, math.Abs(float64(plain[i]-w0[i])))
	}
	if moved == 0 || worst > 1e-5*moved+1e-7 {
		t.Fatalf("DP-SGD's step differs from the batch step by %g (the step moved weights by up to %g)", worst, moved)
	}
}

// TestDPSGDClips checks that the step is bounded by the clipping: each
// sample's gradient has norm at most C, so with q = 1 the mean moves the
// weights by at most lr·C.
func TestDPSGDClips(t *testing.T) {
	const n, c, lr = 10, 1e-3, 0.5
	cfg := train.Config{Epochs: 1, BatchSize: n, Optimizer: "sgd", LR: lr, DP: train.DPSGD{Clip: c, Noise: 1e-30}}
	w0, w1 := oneStep(t, cfg, n)
	var s float64
	for i := range w0 {
		d := float64(w1[i] - w0[i])
		s += d * d
	}
	if math.Sqrt(s) > lr*c*(1+1e-4) {
		t.Fatalf("the step has norm %g, more than lr·C = %g", math.Sqrt(s), lr*c)
	}
}

// TestDPSGDNoise checks that the noise is there: two seeds give different
// steps, and with σ·C large the step's size follows σ·C·√P·lr/(q·n).
func TestDPSGDNoise(t *testing.T) {
	const n = 10
	cfg := train.Config{Epochs: 1, BatchSize: n, Optimizer: "sgd", LR: 1, DP: train.DPSGD{Clip: 1e-6, Noise: 1e3}}
	w0, w1 := oneStep(t, cfg, n)
	var s float64
	for i := range w0 {
		d := float64(w1[i] - w0[i])
		s += d * d
	}
	want := 1e3 * 1e-6 * math.Sqrt(float64(len(w0))) / n // noise std σC per weight, over q·n = n
	if r := math.Sqrt(s) / want; r < 0.9 || r > 1.1 {
		t.Fatalf("step norm %g, want about %g", math.Sqrt(s), want)
	}
}

func TestDPSGDRefuses(t *testing.T) {
	dp := train.DPSGD{Clip: 1, Noise: 1}
	if _, err := train.New(dpNet(), train.Config{DP: dp, Loss: train.Loss{MI: 0.1}}); err == nil || !strings.Contains(err.Error(), "loss.mi") {
		t.Errorf("MI term under DP-SGD: %v", err)
	}
	if _, err := train.New(netConfig(), train.Config{DP: dp}); err == nil || !strings.Contains(err.Error(), "batch normalisation") {
		t.Errorf("batch normalisation under DP-SGD: %v", err)
	}
}

// BenchmarkEpoch times one epoch of 128 samples, in batches of 16, of
// ordinary training and of DP-SGD (one forward and backward pass per
// sample, clipping and noise) on the same network.
func BenchmarkEpoch(b *testing.B) {
	for _, c := range []struct {
		name string
		dp   train.DPSGD
	}{{"plain", train.DPSGD{}}, {"dpsgd", train.DPSGD{Clip: 1, Noise: 1}}} {
		b.Run(c.name, func(b *testing.B) {
			ds := simData(&testing.T{}, 128, 5)
			tr, err := train.New(dpNet(), train.Config{Epochs: 1, BatchSize: 16, DP: c.dp})
			if err != nil {
				b.Fatal(err)
			}
			w, _ := train.InitialWeights(dpNet(), 2)
			for b.Loop() {
				if _, err := tr.Fit(train.Task{Data: ds, Global: w, Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
