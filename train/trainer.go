package train

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/internal/vec"
	"github.com/fdrmfl/fdrmfl/loss"
	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/nn"
	"github.com/fdrmfl/fdrmfl/optim"
)

// ClientState is what a client keeps from one round to the next: its
// optimiser and schedule, its previous local model (the contrastive
// term's negative, and the source of its local normalisation layers under
// FedBN), older global models and a learned MI estimator.
type ClientState struct {
	Optim    optim.Snapshot
	Schedule map[string]float64
	Prev     []float32   // the model after the client's last local training; nil before
	Globals  [][]float32 // earlier global models, newest first
	MI       []float32   // weights of a learned MI estimator
	MIOptim  optim.Snapshot
	// Control is SCAFFOLD's client control variate c_i (nil before the
	// client's first SCAFFOLD round), over the trained weights.
	Control []float32
	// DynGrad is FedDyn's client state g_i (nil: zero), over the trained
	// weights.
	DynGrad []float32
}

// Task is one round of local training.
type Task struct {
	Data   *data.Dataset // the client's training data, standardised
	Global []float32     // the global model's values (weights then buffers)
	State  *ClientState  // read and updated in place
	Seed   uint64        // seeds shuffling, dropout and the MI estimator of this client and round
	// MISeed seeds the frozen network of the correlation MI estimator; it
	// should stay the same for a client across rounds.
	MISeed uint64
	// Prox is FedProx's μ: the loss gains μ/2·‖w − w_global‖².
	Prox float64
	// KeepNormLocal keeps the client's own normalisation layers (FedBN).
	KeepNormLocal bool
	// Control, if not nil, is SCAFFOLD's server control variate c (one
	// value per trained weight): each gradient g becomes g + c − c_i, c_i
	// being State.Control, and at the end c_i becomes the mean raw
	// gradient of the round (Result.ControlDelta is its change).
	Control []float32
	// Dyn is FedDyn's α (0: none): the loss gains −⟨g_i, w⟩ +
	// α/2·‖w − w_global‖², g_i being State.DynGrad, which at the end
	// becomes g_i − α·(w − w_global).
	Dyn float64
}

// Terms are the mean loss terms over an epoch's samples.
type Terms struct {
	Total, MSE, MI, KL, Con float64
	N                       int
}

// Result is the outcome of local training.
type Result struct {
	Weights []float32 // the trained model's values
	N       int       // training samples
	Terms   Terms     // of the last epoch
	// ControlDelta is SCAFFOLD's c_i⁺ − c_i (nil without Task.Control).
	ControlDelta []float32
}

// Trainer trains one client at a time on one goroutine. It holds the
// network, frozen copies for the contrastive term and reusable buffers,
// so that one Trainer per worker serves any number of clients.
type Trainer struct {
	cfg  Config
	mcfg model.Config
	net  *model.Model[float32]
	st   *nn.State[float32]
	refs []*frozen
	tape *ag.Tape[float32]
	xbuf [][]float32
	pbuf [][]bool
	// l1 holds the ranges of Values that Config.L1 shrinks: the input
	// weights of each encoder.
	l1 [][2]int
	// frozen holds the ranges of weights that Config.Freeze keeps fixed.
	frozen [][2]int
	// groups holds each modality's input weights and its number of
	// inputs, for Config.GroupLasso.
	groups []group
	// latentCache: the encoders are frozen and deterministic (no dropout,
	// no batch normalisation), so a round computes every sample's latents
	// once and trains the fusion and the head on them.
	latentCache bool
	encRange    [2]int // the encoders' weights in the flat vector
	// stepFrom is where the trained weights start when the frozen ones
	// are a prefix of the vector (frozen encoders): the optimiser and
	// the proximal steps leave that prefix alone, and it costs nothing.
	stepFrom int
}

type group struct {
	r      [2]int
	inputs int
}

type frozen struct {
	net *model.Model[float32]
	st  *nn.State[float32]
}

