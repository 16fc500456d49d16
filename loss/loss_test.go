package loss_test

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/ag/agtest"
	"github.com/fdrmfl/fdrmfl/loss"
	"github.com/fdrmfl/fdrmfl/nn"
)

type V = ag.Var[float64]
type Tp = ag.Tape[float64]

func c(tp *Tp, data []float64, shape ...int) *V { return tp.Const(data, shape...) }

func identity() nn.Func[float64] { return func(_ *Tp, x *V) *V { return x } }

// TestTermsOnHandWorkedValues checks each term against values worked out by hand.
func TestTermsOnHandWorkedValues(t *testing.T) {
	cases := []struct {
		name string
		f    func(tp *Tp) *V
		want float64
	}{
		{"MSE", func(tp *Tp) *V { return loss.MSE(tp, c(tp, []float64{1, 2, 3}, 3, 1), c(tp, []float64{1, 1, 1}, 3, 1)) }, 5.0 / 3},
		// (0−1)² + (0−2)² over e=2 dims, /(2σ²) with σ = 0.1: 5/(2·0.01·2) = 125.
		{"SymmetricKLFixed", func(tp *Tp) *V {
			return loss.SymmetricKL(tp, []loss.Latent[float64]{{Mu: c(tp, []float64{0, 0}, 1, 2)}, {Mu: c(tp, []float64{1, 2}, 1, 2)}}, 0.1)
		}, 125},
		// Three modalities, one sample: pairs (a,b) 1, (a,c) 4, (b,c) 1 per dim (e=1), σ²=0.5 → d²/(2σ²) = d²; mean = 2.
		{"SymmetricKLThreePairs", func(tp *Tp) *V {
			return loss.SymmetricKL(tp, []loss.Latent[float64]{{Mu: c(tp, []float64{0}, 1, 1)}, {Mu: c(tp, []float64{1}, 1, 1)}, {Mu: c(tp, []float64{2}, 1, 1)}}, math.Sqrt(0.5))
		}, 2},
		// Sample 0 has all three modalities (pair mean 2, as above); sample 1
		// lacks the third, leaving pair (a,b) with d² = 9: mean over samples 5.5.
		{"SymmetricKLMissing", func(tp *Tp) *V {
			return loss.SymmetricKL(tp, []loss.Latent[float64]{
				{Mu: c(tp, []float64{0, 0}, 2, 1)},
				{Mu: c(tp, []float64{1, 3}, 2, 1)},
				{Mu: c(tp, []float64{2, 100}, 2, 1), Present: []bool{true, false}},
			}, math.Sqrt(0.5))
		}, 5.5},
		// N(0,1) and N(0,4): KL both ways log2+1/8−½ and −log2+2−½; mean 0.5625.
		{"SymmetricKLLearned", func(tp *Tp) *V {
			return loss.SymmetricKL(tp, []loss.Latent[float64]{
				{Mu: c(tp, []float64{0}, 1, 1), LogVar: c(tp, []float64{0}, 1, 1)},
				{Mu: c(tp, []float64{0}, 1, 1), LogVar: c(tp, []float64{math.Log(4)}, 1, 1)},
			}, 0)
		}, 0.5625},
		// cos with the positive 1, with the negative 0, τ = 0.5: log(1 + e⁻²).
		{"Contrastive", func(tp *Tp) *V {
			return loss.Contrastive(tp, c(tp, []float64{1, 0}, 1, 2), c(tp, []float64{2, 0}, 1, 2), []*V{c(tp, []float64{0, 3}, 1, 2)}, 0.5)
		}, math.Log(1 + math.Exp(-2))},
		// u = (1,2,3,4), y = (1,3,2,4): ρ = 4/(5 + 1e-8), the 1e-8 guarding
		// against constant inputs.
		{"CorrelationMI", func(tp *Tp) *V {
			m := &loss.CorrelationMI[float64]{F: identity()}
			return m.Loss(tp, c(tp, []float64{1, 2, 3, 4}, 4, 1), c(tp, []float64{1, 3, 2, 4}, 4, 1))
		}, -math.Log(4 / (5 + 1e-8))},
		{"GaussianMI", func(tp *Tp) *V {
			m := loss.NewGaussianMI[float64](1, rand.New(rand.NewPCG(1, 1)))
			m.Proj.W.Value[0], m.Proj.B.Value[0] = 2, 1 // correlation is invariant to this affine map
			return m.Loss(tp, c(tp, []float64{1, 2, 3, 4}, 4, 1), c(tp, []float64{1, 3, 2, 4}, 4, 1))
		}, 0.5 * math.Log(1-math.Pow(8/(10+1e-8), 2)+1e-6)}, // u = 2z+1 doubles the deviations
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tp := ag.NewTape[float64]()
			got := tc.f(tp).Item()
			if math.Abs(got-tc.want) > 1e-9*max(1, math.Abs(tc.want)) {
				t.Fatalf("got %.12g, want %.12g", got, tc.want)
			}
		})
	}
}

