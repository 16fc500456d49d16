// Package agtest checks the engine's hand-written gradients against
// central finite differences, in float64.
package agtest

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fdrmfl/fdrmfl/ag"
)

// Func is a computation to check: it builds its output on tp from the
// parameters the check was given (and anything else it closes over).
// It must be deterministic for a given tape setting and random source.
type Func func(tp *ag.Tape[float64]) *ag.Var[float64]

// Options tune a check. The zero value means: step 1e-6, tolerance 1e-6,
// evaluation mode.
type Options struct {
	Step  float64 // finite-difference step h
	Tol   float64 // largest accepted relative error
	Train bool    // run f in training mode (the tape's Train flag)
	Seed  uint64  // seed of the tape's random source, reset on every evaluation
}

// Gradients checks the gradients of f with respect to every element of
// params (variables made with ag.Param). A non-scalar output y is reduced
// to L = Σ wᵢ·yᵢ with fixed random weights w, so that every output element
// is checked. For each parameter the relative error
// ‖g_analytic − g_numeric‖ / max(‖g_analytic‖, ‖g_numeric‖) must not exceed
// the tolerance (a parameter whose gradients are both below 1e-9 in norm,
// such as a bias that a normalisation cancels, is skipped); it returns the largest relative error seen and reports
// failures through t.
func Gradients(t testing.TB, f Func, params []*ag.Var[float64], opt Options) float64 {
	t.Helper()
	worst, err := gradients(f, params, opt)
	if err != nil {
		t.Error(err)
	}
	return worst
}

func gradients(f Func, params []*ag.Var[float64], opt Options) (float64, error) {
	h, tol := opt.Step, opt.Tol
	if h == 0 {
		h = 1e-6
	}
	if tol == 0 {
		tol = 1e-6
	}
	tp := ag.NewTape[float64]()
	run := func(record bool) *ag.Var[float64] {
		tp.Reset()
		tp.Train = opt.Train
		tp.Rand = rand.New(rand.NewPCG(opt.Seed, 0x9e3779b97f4a7c15))
		tp.SetGrad(record)
		return f(tp)
	}
	for _, p := range params {
		clear(p.Grad())
	}
	out := run(true)
	w := make([]float64, out.Len())
	wr := rand.New(rand.NewPCG(7, 11))
	for i := range w {
		w[i] = wr.Float64()*2 - 1
	}
	if out.Len() == 1 {
		w[0] = 1
	}
	tp.BackwardFrom(out, w)
	analytic := make([][]float64, len(params))
	for i, p := range params {
		analytic[i] = append([]float64(nil), p.Grad()...)
	}
	loss := func() float64 {
		y := run(false).Data()
		var s float64
		for i, v := range y {
			s += w[i] * v
		}
		return s
	}
	worst, nonzero := 0.0, false
	for pi, p := range params {
		data := p.Data()
		var diff, na, nn float64
		worstElem, worstA, worstN := -1, 0.0, 0.0
		for i := range data {
			orig := data[i]
			data[i] = orig + h
			lp := loss()
			data[i] = orig - h
			lm := loss()
			data[i] = orig
			num := (lp - lm) / (2 * h)
			a := analytic[pi][i]
			d := (a - num) * (a - num)
			if worstElem < 0 || math.Abs(a-num) > math.Abs(worstA-worstN) {
				worstElem, worstA, worstN = i, a, num
			}
			diff += d
			na += a * a
			nn += num * num
		}
		den := math.Sqrt(max(na, nn))
		if den < 1e-9 { // a gradient that is zero in theory (e.g. a bias before a normalisation)
			continue
		}
		nonzero = true
		rel := 0.0
		if den > 0 {
			rel = math.Sqrt(diff) / den
		} else if diff > 0 {
			rel = math.Inf(1)
		}
		if math.IsNaN(rel) {
			rel = math.Inf(1)
		}
		worst = max(worst, rel)
		if rel > tol {
			return worst, fmt.Errorf("parameter %d (shape %v): relative gradient error %.3g > %.3g; worst element %d: analytic %.10g, numeric %.10g",
				pi, p.Shape(), rel, tol, worstElem, worstA, worstN)
		}
	}
	if !nonzero {
		return worst, fmt.Errorf("every gradient is zero, so the check proves nothing")
	}
	return worst, nil
}

// Param returns a parameter of the given shape filled with values drawn
// uniformly from [lo, hi) by r, with its own zeroed gradient buffer.
func Param(r *rand.Rand, lo, hi float64, shape ...int) *ag.Var[float64] {
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := make([]float64, n)
	for i := range data {
		data[i] = lo + (hi-lo)*r.Float64()
	}
	return ag.Param(data, make([]float64, n), shape...)
}