// New returns a Trainer for networks of configuration mcfg trained with cfg
// (Defaults are applied to both).
func New(mcfg model.Config, cfg Config) (*Trainer, error) {
	mcfg, cfg = mcfg.Defaults(), cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Loss.KLForm == "learned" && !mcfg.LearnedSigma {
		return nil, fmt.Errorf("train: loss.kl_form \"learned\" needs model learned_sigma: true")
	}
	net, err := model.New[float32](mcfg, rand.New(rand.NewPCG(0, 0)))
	if err != nil {
		return nil, err
	}
	t := &Trainer{cfg: cfg, mcfg: net.Config, net: net, st: nn.Bind[float32](net), tape: ag.NewTape[float32]()}
	if cfg.L1 > 0 {
		t.l1 = inputWeights(t.st.Entries)
	}
	t.frozen = partWeights(t.st.Entries, cfg.Freeze)
	if len(t.frozen) == 1 && t.frozen[0][0] == 0 {
		t.stepFrom = t.frozen[0][1]
	}
	if slices.Contains(cfg.Freeze, "encoders") {
		t.latentCache = true
		for _, m := range mcfg.Modalities {
			if m.Encoder.Dropout > 0 || m.Encoder.BatchNorm || m.Encoder.Type == model.EncResNet {
				t.latentCache = false
			}
		}
		if r := partWeights(t.st.Entries, []string{"encoders"}); len(r) == 1 {
			t.encRange = r[0]
		} else {
			t.latentCache = false
		}
	}
	if cfg.GroupLasso > 0 {
		for _, r := range inputWeights(t.st.Entries) {
			for _, e := range t.st.Entries {
				if e.Offset == r[0] {
					t.groups = append(t.groups, group{r: r, inputs: e.Param.Len() / e.Param.Shape[0]})
				}
			}
		}
	}
	if err := t.checkDP(); err != nil {
		return nil, err
	}
	if cfg.DP.On() && (len(cfg.Freeze) > 0 || cfg.GroupLasso > 0) {
		return nil, fmt.Errorf("train: dp: freeze and group_lasso are not supported with DP-SGD")
	}
	return t, nil
}

// GroupShrink is the proximal step of the penalty t·‖w‖₂: it returns
// w·max(0, 1 − t/‖w‖₂), the minimiser of ½‖x − w‖² + t‖x‖₂, in place.
func GroupShrink(w []float32, t float64) {
	var s float64
	for _, v := range w {
		s += float64(v) * float64(v)
	}
	norm := math.Sqrt(s)
	if norm <= t {
		clear(w)
		return
	}
	f := float32(1 - t/norm)
	for i := range w {
		w[i] *= f
	}
}

// partWeights returns the ranges of the weights (not buffers) of the
// named parts of the network, merged where they touch.
func partWeights(entries []nn.Entry[float32], parts []string) [][2]int {
	var out [][2]int
	for _, e := range entries {
		if e.Param.Kind != nn.Weight {
			continue
		}
		part, _, _ := strings.Cut(e.Name, ".")
		if !slices.Contains(parts, part) {
			continue
		}
		r := [2]int{e.Offset, e.Offset + e.Param.Len()}
		if n := len(out); n > 0 && out[n-1][1] == r[0] {
			out[n-1][1] = r[1]
		} else {
			out = append(out, r)
		}
	}
	return out
}

// inputWeights returns the ranges in the flat vector of each encoder's
// first weight tensor (named encoders.<modality>.…weight…, not a
// normalisation layer's scale).
func inputWeights(entries []nn.Entry[float32]) [][2]int {
	var out [][2]int
	seen := map[string]bool{}
	for _, e := range entries {
		rest, ok := strings.CutPrefix(e.Name, "encoders.")
		last := e.Name[strings.LastIndex(e.Name, ".")+1:]
		if !ok || e.Param.Kind != nn.Weight || e.Param.Norm || !strings.Contains(last, "weight") {
			continue
		}
		m, _, _ := strings.Cut(rest, ".")
		if seen[m] {
			continue
		}
		seen[m] = true
		out = append(out, [2]int{e.Offset, e.Offset + e.Param.Len()})
	}
	return out
}

// shrink is the proximal step of the L1 penalty: every input weight moves
// towards zero by step and stops at zero.
func (t *Trainer) shrink(w []float32, step float32) {
	for _, r := range t.l1 {
		vec.SoftThreshold(w[r[0]:r[1]], step)
	}
}

// InitialWeights returns the values of a freshly initialised network of
// configuration mcfg, the first global model of a federation.
func InitialWeights(mcfg model.Config, seed uint64) ([]float32, error) {
	net, err := model.New[float32](mcfg, rand.New(rand.NewPCG(seed, 0x5eed)))
	if err != nil {
		return nil, err
	}
	return nn.Bind[float32](net).Values, nil
}

