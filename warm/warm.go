// Package warm starts an FDRMFL network where a linear model is: it sets
// the weights of a freshly built network so that the head computes the
// linear model's predictions exactly and Z carries its directions (the
// prediction first, then further directions such as PLS scores), while the
// network's other units keep their random initialisation and can take up
// what the linear model misses once training starts.
//
// A linear value v passes a ReLU layer unchanged as a pair of units,
// relu(v/s) and relu(−v/s), read back as s·(u⁺ − u⁻); a layer without a
// ReLU after it (an encoder's last layer, the layer to Z, the head's
// output) carries v/s in one unit. Units that carry a direction read only
// the units that carry it in the layer before; every other unit keeps its
// random weights, and the weights from those units into carrying units are
// zero, so at the start they change nothing but still get gradient.
//
// The package knows the networks that model.New builds from dense layers:
// mlp encoders (any depth, no batch normalisation), weighted or concat
// fusion, a fusion MLP without batch normalisation and with no activation
// on Z, and an MLP head. It does no I/O.
package warm

import (
	"fmt"
	"math"

	"github.com/fdrmfl/fdrmfl/model"
	"github.com/fdrmfl/fdrmfl/nn"
)

// Direction is a linear function of the network's standardised inputs,
//
//	v = Σ_m W[m]·x_m,
//
// with the standard deviation of each modality's part W[m]·x_m (PartSD)
// and of v (SD) over the training rows, which set the scale of the units
// that carry it.
type Direction struct {
	W      [][]float64 // per modality, in the model's order; nil: the modality does not enter
	PartSD []float64
	SD     float64
}

// Linear is a linear model of the network's standardised responses:
// response k is predicted as Intercept[k] + v_k, v_k being Dirs[k]; the
// directions after the first len(Intercept) are features that Z carries
// after the predictions.
type Linear struct {
	Intercept []float64
	Dirs      []Direction
}

// Init sets net's weights so that its prediction is the linear model's,
// and Z_j = v_j/SD_j for the directions that fit (carried: their number).
// Every response's prediction is carried; further directions go into Z
// while every layer has room: a unit in each encoder's latent and in Z, two
// units in every hidden layer. Init returns an error, and leaves net as it
// was, for a network it cannot map or a model that does not fit it.
func Init[T nn.Float](net *model.Model[T], lin *Linear) (carried int, err error) {
	cfg := net.Config
	q := cfg.Responses
	if len(lin.Intercept) != q {
		return 0, fmt.Errorf("warm: the linear model predicts %d responses, the network %d", len(lin.Intercept), q)
	}
	if len(lin.Dirs) < q {
		return 0, fmt.Errorf("warm: the linear model has %d directions for %d responses", len(lin.Dirs), q)
	}
	nm := len(cfg.Modalities)
	for j, d := range lin.Dirs {
		if len(d.W) != nm || len(d.PartSD) != nm {
			return 0, fmt.Errorf("warm: direction %d covers %d modalities (%d part sds), the network has %d", j, len(d.W), len(d.PartSD), nm)
		}
		for m, w := range d.W {
			if w != nil && len(w) != prod(cfg.Modalities[m].Shape) {
				return 0, fmt.Errorf("warm: direction %d has %d weights for modality %q of %d inputs", j, len(w), cfg.Modalities[m].Name, prod(cfg.Modalities[m].Shape))
			}
		}
	}
	switch cfg.Fusion.Type {
	case model.FuseWeighted, model.FuseConcat:
	default:
		return 0, fmt.Errorf("warm: fusion %q is not supported (weighted or concat)", cfg.Fusion.Type)
	}
	if cfg.Fusion.Activation != "" {
		return 0, fmt.Errorf("warm: an activation on Z (%q) is not supported", cfg.Fusion.Activation)
	}
	encs := make([][]*nn.Dense[T], nm)
	for m, e := range net.Encoders {
		if encs[m], err = denseChain(e); err != nil {
			return 0, fmt.Errorf("warm: encoder of %q: %w", cfg.Modalities[m].Name, err)
		}
	}
	fusion, err := denseChain(net.FusionMLP)
	if err != nil {
		return 0, fmt.Errorf("warm: fusion: %w", err)
	}
	head, err := denseChain(net.Head)
	if err != nil {
		return 0, fmt.Errorf("warm: head: %w", err)
	}
	// How many directions fit: one unit per direction in every encoder's
	// latent and in Z, two in every hidden layer.
	room := min(len(lin.Dirs), cfg.Latent, cfg.Features)
	for _, chain := range append(encs, fusion) {
		for _, l := range chain[:len(chain)-1] {
			room = min(room, l.W.Shape[0]/2)
		}
	}
	headRoom := q
	for _, l := range head[:len(head)-1] {
		headRoom = min(headRoom, l.W.Shape[0]/2)
	}
	if room < q || headRoom < q {
		return 0, fmt.Errorf("warm: the network has no room to carry %d predictions (latent %d, features %d, hidden layers of at least %d units needed)", q, cfg.Latent, cfg.Features, 2*q)
	}
	dirs := lin.Dirs[:room]

	// Encoders: direction j of modality m ends in latent unit j as
	// W[m]·x_m / PartSD[m].
	for m, chain := range encs {
		readers := make([][]float64, len(dirs))
		scales := make([]float64, len(dirs))
		for j, d := range dirs {
			readers[j] = d.W[m]
			scales[j] = safe(d.PartSD[m])
		}
		carry(chain, readers, scales, nil)
	}
	// Fusion: the first layer reads Σ_m PartSD[m]·latent_j(m) (fusion
	// weights are 1 when every modality is present; concat uses none).
	e := cfg.Latent
	readers := make([][]float64, len(dirs))
	scales := make([]float64, len(dirs))
	for j, d := range dirs {
		r := make([]float64, nm*e)
		for m := range nm {
			if d.W[m] != nil {
				r[m*e+j] = safe(d.PartSD[m])
			}
		}
		readers[j], scales[j] = r, safe(d.SD)
	}
	carry(fusion, readers, scales, nil)
	if net.ModalityWeights != nil {
		for i := range net.ModalityWeights.Value {
			net.ModalityWeights.Value[i] = 1 // equal logits: every weight 1
		}
	}
	// Head: prediction k is Intercept[k] + SD_k·Z_k.
	readers, scales = make([][]float64, q), make([]float64, q)
	for k := range q {
		r := make([]float64, cfg.Features)
		r[k] = safe(dirs[k].SD)
		readers[k], scales[k] = r, 1
	}
	carry(head, readers, scales, lin.Intercept)
	return room, nil
}

