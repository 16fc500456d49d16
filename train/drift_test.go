package train_test

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/train"
)

// oneStep trains one full-batch SGD step (no momentum, no decay) from w
// and returns the new weights, the result and the state after it.
func sgdStep(t *testing.T, mc model.Config, w []float32, lr float64, task train.Task) ([]float32, train.Result) {
	t.Helper()
	tr, err := train.New(mc, train.Config{Epochs: 1, BatchSize: task.Data.Len(), Optimizer: "sgd", LR: lr})
	if err != nil {
		t.Fatal(err)
	}
	task.Global = w
	task.Seed, task.MISeed = 1, 1
	res, err := tr.Fit(task)
	if err != nil {
		t.Fatal(err)
	}
	return res.Weights, res
}

func smallNet() model.Config {
	return model.Config{Latent: 4, Features: 3, Modalities: []model.Modality{
		{Name: "image", Shape: []int{3, 32, 32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
		{Name: "text", Shape: []int{10, 50}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
		{Name: "vector", Shape: []int{32}, Encoder: model.Encoder{Type: model.EncMLP, Hidden: []int{}}},
	}, Fusion: model.Fusion{Hidden: []int{5}}, Head: model.Head{Hidden: []int{4}}}
}

// TestDriftTerms checks the gradient corrections of SCAFFOLD and FedDyn
// against their definitions: with one full-batch SGD step of rate η from
// the global model w, training without a correction moves to w − η·∇L,
// so the corrected step must land exactly η·(correction) further, and
// SCAFFOLD's new control variate must be ∇L = (w − w_plain)/η.
func TestDriftTerms(t *testing.T) {
	ds := simData(t, 24, 3)
	mc := smallNet()
	w, err := train.InitialWeights(mc, 7)
	if err != nil {
		t.Fatal(err)
	}
	const lr = 0.05
	plain, _ := sgdStep(t, mc, w, lr, train.Task{Data: ds, State: &train.ClientState{}})
	nw := len(plain) // no buffers in this network
	r := rand.New(rand.NewPCG(4, 5))
	rnd := func() []float32 {
		v := make([]float32, nw)
		for i := range v {
			v[i] = float32(r.NormFloat64() * 0.1)
		}
		return v
	}
	near := func(what string, got, want, scale float64) {
		t.Helper()
		if math.Abs(got-want) > 1e-4*(scale+math.Abs(want)) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}

	t.Run("scaffold", func(t *testing.T) {
		c, ci := rnd(), rnd()
		st := &train.ClientState{Control: append([]float32(nil), ci...)}
		got, res := sgdStep(t, mc, w, lr, train.Task{Data: ds, State: st, Control: c})
		for i := range nw {
			// w − η(∇L + c − c_i) = plain − η(c − c_i)
			near("weight", float64(got[i]), float64(plain[i])-lr*float64(c[i]-ci[i]), 1)
			grad := (float64(w[i]) - float64(plain[i])) / lr
			near("new c_i", float64(st.Control[i]), grad, 1)
			near("Δc_i", float64(res.ControlDelta[i]), grad-float64(ci[i]), 1)
		}
	})
	t.Run("feddyn", func(t *testing.T) {
		const alpha = 0.3
		gi := rnd()
		st := &train.ClientState{DynGrad: append([]float32(nil), gi...)}
		got, res := sgdStep(t, mc, w, lr, train.Task{Data: ds, State: st, Dyn: alpha})
		if res.ControlDelta != nil {
			t.Fatal("FedDyn returned a SCAFFOLD control change")
		}
		for i := range nw {
			// At w = w_global the regulariser's gradient is −g_i.
			near("weight", float64(got[i]), float64(plain[i])+lr*float64(gi[i]), 1)
			// g_i ← g_i − α(w − w_global)
			near("g_i", float64(st.DynGrad[i]), float64(gi[i])-alpha*(float64(got[i])-float64(w[i])), 1)
		}
	})
	t.Run("feddyn second step", func(t *testing.T) {
		// Two steps: the second sees w₁ ≠ w_global, so the α term acts.
		const alpha = 0.5
		tr, err := train.New(mc, train.Config{Epochs: 2, BatchSize: ds.Len(), Optimizer: "sgd", LR: lr})
		if err != nil {
			t.Fatal(err)
		}
		trPlain, _ := train.New(mc, train.Config{Epochs: 1, BatchSize: ds.Len(), Optimizer: "sgd", LR: lr})
		st := &train.ClientState{}
		res, err := tr.Fit(train.Task{Data: ds, Global: w, State: st, Seed: 1, MISeed: 1, Dyn: alpha})
		if err != nil {
			t.Fatal(err)
		}
		// Step 1 equals plain (g_i = 0 and w = w_global); step 2 from w₁.
		w1 := plain
		p2, err := trPlain.Fit(train.Task{Data: ds, Global: w1, State: &train.ClientState{}, Seed: 1, MISeed: 1})
		if err != nil {
			t.Fatal(err)
		}
		for i := range nw {
			want := float64(p2.Weights[i]) - lr*alpha*(float64(w1[i])-float64(w[i]))
			near("weight after two steps", float64(res.Weights[i]), want, 1)
		}
	})
	t.Run("mismatched control", func(t *testing.T) {
		if _, err := train.New(mc, train.Config{}); err != nil {
			t.Fatal(err)
		}
		tr, _ := train.New(mc, train.Config{Epochs: 1})
		_, err := tr.Fit(train.Task{Data: ds, Global: w, State: &train.ClientState{}, Control: make([]float32, 3)})
		if err == nil {
			t.Fatal("a control variate of the wrong size was accepted")
		}
	})
}

// TestFreeze checks that frozen parts do not move, whatever the
// optimiser's weight decay, and the others do.
func TestFreeze(t *testing.T) {
	ds := simData(t, 24, 3)
	mc := smallNet()
	w, err := train.InitialWeights(mc, 7)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(mc, train.Config{Epochs: 2, BatchSize: 8, WeightDecay: 0.1, L1: 0.1, Freeze: []string{"encoders"}})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Fit(train.Task{Data: ds, Global: w, State: &train.ClientState{}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	movedEnc, movedRest := false, false
	for _, e := range tr.Layout() {
		for i := e.Offset; i < e.Offset+e.Param.Len(); i++ {
			if res.Weights[i] != w[i] {
				if strings.HasPrefix(e.Name, "encoders.") {
					movedEnc = true
				} else {
					movedRest = true
				}
			}
		}
	}
	if movedEnc || !movedRest {
		t.Fatalf("encoders moved: %v (want false), the rest moved: %v (want true)", movedEnc, movedRest)
	}
	if _, err := train.New(mc, train.Config{Freeze: []string{"decoder"}}); err == nil {
		t.Fatal("freeze accepted an unknown part")
	}
}

// TestGroupShrink checks the group-lasso proximal step against its
// definition: the result minimises ½‖x − w‖² + t‖x‖₂ (no direction
// nearby does better), and a group whose norm is at most t vanishes.
func TestGroupShrink(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 9))
	obj := func(x, w []float32, th float64) float64 {
		var d, n float64
		for i := range x {
			d += (float64(x[i]) - float64(w[i])) * (float64(x[i]) - float64(w[i]))
			n += float64(x[i]) * float64(x[i])
		}
		return d/2 + th*math.Sqrt(n)
	}
	for _, th := range []float64{0.1, 0.5, 2, 10} {
		w := make([]float32, 6)
		for i := range w {
			w[i] = float32(r.NormFloat64())
		}
		x := append([]float32(nil), w...)
		train.GroupShrink(x, th)
		best := obj(x, w, th)
		for range 200 {
			y := append([]float32(nil), x...)
			for i := range y {
				y[i] += float32(r.NormFloat64() * 0.01)
			}
			if o := obj(y, w, th); o < best-1e-6 {
				t.Fatalf("t = %v: a nearby point has objective %v below the step's %v", th, o, best)
			}
		}
	}
	w := []float32{0.3, -0.4} // norm 0.5
	train.GroupShrink(w, 0.6)
	if w[0] != 0 || w[1] != 0 {
		t.Fatalf("a group of norm 0.5 under t = 0.6 became %v, want zero", w)
	}
}

// TestGroupLassoSwitchesOffAModality trains with a strong group penalty
// and expects some modality's input weights to vanish as a whole.
func TestGroupLassoSwitchesOffAModality(t *testing.T) {
	ds := simData(t, 48, 3)
	mc := smallNet()
	w, err := train.InitialWeights(mc, 7)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := train.New(mc, train.Config{Epochs: 3, BatchSize: 16, LR: 0.01, GroupLasso: 1})
	if err != nil {
		t.Fatal(err)
	}
	res, err := tr.Fit(train.Task{Data: ds, Global: w, State: &train.ClientState{}, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	off := 0
	for _, e := range tr.Layout() {
		if !strings.HasPrefix(e.Name, "encoders.") || !strings.HasSuffix(e.Name, ".weight") {
			continue
		}
		zero := true
		for _, v := range res.Weights[e.Offset : e.Offset+e.Param.Len()] {
			zero = zero && v == 0
		}
		if zero {
			off++
		}
	}
	if off == 0 {
		t.Fatal("no modality was switched off by a group penalty of 1")
	}
}
