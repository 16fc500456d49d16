package optim

import "math"

// Scheduler changes an optimiser's learning rate once per epoch.
type Scheduler interface {
	// Step is called at the end of an epoch with its metric (for example
	// the mean training loss; schedules that ignore it accept any value)
	// and returns the learning rate for the next epoch.
	Step(metric float64) float64
}

// Plateau halves (by Factor) the learning rate when the metric has not
// improved for Patience epochs, like torch.optim.lr_scheduler
// .ReduceLROnPlateau in "min" mode with a relative threshold.
type Plateau struct {
	Opt       Optimizer
	Factor    float64 // multiplier on a plateau; 0 means 0.1
	Patience  int     // epochs without improvement tolerated
	Threshold float64 // relative improvement that counts; 0 means 1e-4
	MinLR     float64
	best      float64
	bad       int
	started   bool
}

// Step records the epoch's metric and returns the learning rate to use next.
func (p *Plateau) Step(metric float64) float64 {
	factor, thr := p.Factor, p.Threshold
	if factor == 0 {
		factor = 0.1
	}
	if thr == 0 {
		thr = 1e-4
	}
	if !p.started || metric < p.best*(1-thr) {
		p.best, p.bad, p.started = metric, 0, true
	} else {
		p.bad++
	}
	if p.bad > p.Patience {
		lr := max(p.Opt.LR()*factor, p.MinLR)
		p.Opt.SetLR(lr)
		p.bad = 0
	}
	return p.Opt.LR()
}

// Cosine anneals the learning rate from its value at construction to Min
// over Epochs epochs along half a cosine (torch's CosineAnnealingLR).
type Cosine struct {
	Opt    Optimizer
	Epochs int
	Min    float64
	base   float64
	t      int
}

// NewCosine returns a cosine schedule starting from opt's current rate.
func NewCosine(opt Optimizer, epochs int, minLR float64) *Cosine {
	return &Cosine{Opt: opt, Epochs: epochs, Min: minLR, base: opt.LR()}
}

// Step advances one epoch and returns the learning rate to use next.
func (c *Cosine) Step(float64) float64 {
	c.t++
	t := min(c.t, c.Epochs)
	lr := c.Min + (c.base-c.Min)*(1+math.Cos(math.Pi*float64(t)/float64(c.Epochs)))/2
	c.Opt.SetLR(lr)
	return lr
}

// Snapshot returns the schedule's progress (best metric, epochs without
// improvement), for saving with the optimiser's state.
func (p *Plateau) Snapshot() map[string]float64 {
	s := map[string]float64{"best": p.best, "bad": float64(p.bad)}
	if p.started {
		s["started"] = 1
	}
	return s
}

// Restore sets the progress from a Snapshot.
func (p *Plateau) Restore(s map[string]float64) {
	p.best, p.bad, p.started = s["best"], int(s["bad"]), s["started"] == 1
}
