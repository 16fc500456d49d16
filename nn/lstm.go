package nn

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
)

// LSTM is a multi-layer, optionally bidirectional long short-term memory
// network over sequences N×T×In (torch.nn.LSTM with batch_first=True).
// Its output is every step's hidden state, N×T×H (N×T×2H when
// bidirectional, forward direction first); each layer after the first
// reads the previous layer's output, with dropout between layers in
// training mode.
type LSTM[T Float] struct {
	Hidden        int
	Bidirectional bool
	Dropout       float64
	// Cells[l][d] holds the weights of layer l and direction d (0 forward,
	// 1 reverse).
	Cells [][]LSTMCell[T]
}

// LSTMCell holds the weights of one layer and direction.
type LSTMCell[T Float] struct {
	WIH, WHH, BIH, BHH *Param[T] // 4H×In, 4H×H, 4H, 4H; gates i, f, g, o
}

// NewLSTM returns an LSTM initialised as PyTorch's: every weight uniform on
// ±1/√hidden.
func NewLSTM[T Float](in, hidden, layers int, bidirectional bool, dropout float64, r *rand.Rand) *LSTM[T] {
	if layers < 1 || hidden < 1 || in < 1 {
		panic(fmt.Sprintf("nn.NewLSTM: bad sizes in=%d hidden=%d layers=%d", in, hidden, layers))
	}
	dirs := 1
	if bidirectional {
		dirs = 2
	}
	l := &LSTM[T]{Hidden: hidden, Bidirectional: bidirectional, Dropout: dropout}
	bound := 1 / math.Sqrt(float64(hidden))
	for i := range layers {
		li := in
		if i > 0 {
			li = hidden * dirs
		}
		var cells []LSTMCell[T]
		for range dirs {
			c := LSTMCell[T]{
				WIH: newParam[T](Weight, 4*hidden, li), WHH: newParam[T](Weight, 4*hidden, hidden),
				BIH: newParam[T](Weight, 4*hidden), BHH: newParam[T](Weight, 4*hidden),
			}
			for _, p := range []*Param[T]{c.WIH, c.WHH, c.BIH, c.BHH} {
				Uniform(p, bound, r)
			}
			cells = append(cells, c)
		}
		l.Cells = append(l.Cells, cells)
	}
	return l
}

// OutputSize returns the feature size of each output step.
func (l *LSTM[T]) OutputSize() int {
	if l.Bidirectional {
		return 2 * l.Hidden
	}
	return l.Hidden
}

// Forward maps N×T×In to N×T×OutputSize().
func (l *LSTM[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
	for i, cells := range l.Cells {
		if i > 0 {
			x = tp.Dropout(x, l.Dropout)
		}
		outs := make([]*ag.Var[T], len(cells))
		for d, c := range cells {
			outs[d] = tp.LSTM(x, c.WIH.Var(), c.WHH.Var(), c.BIH.Var(), c.BHH.Var(), d == 1)
		}
		if len(outs) == 1 {
			x = outs[0]
		} else {
			x = tp.Concat(2, outs...)
		}
	}
	return x
}

// Params returns torch's names: weight_ih_l0, weight_hh_l0, bias_ih_l0,
// bias_hh_l0, then the same with the suffix _reverse, for each layer.
func (l *LSTM[T]) Params() []Named[T] {
	var ps []Named[T]
	for i, cells := range l.Cells {
		for d, c := range cells {
			suf := fmt.Sprintf("_l%d", i)
			if d == 1 {
				suf += "_reverse"
			}
			ps = append(ps,
				Named[T]{"weight_ih" + suf, c.WIH}, Named[T]{"weight_hh" + suf, c.WHH},
				Named[T]{"bias_ih" + suf, c.BIH}, Named[T]{"bias_hh" + suf, c.BHH})
		}
	}
	return ps
}