// carry sets the layers (dense, a ReLU between each two) so that the last
// layer's unit j outputs (v_j + bias_j)/scales[j], where v_j = readers[j]·x
// on the first layer's input x; in hidden layers v_j rides on units 2j and
// 2j+1 as relu(±v_j/scales[j]). Rows of carrying units are overwritten;
// columns from non-carrying units into carrying ones are zero by
// construction. bias may be nil (zero).
func carry[T nn.Float](layers []*nn.Dense[T], readers [][]float64, scales []float64, bias []float64) {
	cur := readers
	for li, l := range layers {
		out, in := l.W.Shape[0], l.W.Shape[1]
		last := li == len(layers)-1
		next := make([][]float64, len(cur))
		for j, r := range cur {
			s := scales[j]
			set := func(unit int, sign float64, b float64) {
				row := l.W.Value[unit*in : (unit+1)*in]
				for i := range row {
					row[i] = 0
				}
				for i, v := range r {
					if v != 0 {
						row[i] = T(sign * v / s)
					}
				}
				if l.B != nil {
					l.B.Value[unit] = T(sign * b / s)
				}
			}
			if last {
				var b float64
				if bias != nil {
					b = bias[j]
				}
				set(j, 1, b)
				continue
			}
			set(2*j, 1, 0)
			set(2*j+1, -1, 0)
			nr := make([]float64, out)
			nr[2*j], nr[2*j+1] = s, -s
			next[j] = nr
		}
		// Non-carrying units of this layer must not reach the carrying
		// units of the next: the next rows are set whole, so nothing to do.
		cur = next
	}
}

// denseChain returns the dense layers of an MLP built by package model,
// in order, and refuses layers the pair trick cannot pass (batch
// normalisation, convolutions, recurrences).
func denseChain[T nn.Float](l nn.Layer[T]) ([]*nn.Dense[T], error) {
	seq, ok := l.(*nn.Sequential[T])
	if !ok {
		return nil, fmt.Errorf("%T is not a sequence of dense layers", l)
	}
	var out []*nn.Dense[T]
	for _, x := range seq.Layers {
		switch v := x.(type) {
		case *nn.Dense[T]:
			out = append(out, v)
		case nn.Func[T]: // ReLU, dropout or flatten, as model builds them
		default:
			return nil, fmt.Errorf("layer %T is not supported (only dense layers with ReLU between them)", x)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no dense layer")
	}
	return out, nil
}

// safe returns a usable scale: s itself, or 1 for a direction without
// spread (whose units then carry zeros).
func safe(s float64) float64 {
	if s > 0 && !math.IsInf(s, 0) {
		return s
	}
	return 1
}

func prod(s []int) int {
	n := 1
	for _, d := range s {
		n *= d
	}
	return n
}
