package optim

import (
	"encoding/json"
	"math"
	"os"
	"testing"
)

type reference struct {
	W0      []float32            `json:"w0"`
	Grads   [][]float32          `json:"grads"`
	Final   map[string][]float32 `json:"final"`
	Plateau struct {
		Metrics []float64 `json:"metrics"`
		LRs     []float64 `json:"lrs"`
	} `json:"plateau"`
	Cosine []float64 `json:"cosine"`
}

func loadReference(t *testing.T) reference {
	t.Helper()
	b, err := os.ReadFile("testdata/torch_optim.json")
	if err != nil {
		t.Fatal(err)
	}
	var ref reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	return ref
}

// TestOptimizersMatchPyTorch replays four gradient steps through each
// optimiser and compares the weights with torch.optim's.
func TestOptimizersMatchPyTorch(t *testing.T) {
	ref := loadReference(t)
	cases := map[string]func() Optimizer{
		"sgd":          func() Optimizer { return &SGD{Rate: 0.1} },
		"sgd_momentum": func() Optimizer { return &SGD{Rate: 0.1, Momentum: 0.9, WeightDecay: 0.01} },
		"sgd_nesterov": func() Optimizer { return &SGD{Rate: 0.1, Momentum: 0.9, Nesterov: true} },
		"adam":         func() Optimizer { return NewAdam(0.01) },
		"adam_l2":      func() Optimizer { a := NewAdam(0.01); a.WeightDecay = 0.1; return a },
		"adamw":        func() Optimizer { return NewAdamW(0.01, 0.1) },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			want, ok := ref.Final[name]
			if !ok {
				t.Fatalf("no reference for %s", name)
			}
			opt := mk()
			w := append([]float32(nil), ref.W0...)
			for i, g := range ref.Grads {
				opt.Step(w, append([]float32(nil), g...))
				if i == 1 { // a snapshot taken mid-way must resume identically
					s := opt.Snapshot()
					opt = mk()
					if err := opt.Restore(s); err != nil {
						t.Fatal(err)
					}
				}
			}
			for i := range w {
				if math.Abs(float64(w[i]-want[i])) > 1e-6 {
					t.Fatalf("weights %v, PyTorch gives %v", w, want)
				}
			}
		})
	}
}

func TestSchedulersMatchPyTorch(t *testing.T) {
	ref := loadReference(t)
	opt := &SGD{Rate: 1}
	p := &Plateau{Opt: opt, Factor: 0.5, Patience: 2}
	for i, m := range ref.Plateau.Metrics {
		if lr := p.Step(m); math.Abs(lr-ref.Plateau.LRs[i]) > 1e-12 {
			t.Fatalf("plateau epoch %d: lr %v, PyTorch gives %v", i, lr, ref.Plateau.LRs[i])
		}
	}
	opt = &SGD{Rate: 1}
	c := NewCosine(opt, 5, 0.1)
	for i, want := range ref.Cosine {
		if lr := c.Step(0); math.Abs(lr-want) > 1e-12 {
			t.Fatalf("cosine epoch %d: lr %v, PyTorch gives %v", i, lr, want)
		}
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []float32{3, 4}
	if n := ClipGradNorm(g, 1); math.Abs(n-5) > 1e-12 {
		t.Fatalf("norm %v, want 5", n)
	}
	if got := math.Hypot(float64(g[0]), float64(g[1])); math.Abs(got-1) > 1e-5 {
		t.Fatalf("clipped norm %v, want 1", got)
	}
	g = []float32{0.3, 0.4}
	ClipGradNorm(g, 1)
	if g[0] != 0.3 || g[1] != 0.4 {
		t.Fatalf("a gradient under the bound changed: %v", g)
	}
}

func TestRestoreRejectsOtherKinds(t *testing.T) {
	if err := NewAdam(1).Restore((&SGD{}).Snapshot()); err == nil {
		t.Fatal("Adam restored from an SGD snapshot")
	}
}
