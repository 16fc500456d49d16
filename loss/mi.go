package loss

import (
	"fmt"
	"math/rand/v2"

	"github.com/fdrmfl/fdrmfl/ag"
	"github.com/fdrmfl/fdrmfl/nn"
)

// MIEstimator turns a batch of features z (B×d) and responses y (B×q) into
// a loss whose minimisation raises an estimate of the mutual information
// I(Z; Y). Its own parameters, if any, are local to a client and not part
// of the federated model.
type MIEstimator[T Float] interface {
	Loss(tp *ag.Tape[T], z, y *ag.Var[T]) *ag.Var[T]
	nn.Module[T]
}

// CorrelationMI is the author's estimator: a frozen, randomly initialised
// network f maps z to a scalar u = f(z), ρ is the Pearson correlation of
// u and y over the batch, and the loss is −log(max(|ρ|, Floor)). For
// jointly Gaussian (u, y), I(u; y) = −½·log(1 − ρ²), so this raises a
// Gaussian proxy of the information that one fixed projection of Z
// carries about Y. With several responses the correlations with each are
// averaged in the loss.
type CorrelationMI[T Float] struct {
	F     nn.Layer[T] // frozen: its parameters are constants
	Floor float64     // lower clamp on |ρ|; 1e-6 by default
}

// NewCorrelationMI returns the estimator with f: d → hidden → ReLU → 1,
// initialised by r as torch.nn.Linear and then frozen.
func NewCorrelationMI[T Float](d, hidden int, r *rand.Rand) *CorrelationMI[T] {
	f := nn.NewSequential[T](nn.NewDense[T](d, hidden, true, r), nn.ReLU[T](), nn.NewDense[T](hidden, 1, true, r))
	nn.Freeze[T](f)
	return &CorrelationMI[T]{F: f, Floor: 1e-6}
}

// Loss returns −log(max(|ρ(f(z), y)|, Floor)), averaged over responses.
// A NaN in y is a missing response: each response's ρ is taken over the
// samples that have it.
func (m *CorrelationMI[T]) Loss(tp *ag.Tape[T], z, y *ag.Var[T]) *ag.Var[T] {
	u := m.F.Forward(tp, z)
	floor := m.Floor
	if floor == 0 {
		floor = 1e-6
	}
	return meanOverResponses(tp, u, y, func(u, yc *ag.Var[T]) *ag.Var[T] {
		rho := tp.Pearson(u, yc, 1e-8)
		return tp.Neg(tp.Log(tp.Clamp(tp.Abs(rho), T(floor), T(1e30))))
	})
}

// Params returns the frozen network's buffers (they stay on the client).
func (m *CorrelationMI[T]) Params() []nn.Named[T] { return nn.Prefix("f", m.F.Params()) }

// GaussianMI raises the Gaussian mutual-information bound with a learned
// projection: u = wᵀz + b is trained jointly with the model, ρ is the
// correlation of u and y, and the loss is ½·log(1 − ρ²) = −I_Gauss(u; y).
// Unlike CorrelationMI it looks for the most informative direction of Z
// instead of one fixed random one.
type GaussianMI[T Float] struct {
	Proj *nn.Dense[T]
}

// NewGaussianMI returns the estimator for features of size d.
func NewGaussianMI[T Float](d int, r *rand.Rand) *GaussianMI[T] {
	return &GaussianMI[T]{Proj: nn.NewDense[T](d, 1, true, r)}
}

// Loss returns ½·log(1 − ρ² + 1e-6), averaged over responses. A NaN in
// y is a missing response: each response's ρ is taken over the samples
// that have it.
func (m *GaussianMI[T]) Loss(tp *ag.Tape[T], z, y *ag.Var[T]) *ag.Var[T] {
	u := m.Proj.Forward(tp, z)
	return meanOverResponses(tp, u, y, func(u, yc *ag.Var[T]) *ag.Var[T] {
		rho := tp.Pearson(u, yc, 1e-8)
		return tp.Scale(tp.Log(tp.AddScalar(tp.Neg(tp.Square(rho)), 1+1e-6)), 0.5)
	})
}

// Params returns the projection's weight and bias.
func (m *GaussianMI[T]) Params() []nn.Named[T] { return nn.Prefix("proj", m.Proj.Params()) }

// meanOverResponses applies f to u (B×1) and each column of y (B×q) and
// averages. A column with NaN entries (missing responses) is paired with
// u over its observed rows only; a column observed in fewer than 3 rows of
// the batch says nothing about a correlation and is left out of the mean
// (with every column left out, the term is 0).
func meanOverResponses[T Float](tp *ag.Tape[T], u, y *ag.Var[T], f func(u, col *ag.Var[T]) *ag.Var[T]) *ag.Var[T] {
	if y.Rank() != 2 {
		panic(fmt.Sprintf("loss: responses %v must be B×q", y.Shape()))
	}
	b, q := y.Dim(0), y.Dim(1)
	yd := y.Data()
	complete := true
	for _, v := range yd {
		if v != v {
			complete = false
			break
		}
	}
	if complete && q == 1 {
		return f(u, y)
	}
	var total *ag.Var[T]
	used := 0
	for j := range q {
		uj, col := u, y
		if q > 1 {
			col = tp.Slice(y, 1, j, j+1)
		}
		if !complete {
			rows := tp.IntBuffer(b)[:0]
			for i := range b {
				if v := yd[i*q+j]; v == v {
					rows = append(rows, i)
				}
			}
			if len(rows) < 3 {
				continue
			}
			if len(rows) < b {
				uj, col = tp.IndexSelect(u, 0, rows), tp.IndexSelect(col, 0, rows)
			}
		}
		t := f(uj, col)
		used++
		if total == nil {
			total = t
		} else {
			total = tp.Add(total, t)
		}
	}
	if total == nil {
		return tp.Const([]T{0}, 1)
	}
	if used == 1 {
		return total
	}
	return tp.Scale(total, T(1/float64(used)))
}