// Layout returns the names, offsets and kinds of the network's values, in
// the order of the flat vector.
func (t *Trainer) Layout() []nn.Entry[float32] { return t.st.Entries }

// NumValues returns the length of the flat vector (weights and buffers).
func (t *Trainer) NumValues() int { return len(t.st.Values) }

// Config returns the training configuration with defaults applied.
func (t *Trainer) Config() Config { return t.cfg }

// ModelConfig returns the network configuration with defaults applied.
func (t *Trainer) ModelConfig() model.Config { return t.mcfg }

// Fit trains the model of task.Global on task.Data for the configured
// number of epochs and returns the new weights.
func (t *Trainer) Fit(task Task) (Result, error) {
	r, err := t.Begin(task)
	if err != nil {
		return Result{}, err
	}
	for range t.cfg.Epochs {
		r.Epoch()
	}
	return r.End(), nil
}

// Run is local training in progress; Begin starts one.
type Run struct {
	t     *Trainer
	task  Task
	rng   *rand.Rand
	opt   optim.Optimizer
	sched *optim.Plateau
	mi    loss.MIEstimator[float32]
	miSt  *nn.State[float32]
	miOpt optim.Optimizer
	cols  []int // dataset modality index for each model modality (−1: absent)
	// zGlob and zNegs cache the features of every training sample under
	// the frozen global model and the negatives, computed once per round:
	// the models are frozen and run in evaluation mode, so the features do
	// not change between epochs.
	zGlob []float32
	zNegs [][]float32
	// lat holds every sample's latents under the frozen encoders (per
	// model modality, n × width; nil without the latent cache or for a
	// modality the data lack).
	lat  [][]float32
	latW []int
	gw   []float32 // global weights for FedProx and FedDyn
	// gradSum and steps accumulate the raw gradients of a SCAFFOLD round.
	gradSum []float64
	steps   int
	epoch   int
	last    Terms
	nWeight int
	dpSum   []float32 // DP-SGD's sum of clipped per-sample gradients
}

// Begin loads task.Global (and the client's state) into the trainer and
// prepares an epoch loop.
func (t *Trainer) Begin(task Task) (*Run, error) {
	if len(task.Global) != len(t.st.Values) {
		return nil, fmt.Errorf("train: global model has %d values, the network needs %d", len(task.Global), len(t.st.Values))
	}
	if task.State == nil {
		task.State = &ClientState{}
	}
	cols, err := t.columns(task.Data)
	if err != nil {
		return nil, err
	}
	if task.Data.Len() < 2 {
		return nil, fmt.Errorf("train: %d training samples; at least 2 are needed", task.Data.Len())
	}
	r := &Run{t: t, task: task, cols: cols, rng: rand.New(rand.NewPCG(task.Seed, 0x7a1)), nWeight: t.st.NumWeights()}
	copy(t.st.Values, task.Global)
	st := task.State
	if task.KeepNormLocal && st.Prev != nil {
		for _, e := range t.st.Entries {
			if e.Param.Norm {
				copy(e.Param.Value, st.Prev[e.Offset:e.Offset+e.Param.Len()])
			}
		}
	}
	if r.opt, err = t.newOptimizer(st.Optim); err != nil {
		return nil, err
	}
	if t.cfg.Schedule == "plateau" {
		r.sched = &optim.Plateau{Opt: r.opt, Factor: 0.5, Patience: 2}
		r.sched.Restore(st.Schedule)
	}
	if err := r.setupMI(); err != nil {
		return nil, err
	}
	if t.latentCache {
		r.lat, r.latW = t.latents(task.Data, cols)
	}
	if t.cfg.Loss.Con > 0 && st.Prev != nil {
		r.zGlob = r.frozenFeatures(t.frozenCopy(0, t.st.Values), task.Data, cols) // the global model as loaded (with local norms under FedBN)
		r.zNegs = append(r.zNegs, r.frozenFeatures(t.frozenCopy(1, st.Prev), task.Data, cols))
		for i, g := range st.Globals {
			if i >= t.cfg.Loss.OlderGlobals {
				break
			}
			r.zNegs = append(r.zNegs, r.frozenFeatures(t.frozenCopy(2+i, g), task.Data, cols))
		}
	}
	if task.Prox > 0 || task.Dyn > 0 {
		r.gw = append([]float32(nil), t.st.Values[:r.nWeight]...)
	}
	if task.Dyn < 0 {
		return nil, fmt.Errorf("train: FedDyn α = %v must not be negative", task.Dyn)
	}
	if t.cfg.DP.On() && (task.Control != nil || task.Dyn > 0) {
		return nil, fmt.Errorf("train: dp: SCAFFOLD and FedDyn are not supported with DP-SGD")
	}
	if task.Control != nil {
		if len(task.Control) != r.nWeight {
			return nil, fmt.Errorf("train: SCAFFOLD control variate has %d values, the network %d weights", len(task.Control), r.nWeight)
		}
		if st.Control == nil {
			st.Control = make([]float32, r.nWeight)
		} else if len(st.Control) != r.nWeight {
			return nil, fmt.Errorf("train: the client's SCAFFOLD state has %d values, the network %d weights", len(st.Control), r.nWeight)
		}
		r.gradSum = make([]float64, r.nWeight)
	}
	if task.Dyn > 0 {
		if st.DynGrad == nil {
			st.DynGrad = make([]float32, r.nWeight)
		} else if len(st.DynGrad) != r.nWeight {
			return nil, fmt.Errorf("train: the client's FedDyn state has %d values, the network %d weights", len(st.DynGrad), r.nWeight)
		}
	}
	return r, nil
}

