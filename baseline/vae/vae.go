// Package vae is the variational autoencoder baseline of the paper's
// simulation study (Kingma & Welling, 2014), trained with the project's
// engine: an MLP encoder to a Gaussian latent (μ, log σ²), an MLP decoder,
// loss = mean squared reconstruction error + β·KL(q(z|x) ‖ N(0, I)), and μ
// as the extracted features.
package vae

import (
	"fmt"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/nn"
	"github.com/fdrmfl/fdrmfl/optim"
)

// Config sets the architecture and training; zero fields take the
// author's settings.
type Config struct {
	Latent int     // size of z (16)
	Hidden []int   // encoder hidden sizes, mirrored by the decoder ([128 64])
	Epochs int     // 80
	Batch  int     // 256
	LR     float64 // Adam learning rate (1e-3)
	Beta   float64 // weight of the KL term (1)
}

func (c Config) defaults() Config {
	if c.Latent == 0 {
		c.Latent = 16
	}
	if c.Hidden == nil {
		c.Hidden = []int{128, 64}
	}
	if c.Epochs == 0 {
		c.Epochs = 80
	}
	if c.Batch == 0 {
		c.Batch = 256
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Beta == 0 {
		c.Beta = 1
	}
	return c
}

// VAE is a trained autoencoder.
type VAE struct {
	cfg        Config
	in         int
	enc        *nn.Sequential[float32]
	mu, logvar *nn.Dense[float32]
	dec        *nn.Sequential[float32]
	st         *nn.State[float32]
	tape       *ag.Tape[float32]
	// LastLoss and LastRecon are the mean loss and reconstruction error of
	// the last epoch.
	LastLoss, LastRecon float64
}

type parts struct{ v *VAE }

func (p parts) Params() []nn.Named[float32] {
	v := p.v
	ps := nn.Prefix("encoder", v.enc.Params())
	ps = append(ps, nn.Prefix("mu", v.mu.Params())...)
	ps = append(ps, nn.Prefix("logvar", v.logvar.Params())...)
	return append(ps, nn.Prefix("decoder", v.dec.Params())...)
}

// Fit trains a VAE on the n rows of x (n×p, row-major, already
// standardised), shuffling and sampling with seed.
func Fit(x []float32, n, p int, cfg Config, seed uint64) (*VAE, error) {
	cfg = cfg.defaults()
	if n < 2 || p < 1 || len(x) != n*p {
		return nil, fmt.Errorf("vae: %d values for %d rows of %d features", len(x), n, p)
	}
	r := rand.New(rand.NewPCG(seed, 0xfae))
	v := &VAE{cfg: cfg, in: p, tape: ag.NewTape[float32]()}
	v.enc = mlp(p, cfg.Hidden, r)
	last := cfg.Hidden[len(cfg.Hidden)-1]
	v.mu = nn.NewDense[float32](last, cfg.Latent, true, r)
	v.logvar = nn.NewDense[float32](last, cfg.Latent, true, r)
	rev := make([]int, len(cfg.Hidden))
	for i, h := range cfg.Hidden {
		rev[len(rev)-1-i] = h
	}
	v.dec = mlp(cfg.Latent, rev, r)
	v.dec.Layers = append(v.dec.Layers, nn.NewDense[float32](rev[len(rev)-1], p, true, r))
	v.st = nn.Bind[float32](parts{v})
	opt := optim.NewAdam(cfg.LR)
	tp := v.tape
	for range cfg.Epochs {
		perm := r.Perm(n)
		var sum, rsum float64
		for start := 0; start < n; start += cfg.Batch {
			idx := perm[start:min(start+cfg.Batch, n)]
			b := len(idx)
			tp.Reset()
			tp.Train, tp.Rand = true, r
			xb := tp.Buffer(b * p)
			for k, i := range idx {
				copy(xb[k*p:(k+1)*p], x[i*p:(i+1)*p])
			}
			xv := tp.Const(xb, b, p)
			h := v.enc.Forward(tp, xv)
			mu, lv := v.mu.Forward(tp, h), v.logvar.Forward(tp, h)
			eps := tp.Buffer(b * cfg.Latent)
			for i := range eps {
				eps[i] = float32(r.NormFloat64())
			}
			z := tp.Add(mu, tp.Mul(tp.Exp(tp.Scale(lv, 0.5)), ag.Const(eps, b, cfg.Latent)))
			rec := v.dec.Forward(tp, z)
			mse := tp.Mean(tp.Square(tp.Sub(rec, xv)))
			// KL(N(μ, σ²) ‖ N(0, 1)) = −½·(1 + log σ² − μ² − σ²), averaged.
			kl := tp.Scale(tp.Mean(tp.Sub(tp.AddScalar(lv, 1), tp.Add(tp.Square(mu), tp.Exp(lv)))), -0.5)
			loss := tp.Add(mse, tp.Scale(kl, float32(cfg.Beta)))
			v.st.ZeroGrad()
			tp.Backward(loss)
			opt.Step(v.st.Values[:v.st.NumWeights()], v.st.Grads)
			sum += float64(loss.Item()) * float64(b)
			rsum += float64(mse.Item()) * float64(b)
		}
		v.LastLoss, v.LastRecon = sum/float64(n), rsum/float64(n)
	}
	return v, nil
}

func mlp(in int, hidden []int, r *rand.Rand) *nn.Sequential[float32] {
	var layers []nn.Layer[float32]
	for _, h := range hidden {
		layers = append(layers, nn.NewDense[float32](in, h, true, r), nn.ReLU[float32]())
		in = h
	}
	return nn.NewSequential(layers...)
}

// Encode returns the latent means μ of the n rows of x, n×Latent.
func (v *VAE) Encode(x []float32, n int) ([]float32, error) {
	if len(x) != n*v.in {
		return nil, fmt.Errorf("vae: %d values for %d rows of %d features", len(x), n, v.in)
	}
	out := make([]float32, 0, n*v.cfg.Latent)
	tp := v.tape
	for start := 0; start < n; start += 512 {
		b := min(512, n-start)
		tp.Reset()
		tp.Train = false
		was := tp.SetGrad(false)
		mu := v.mu.Forward(tp, v.enc.Forward(tp, tp.Const(x[start*v.in:(start+b)*v.in], b, v.in)))
		tp.SetGrad(was)
		out = append(out, mu.Data()...)
	}
	return out, nil
}
