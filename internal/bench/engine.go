// Package bench times the engine on the benchmark tasks of
// shared/bench/README.md, with the same models, data shapes, batch sizes
// and optimiser as the PyTorch reference script, so that the two can be
// set side by side from one run.
package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"time"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/loss"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/nn"
	"github.com/fdrmfl/fdrmfl/optim"
	"github.com/fdrmfl/fdrmfl/train"
)

// Result is one task's timing, in the fields of the reference script's
// JSON (task, n, batch, ms_per_epoch, final_loss, threads, engine).
type Result struct {
	Task       string  `json:"task"`
	N          int     `json:"n"`
	Batch      int     `json:"batch"`
	MsPerEpoch float64 `json:"ms_per_epoch"`
	FinalLoss  float64 `json:"final_loss"`
	Threads    int     `json:"threads"`
	Engine     string  `json:"engine"`
	Objective  string  `json:"objective"`
}

// Tasks lists the task names in the reference script's order.
var Tasks = []string{"mlp", "conv1d", "conv2d", "lstm", "fdrmfl"}

// Options set how a task is timed; the zero value is the reference's
// protocol: one warm-up epoch, then the median of 5.
type Options struct {
	Warmup, Epochs int
	Seed           uint64
}

// Run times one task.
func Run(name string, opt Options) (Result, error) {
	if opt.Warmup == 0 {
		opt.Warmup = 1
	}
	if opt.Epochs == 0 {
		opt.Epochs = 5
	}
	var ep epocher
	var err error
	res := Result{Task: name, Threads: 1, Engine: "fdrmfl-go", Objective: "mse"}
	switch name {
	case "mlp":
		res.N, res.Batch = 2000, 64
		ep = simpleTask(res.N, res.Batch, []int{700}, opt.Seed, func(r *rand.Rand) nn.Layer[float32] {
			return nn.NewSequential[float32](nn.NewDense[float32](700, 64, true, r), nn.ReLU[float32](),
				nn.NewDense[float32](64, 8, true, r), nn.NewDense[float32](8, 1, true, r))
		})
	case "conv1d":
		res.N, res.Batch = 512, 32
		ep = simpleTask(res.N, res.Batch, []int{1, 700}, opt.Seed, func(r *rand.Rand) nn.Layer[float32] {
			return nn.NewSequential[float32](
				nn.NewConv1d[float32](1, 16, 7, ag.ConvParams{Stride: 2}, true, r), nn.ReLU[float32](),
				nn.NewConv1d[float32](16, 32, 5, ag.ConvParams{Stride: 2}, true, r), nn.ReLU[float32](),
				nn.MeanOver[float32](2), nn.NewDense[float32](32, 16, true, r), nn.ReLU[float32](), nn.NewDense[float32](16, 1, true, r))
		})
	case "conv2d":
		res.N, res.Batch = 512, 32
		ep = simpleTask(res.N, res.Batch, []int{3, 32, 32}, opt.Seed, func(r *rand.Rand) nn.Layer[float32] {
			return nn.NewSequential[float32](
				nn.NewConv2d[float32](3, 32, 3, ag.ConvParams{Padding: 1}, true, r), nn.NewBatchNorm[float32](32), nn.ReLU[float32](),
				nn.NewConv2d[float32](32, 64, 3, ag.ConvParams{Stride: 2, Padding: 1}, true, r), nn.NewBatchNorm[float32](64), nn.ReLU[float32](),
				nn.MeanOver[float32](2, 3), nn.NewDense[float32](64, 1, true, r))
		})
	case "lstm":
		res.N, res.Batch = 666, 32
		ep = simpleTask(res.N, res.Batch, []int{10, 50}, opt.Seed, func(r *rand.Rand) nn.Layer[float32] {
			return nn.NewSequential[float32](nn.NewLSTM[float32](50, 64, 2, true, 0, r), nn.MeanOver[float32](1), nn.NewDense[float32](128, 1, true, r))
		})
	case "fdrmfl":
		res.N, res.Batch = 666, 32
		res.Objective = "fdrmfl: mse + 0.01·(mi + skl + con), tau 0.5"
		ep, err = fdrmflTask(res.N, res.Batch, opt.Seed)
	default:
		return res, fmt.Errorf("bench: unknown task %q (tasks: %v)", name, Tasks)
	}
	if err != nil {
		return res, err
	}
	var times []float64
	var last float64
	for e := range opt.Warmup + opt.Epochs {
		start := time.Now()
		last = ep()
		if e >= opt.Warmup {
			times = append(times, float64(time.Since(start).Microseconds())/1000)
		}
	}
	sort.Float64s(times)
	res.MsPerEpoch = times[len(times)/2]
	res.FinalLoss = last
	return res, nil
}