// frozenCopy loads values into the i-th frozen network, making it if needed.
func (t *Trainer) frozenCopy(i int, values []float32) *frozen {
	for len(t.refs) <= i {
		net, _ := model.New[float32](t.mcfg, rand.New(rand.NewPCG(0, 0)))
		t.refs = append(t.refs, &frozen{net: net, st: nn.Bind[float32](net)})
	}
	copy(t.refs[i].st.Values, values)
	return t.refs[i]
}

func (t *Trainer) newOptimizer(s optim.Snapshot) (optim.Optimizer, error) {
	var o optim.Optimizer
	switch t.cfg.Optimizer {
	case "adam":
		a := optim.NewAdam(t.cfg.LR)
		a.WeightDecay = t.cfg.WeightDecay
		o = a
	case "adamw":
		o = optim.NewAdamW(t.cfg.LR, t.cfg.WeightDecay)
	case "sgd":
		o = &optim.SGD{Rate: t.cfg.LR, Momentum: t.cfg.Momentum, WeightDecay: t.cfg.WeightDecay}
	}
	if s.Kind != "" {
		if err := o.Restore(s); err != nil {
			return nil, fmt.Errorf("train: client optimiser state: %w", err)
		}
	}
	return o, nil
}

func (r *Run) setupMI() error {
	t, l := r.t, r.t.cfg.Loss
	if l.MI == 0 {
		return nil
	}
	mr := rand.New(rand.NewPCG(r.task.MISeed, 0x3113))
	switch l.MIEstimator {
	case "correlation":
		r.mi = loss.NewCorrelationMI[float32](t.mcfg.Features, l.MIHidden, mr)
	case "gaussian":
		g := loss.NewGaussianMI[float32](t.mcfg.Features, mr)
		r.mi = g
		r.miSt = nn.Bind[float32](g)
		if st := r.task.State; st.MI != nil {
			if err := r.miSt.Load(st.MI); err != nil {
				return fmt.Errorf("train: client MI estimator state: %w", err)
			}
		}
		a := optim.NewAdam(t.cfg.LR)
		if s := r.task.State.MIOptim; s.Kind != "" {
			if err := a.Restore(s); err != nil {
				return fmt.Errorf("train: client MI optimiser state: %w", err)
			}
		}
		r.miOpt = a
	}
	return nil
}

// columns maps each model modality to its index in ds (−1 when ds lacks
// it) and checks shapes, responses and that every sample has a modality.
func (t *Trainer) columns(ds *data.Dataset) ([]int, error) {
	if ds == nil || ds.Len() == 0 {
		return nil, fmt.Errorf("train: no data")
	}
	if ds.NumResponses() != t.mcfg.Responses && ds.NumResponses() != 0 {
		return nil, fmt.Errorf("train: data have %d responses, the network predicts %d", ds.NumResponses(), t.mcfg.Responses)
	}
	cols := make([]int, len(t.mcfg.Modalities))
	for i, m := range t.mcfg.Modalities {
		j := ds.ModalityIndex(m.Name)
		cols[i] = j
		if j < 0 {
			continue
		}
		if got := ds.Modalities[j].SampleSize(); got != prod(m.Shape) {
			return nil, fmt.Errorf("train: modality %q has %d values per sample (shape %v), the network expects shape %v",
				m.Name, got, ds.Modalities[j].Shape, m.Shape)
		}
	}
	for s := range ds.Len() {
		has := false
		for _, j := range cols {
			if j >= 0 && ds.Modalities[j].Has(s) {
				has = true
				break
			}
		}
		if !has {
			return nil, fmt.Errorf("train: sample %d has none of the network's modalities", s)
		}
	}
	return cols, nil
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}

