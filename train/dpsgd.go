package train

import (
	"errors"
	"fmt"
	"math"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/loss"
	"github.com/fdrmfl/fdrmfl/optim"
)

// DPSGD configures sample-level differential privacy of local training
// (Abadi et al. 2016): every step draws each training sample with
// probability q = BatchSize/n (Poisson sampling), clips each sample's
// gradient to L2 norm Clip, adds Gaussian noise of standard deviation
// Noise·Clip to their sum and divides by the expected batch size:
//
//	g = (Σ_{i∈batch} clip_C(∇ℓ_i) + N(0, (σC)²I)) / (q·n).
//
// An epoch is ⌈n/BatchSize⌉ such steps. The sampled Gaussian mechanism's
// accounting (package privacy) then bounds what the trained model tells
// of any one sample. The zero value (Noise 0) is off.
type DPSGD struct {
	Clip  float64 `json:"clip,omitempty"`
	Noise float64 `json:"noise,omitempty"`
}

// On reports whether DP-SGD is configured.
func (d DPSGD) On() bool { return d.Noise > 0 }

// checkDP refuses what DP-SGD cannot train: a loss term or layer that
// mixes samples, whose per-sample gradient does not exist.
func (t *Trainer) checkDP() error {
	d := t.cfg.DP
	switch {
	case !d.On():
		return nil
	case !(d.Clip > 0):
		return fmt.Errorf("train: dp: clip %v must be positive", d.Clip)
	case t.cfg.Loss.MI > 0:
		return errors.New("train: dp: the MI term is estimated from batch statistics and has no per-sample gradient; set loss.mi to 0 for sample-level DP")
	case t.st.NumWeights() < len(t.st.Values):
		return errors.New("train: dp: batch normalisation mixes the samples of a batch; DP-SGD needs a network without it")
	}
	return nil
}

// dpEpoch is Epoch under DP-SGD. Each sample's gradient comes from its
// own forward and backward pass, which is right for every layer and loss
// term that is a mean over samples, at the price of passes of one sample.
func (r *Run) dpEpoch() Terms {
	t := r.t
	ds := r.task.Data
	n, bs := ds.Len(), t.cfg.BatchSize
	q := math.Min(1, float64(bs)/float64(n))
	d := t.cfg.DP
	l := t.cfg.Loss
	wKL, wCon := l.KL, l.Con
	if l.Phases && r.epoch < t.cfg.Epochs/2 {
		wKL, wCon = 0.5*wKL, 0.5*wCon
	}
	nw := r.nWeight
	if len(r.dpSum) != nw {
		r.dpSum = make([]float32, nw)
	}
	var sum Terms
	steps := (n + bs - 1) / bs
	idx := make([]int, 1)
	for range steps {
		clear(r.dpSum)
		for i := range n {
			if r.rng.Float64() >= q {
				continue
			}
			idx[0] = i
			total, mse, vKL, vCon := r.sampleLoss(idx, wKL, wCon)
			t.st.ZeroGrad()
			t.tape.Backward(total)
			g := t.st.Grads[:nw]
			optim.ClipGradNorm(g, d.Clip)
			for j, v := range g {
				r.dpSum[j] += v
			}
			sum.Total += float64(total.Item())
			sum.MSE += mse
			sum.KL += vKL
			sum.Con += vCon
			sum.N++
		}
		std := d.Noise * d.Clip
		inv := float32(1 / (q * float64(n)))
		g := t.st.Grads[:nw]
		for j := range g {
			g[j] = (r.dpSum[j] + float32(std*r.rng.NormFloat64())) * inv
		}
		w := t.st.Values[:nw]
		if r.gw != nil { // FedProx: data-independent, added after the noise
			mu := float32(r.task.Prox)
			for j := range g {
				g[j] += mu * (w[j] - r.gw[j])
			}
		}
		r.opt.Step(w, g)
		if t.l1 != nil {
			t.shrink(w, float32(r.opt.LR()*t.cfg.L1))
		}
	}
	if sum.N > 0 {
		f := 1 / float64(sum.N)
		sum.Total, sum.MSE, sum.KL, sum.Con = sum.Total*f, sum.MSE*f, sum.KL*f, sum.Con*f
	}
	if r.sched != nil && sum.N > 0 && !math.IsNaN(sum.Total) {
		r.sched.Step(sum.Total)
	}
	r.epoch++
	r.last = sum
	return sum
}

// sampleLoss records the objective of the samples idx (without the MI
// term) on the tape, ready for Backward.
func (r *Run) sampleLoss(idx []int, wKL, wCon float64) (total *ag.Var[float32], mse, vKL, vCon float64) {
	t := r.t
	ds := r.task.Data
	q := t.mcfg.Responses
	tp := t.tape
	tp.Reset()
	tp.Train, tp.Rand = true, r.rng
	in := t.input(ds, r.cols, idx)
	yb := tp.Buffer(len(idx) * q)
	ds.GatherY(yb, idx)
	out := t.net.Forward(tp, in)
	m := loss.MSE(tp, out.Pred, ag.Const(yb, len(idx), q))
	total = m
	if wKL > 0 {
		var lat []loss.Latent[float32]
		for i, mu := range out.Mu {
			if mu != nil {
				var lv *ag.Var[float32]
				if t.cfg.Loss.KLForm == "learned" {
					lv = out.LogVar[i]
				}
				lat = append(lat, loss.Latent[float32]{Mu: mu, LogVar: lv, Present: in.Present[i]})
			}
		}
		if kl := loss.SymmetricKL(tp, lat, t.cfg.Loss.Sigma); kl != nil {
			vKL = float64(kl.Item())
			total = tp.Add(total, tp.Scale(kl, float32(wKL)))
		}
	}
	if wCon > 0 && r.zGlob != nil {
		zg := r.cached(r.zGlob, idx)
		negs := make([]*ag.Var[float32], len(r.zNegs))
		for i, z := range r.zNegs {
			negs[i] = r.cached(z, idx)
		}
		con := loss.Contrastive(tp, out.Z, zg, negs, t.cfg.Loss.Tau)
		vCon = float64(con.Item())
		total = tp.Add(total, tp.Scale(con, float32(wCon)))
	}
	return total, float64(m.Item()), vKL, vCon
}