// epocher trains one epoch and returns the loss of its last batch.
type epocher func() float64

// synthetic returns n samples of N(0,1) inputs of the given per-sample
// shape and y = 0.05·(sum of every 10th input value), as the reference.
func synthetic(n int, shape []int, r *rand.Rand) (x, y []float32) {
	p := 1
	for _, d := range shape {
		p *= d
	}
	x, y = make([]float32, n*p), make([]float32, n)
	for i := range x {
		x[i] = float32(r.NormFloat64())
	}
	for i := range n {
		var s float32
		for j := 0; j < p; j += 10 {
			s += x[i*p+j]
		}
		y[i] = 0.05 * s
	}
	return x, y
}

// simpleTask trains a layer on synthetic data with MSE and Adam(1e-3).
func simpleTask(n, bs int, shape []int, seed uint64, build func(*rand.Rand) nn.Layer[float32]) epocher {
	r := rand.New(rand.NewPCG(seed, 1))
	x, y := synthetic(n, shape, r)
	net := build(r)
	st := nn.Bind(net)
	opt := optim.NewAdam(1e-3)
	tp := ag.NewTape[float32]()
	p := len(x) / n
	return func() float64 {
		perm := r.Perm(n)
		var last float64
		for start := 0; start < n; start += bs {
			idx := perm[start:min(start+bs, n)]
			tp.Reset()
			tp.Train = true
			xb, yb := tp.Buffer(len(idx)*p), tp.Buffer(len(idx))
			for k, i := range idx {
				copy(xb[k*p:(k+1)*p], x[i*p:(i+1)*p])
				yb[k] = y[i]
			}
			in := tp.Const(xb, append([]int{len(idx)}, shape...)...)
			pred := net.Forward(tp, in)
			l := loss.MSE(tp, pred, tp.Const(yb, len(idx), 1))
			st.ZeroGrad()
			tp.Backward(l)
			opt.Step(st.Values[:st.NumWeights()], st.Grads)
			last = float64(l.Item())
		}
		return last
	}
}

// fdrmflTask trains the benchmark's three-modality network through the
// product's own local trainer with the full objective.
func fdrmflTask(n, bs int, seed uint64) (epocher, error) {
	r := rand.New(rand.NewPCG(seed, 2))
	sizes := []int{3072, 500, 32}
	var mods []data.Modality
	var mcfg model.Config
	y := make([]float32, n)
	for i, p := range sizes {
		x, _ := synthetic(n, []int{p}, r)
		for s := range n {
			for j := 0; j < p; j += 10 {
				y[s] += 0.05 * x[s*p+j]
			}
		}
		name := fmt.Sprintf("m%d", i)
		mods = append(mods, data.Modality{Name: name, Kind: data.Vector, Shape: []int{p}, Data: x})
		mcfg.Modalities = append(mcfg.Modalities, model.Modality{Name: name, Shape: []int{p}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{128}}})
	}
	ds, err := data.New(n, mods, []string{"y"}, y)
	if err != nil {
		return nil, err
	}
	mcfg.Latent, mcfg.Features = 128, 128
	mcfg.Fusion = model.Fusion{Type: model.FuseConcat, Hidden: []int{256}}
	mcfg.Head = model.Head{Hidden: []int{64}}
	cfg := train.Config{Epochs: 1, BatchSize: bs, Optimizer: "adam", LR: 1e-3, Loss: train.DefaultLoss()}
	tr, err := train.New(mcfg, cfg)
	if err != nil {
		return nil, err
	}
	global, err := train.InitialWeights(mcfg, seed+1)
	if err != nil {
		return nil, err
	}
	prev, err := train.InitialWeights(mcfg, seed+2)
	if err != nil {
		return nil, err
	}
	// Each timed epoch is a whole one-epoch round on the client: load the
	// global model, compute the frozen models' features for the contrastive
	// term (the product computes them once per round, not per batch), train,
	// and hand the weights back — so the figure includes every cost a round
	// of one local epoch pays.
	st := &train.ClientState{Prev: slices.Clone(prev)}
	round := uint64(0)
	var ferr error
	ep := func() float64 {
		round++
		res, err := tr.Fit(train.Task{Data: ds, Global: global, State: st, Seed: seed + round, MISeed: seed})
		if err != nil {
			ferr = err
			return math.NaN()
		}
		global = res.Weights
		return res.Terms.Total
	}
	if ep(); ferr != nil {
		return nil, ferr
	}
	return ep, nil
}