// input gathers the samples idx of ds into tape constants.
func (t *Trainer) input(ds *data.Dataset, cols []int, idx []int) model.Input[float32] {
	tp := t.tape
	nm := len(cols)
	if len(t.xbuf) < nm {
		t.xbuf, t.pbuf = make([][]float32, nm), make([][]bool, nm)
	}
	in := model.Input[float32]{N: len(idx), X: make([]*ag.Var[float32], nm), Present: make([][]bool, nm)}
	for i, j := range cols {
		if j < 0 {
			continue
		}
		m := &ds.Modalities[j]
		if m.Present != nil {
			if cap(t.pbuf[i]) < len(idx) {
				t.pbuf[i] = make([]bool, len(idx))
			}
			p := m.GatherPresent(t.pbuf[i][:len(idx)], idx)
			some := false
			for _, v := range p {
				some = some || v
			}
			if !some {
				continue
			}
			in.Present[i] = p
		}
		x := tp.Buffer(len(idx) * m.SampleSize())
		m.Gather(x, idx)
		in.X[i] = ag.Const(x, len(idx)*m.SampleSize())
	}
	return in
}

// Epoch runs one epoch of minibatches in a random order and returns its
// mean loss terms. A final batch of one sample is skipped (batch
// statistics and correlations need two).
func (r *Run) Epoch() Terms {
	if r.t.cfg.DP.On() {
		return r.dpEpoch()
	}
	t := r.t
	ds := r.task.Data
	n, bs := ds.Len(), t.cfg.BatchSize
	perm := r.rng.Perm(n)
	l := t.cfg.Loss
	wMI, wKL, wCon := l.MI, l.KL, l.Con
	if l.Phases {
		if r.epoch < t.cfg.Epochs/2 {
			wKL, wCon = 0.5*wKL, 0.5*wCon
		} else {
			wMI = 0.5 * wMI
		}
	}
	var sum Terms
	q := t.mcfg.Responses
	for start := 0; start < n; start += bs {
		idx := perm[start:min(start+bs, n)]
		if len(idx) < 2 {
			continue
		}
		b := len(idx)
		tp := t.tape
		tp.Reset()
		tp.Train, tp.Rand = true, r.rng
		var in model.Input[float32]
		var out model.Output[float32]
		if r.lat != nil {
			var mu, lv []*ag.Var[float32]
			in, mu, lv = r.cachedLatents(idx)
			out = t.net.FromLatents(tp, in, mu, lv)
		} else {
			in = t.input(ds, r.cols, idx)
			out = t.net.Forward(tp, in)
		}
		yb := tp.Buffer(b * q)
		ds.GatherY(yb, idx)
		y := ag.Const(yb, b, q)
		mse := loss.MSE(tp, out.Pred, y)
		total := mse
		var vMI, vKL, vCon float64
		if wMI > 0 {
			mi := r.mi.Loss(tp, out.Z, y)
			vMI = float64(mi.Item())
			total = tp.Add(total, tp.Scale(mi, float32(wMI)))
		}
		if wKL > 0 {
			var lat []loss.Latent[float32]
			for i, mu := range out.Mu {
				if mu != nil {
					var lv *ag.Var[float32]
					if l.KLForm == "learned" {
						lv = out.LogVar[i]
					}
					lat = append(lat, loss.Latent[float32]{Mu: mu, LogVar: lv, Present: in.Present[i]})
				}
			}
			if kl := loss.SymmetricKL(tp, lat, l.Sigma); kl != nil {
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
			con := loss.Contrastive(tp, out.Z, zg, negs, l.Tau)
			vCon = float64(con.Item())
			total = tp.Add(total, tp.Scale(con, float32(wCon)))
		}
		t.st.ZeroGrad()
		if r.miSt != nil {
			r.miSt.ZeroGrad()
		}
		tp.Backward(total)
		w, g := t.st.Values[:r.nWeight], t.st.Grads
		for _, fr := range t.frozen {
			clear(g[fr[0]:fr[1]])
		}
		if r.gradSum != nil { // SCAFFOLD: g + c − c_i, remembering the raw g
			c, ci := r.task.Control, r.task.State.Control
			for i, v := range g {
				r.gradSum[i] += float64(v)
				g[i] = v + c[i] - ci[i]
			}
			r.steps++
		}
		if r.task.Prox > 0 { // FedProx: ∂/∂w μ/2‖w − w_g‖² = μ(w − w_g)
			mu := float32(r.task.Prox)
			for i := range g {
				g[i] += mu * (w[i] - r.gw[i])
			}
		}
		if a := float32(r.task.Dyn); a > 0 { // FedDyn: ∂/∂w (−⟨g_i, w⟩ + α/2‖w − w_g‖²)
			gi := r.task.State.DynGrad
			for i := range g {
				g[i] += a*(w[i]-r.gw[i]) - gi[i]
			}
		}
		if t.cfg.ClipNorm > 0 {
			optim.ClipGradNorm(g, t.cfg.ClipNorm)
		}
		if k := t.stepFrom; k > 0 {
			r.opt.Step(w[k:], g[k:]) // the frozen prefix holds the encoders: no shrinkage either
		} else {
			r.opt.Step(w, g)
			if t.l1 != nil {
				t.shrink(w, float32(r.opt.LR()*t.cfg.L1))
			}
			for _, gr := range t.groups {
				GroupShrink(w[gr.r[0]:gr.r[1]], r.opt.LR()*t.cfg.GroupLasso*math.Sqrt(float64(gr.inputs)))
			}
			for _, fr := range t.frozen { // undo weight decay and shrinkage
				copy(w[fr[0]:fr[1]], r.task.Global[fr[0]:fr[1]])
			}
		}
		if r.miOpt != nil {
			r.miOpt.Step(r.miSt.Values[:r.miSt.NumWeights()], r.miSt.Grads)
		}
		fb := float64(b)
		sum.Total += fb * float64(total.Item())
		sum.MSE += fb * float64(mse.Item())
		sum.MI += fb * vMI
		sum.KL += fb * vKL
		sum.Con += fb * vCon
		sum.N += b
	}
	if sum.N > 0 {
		f := 1 / float64(sum.N)
		sum.Total, sum.MSE, sum.MI, sum.KL, sum.Con = sum.Total*f, sum.MSE*f, sum.MI*f, sum.KL*f, sum.Con*f
	}
	if r.sched != nil && sum.N > 0 && !math.IsNaN(sum.Total) {
		r.sched.Step(sum.Total)
	}
	r.epoch++
	r.last = sum
	return sum
}

// frozenFeatures returns the features Z of every sample of ds under a
// frozen network, in evaluation mode, as an n×d row-major slice.
func (r *Run) frozenFeatures(f *frozen, ds *data.Dataset, cols []int) []float32 {
	t := r.t
	d := t.mcfg.Features
	z := make([]float32, ds.Len()*d)
	er := t.encRange
	if r.lat != nil && slices.Equal(f.st.Values[er[0]:er[1]], t.st.Values[er[0]:er[1]]) {
		// Same frozen encoders: the latents are those of the cache.
		tp := t.tape
		idx := make([]int, 0, evalBatch)
		for start := 0; start < ds.Len(); start += evalBatch {
			idx = idx[:0]
			for i := start; i < min(start+evalBatch, ds.Len()); i++ {
				idx = append(idx, i)
			}
			tp.Reset()
			tp.Train = false
			was := tp.SetGrad(false)
			in, mu, lv := r.cachedLatents(idx)
			copy(z[start*d:], f.net.FromLatents(tp, in, mu, lv).Z.Data())
			tp.SetGrad(was)
		}
		return z
	}
	t.evalBatches(f.net, ds, cols, func(start int, out model.Output[float32]) {
		copy(z[start*d:], out.Z.Data())
	})
	return z
}

// latents returns every sample's encoder outputs under the loaded
// weights, in evaluation mode: per model modality n × width (nil for a
// modality ds lacks), and the widths.
func (t *Trainer) latents(ds *data.Dataset, cols []int) ([][]float32, []int) {
	nm := len(cols)
	lat, width := make([][]float32, nm), make([]int, nm)
	w := t.mcfg.Latent
	if t.mcfg.LearnedSigma {
		w *= 2
	}
	n := ds.Len()
	for m, j := range cols {
		width[m] = w
		if j >= 0 {
			lat[m] = make([]float32, n*w)
		}
	}
	tp := t.tape
	idx := make([]int, 0, evalBatch)
	for start := 0; start < n; start += evalBatch {
		idx = idx[:0]
		for i := start; i < min(start+evalBatch, n); i++ {
			idx = append(idx, i)
		}
		tp.Reset()
		tp.Train = false
		was := tp.SetGrad(false)
		in := t.input(ds, cols, idx)
		mu, lv := t.net.Encode(tp, in)
		for m := range nm {
			if mu[m] == nil {
				continue
			}
			h := mu[m]
			if lv[m] != nil {
				h = tp.Concat(1, mu[m], lv[m])
			}
			copy(lat[m][start*w:], h.Data())
		}
		tp.SetGrad(was)
	}
	return lat, width
}

// cachedLatents returns the batch idx as the network's input without its
// raw values (presence only) and its cached latents, split into means
// and log-variances as Encode splits them.
func (r *Run) cachedLatents(idx []int) (model.Input[float32], []*ag.Var[float32], []*ag.Var[float32]) {
	t, ds := r.t, r.task.Data
	tp := t.tape
	nm := len(r.cols)
	in := model.Input[float32]{N: len(idx), X: make([]*ag.Var[float32], nm), Present: make([][]bool, nm)}
	mu, lv := make([]*ag.Var[float32], nm), make([]*ag.Var[float32], nm)
	e := t.mcfg.Latent
	for m, j := range r.cols {
		if j < 0 || r.lat[m] == nil {
			continue
		}
		dm := &ds.Modalities[j]
		if dm.Present != nil {
			p := dm.GatherPresent(make([]bool, len(idx)), idx)
			if !slices.Contains(p, true) {
				continue
			}
			in.Present[m] = p
		}
		w := r.latW[m]
		buf := tp.Buffer(len(idx) * w)
		for k, i := range idx {
			copy(buf[k*w:(k+1)*w], r.lat[m][i*w:(i+1)*w])
		}
		h := ag.Const(buf, len(idx), w)
		if t.mcfg.LearnedSigma {
			mu[m], lv[m] = tp.Slice(h, 1, 0, e), tp.Slice(h, 1, e, 2*e)
		} else {
			mu[m] = h
		}
	}
	return in, mu, lv
}

// cached returns the rows idx of cached features as a constant.
func (r *Run) cached(z []float32, idx []int) *ag.Var[float32] {
	d := r.t.mcfg.Features
	out := r.t.tape.Buffer(len(idx) * d)
	for k, i := range idx {
		copy(out[k*d:(k+1)*d], z[i*d:(i+1)*d])
	}
	return ag.Const(out, len(idx), d)
}

// End finishes local training: it stores the client's state for the next
// round and returns the trained weights.
func (r *Run) End() Result {
	t, st := r.t, r.task.State
	w := append([]float32(nil), t.st.Values...)
	if r.t.cfg.Loss.OlderGlobals > 0 {
		st.Globals = append([][]float32{append([]float32(nil), r.task.Global...)}, st.Globals...)
		if len(st.Globals) > r.t.cfg.Loss.OlderGlobals {
			st.Globals = st.Globals[:r.t.cfg.Loss.OlderGlobals]
		}
	}
	st.Prev = append(st.Prev[:0], w...)
	st.Optim = r.opt.Snapshot()
	if r.sched != nil {
		st.Schedule = r.sched.Snapshot()
	}
	if r.miSt != nil {
		st.MI = append([]float32(nil), r.miSt.Values...)
		st.MIOptim = r.miOpt.Snapshot()
	}
	res := Result{Weights: w, N: r.task.Data.Len(), Terms: r.last}
	if r.gradSum != nil {
		res.ControlDelta = make([]float32, r.nWeight)
		for i, s := range r.gradSum {
			ci := float32(s / float64(max(r.steps, 1)))
			res.ControlDelta[i] = ci - st.Control[i]
			st.Control[i] = ci
		}
	}
	if a := r.task.Dyn; a > 0 {
		for i := range st.DynGrad {
			st.DynGrad[i] -= float32(a * (float64(w[i]) - float64(r.gw[i])))
		}
	}
	return res
}