// TestTermGradients checks each term's gradient by finite differences.
func TestTermGradients(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 3))
	p := func(shape ...int) *V { return agtest.Param(r, -1, 1, shape...) }
	y := p(6, 1)
	y2 := p(6, 2)
	mi := loss.NewCorrelationMI[float64](4, 5, r)
	gmi := loss.NewGaussianMI[float64](4, r)
	gst := nn.Bind[float64](gmi)
	z, h1, h2, h3, lv1, lv2, lv3 := p(6, 4), p(6, 3), p(6, 3), p(6, 3), p(6, 3), p(6, 3), p(6, 3)
	glob, neg1, neg2 := p(6, 4), p(6, 4), p(6, 4)
	cases := []struct {
		name   string
		params []*V
		f      func(tp *Tp) *V
	}{
		{"MSE", []*V{z}, func(tp *Tp) *V { return loss.MSE(tp, tp.Slice(z, 1, 0, 1), y) }},
		{"CorrelationMI", []*V{z}, func(tp *Tp) *V { return mi.Loss(tp, z, y) }},
		{"CorrelationMITwoResponses", []*V{z}, func(tp *Tp) *V { return mi.Loss(tp, z, y2) }},
		{"GaussianMI", append([]*V{z}, gst.Entries[0].Param.Var(), gst.Entries[1].Param.Var()), func(tp *Tp) *V { return gmi.Loss(tp, z, y) }},
		{"SymmetricKLFixed", []*V{h1, h2, h3}, func(tp *Tp) *V {
			return loss.SymmetricKL(tp, []loss.Latent[float64]{{Mu: h1}, {Mu: h2}, {Mu: h3}}, 0.1)
		}},
		{"SymmetricKLMissing", []*V{h1, h2, h3}, func(tp *Tp) *V {
			return loss.SymmetricKL(tp, []loss.Latent[float64]{{Mu: h1, Present: []bool{true, true, false, true, true, false}}, {Mu: h2}, {Mu: h3, Present: []bool{false, true, true, true, false, true}}}, 0.1)
		}},
		{"SymmetricKLLearned", []*V{h1, h2, h3, lv1, lv2, lv3}, func(tp *Tp) *V {
			return loss.SymmetricKL(tp, []loss.Latent[float64]{{Mu: h1, LogVar: lv1}, {Mu: h2, LogVar: lv2}, {Mu: h3, LogVar: lv3}}, 0)
		}},
		{"Contrastive", []*V{z}, func(tp *Tp) *V { return loss.Contrastive(tp, z, glob, []*V{neg1}, 0.5) }},
		{"ContrastiveTwoNegatives", []*V{z}, func(tp *Tp) *V { return loss.Contrastive(tp, z, glob, []*V{neg1, neg2}, 0.3) }},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) { agtest.Gradients(t, tc.f, tc.params, agtest.Options{}) })
	}
	for _, g := range glob.Grad() {
		if g != 0 {
			t.Fatal("the contrastive term sent a gradient into the frozen global features")
		}
	}
}
