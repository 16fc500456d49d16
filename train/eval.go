package train

import (
	"fmt"
	"math"

	"github.com/fdrmfl/fdrmfl/data"
	"github.com/fdrmfl/fdrmfl/model"
)

// evalBatch is the batch size of evaluation and extraction.
const evalBatch = 256

// Apply runs the network with the given values in evaluation mode over
// every sample of ds and returns the features Z (n×Features, row-major)
// and the predictions (n×Responses), both on the scale of ds.
func (t *Trainer) Apply(weights []float32, ds *data.Dataset) (z, pred []float32, err error) {
	if len(weights) != len(t.st.Values) {
		return nil, nil, fmt.Errorf("train: model has %d values, the network needs %d", len(weights), len(t.st.Values))
	}
	cols, err := t.columns(ds)
	if err != nil {
		return nil, nil, err
	}
	copy(t.st.Values, weights)
	n, d, q := ds.Len(), t.mcfg.Features, t.mcfg.Responses
	z, pred = make([]float32, n*d), make([]float32, n*q)
	t.evalBatches(t.net, ds, cols, func(start int, out model.Output[float32]) {
		copy(z[start*d:], out.Z.Data())
		copy(pred[start*q:], out.Pred.Data())
	})
	return z, pred, nil
}

// evalBatches runs net in evaluation mode, without gradients, over every
// sample of ds in batches of evalBatch, and hands each batch's output with
// the index of its first sample to use before the next batch reuses the
// tape.
func (t *Trainer) evalBatches(net *model.Model[float32], ds *data.Dataset, cols []int, use func(start int, out model.Output[float32])) {
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
		use(start, net.Forward(tp, t.input(ds, cols, idx)))
		tp.SetGrad(was)
	}
}

// Stats are sufficient statistics of predictions on a labelled set, per
// response, from which MSE and R² follow and which add up across clients.
// A missing response (NaN) is left out of its response's sums, so each
// response has its own count.
type Stats struct {
	N     int       // samples
	Count []float64 // per response, the samples that have it (nil: N each)
	SSE   []float64 // Σ(ŷ − y)²
	SumY  []float64 // Σy
	SumY2 []float64 // Σy²
}

// Add accumulates o into s.
func (s *Stats) Add(o Stats) {
	if s.SSE == nil {
		q := len(o.SSE)
		s.SSE, s.SumY, s.SumY2 = make([]float64, q), make([]float64, q), make([]float64, q)
	}
	if s.Count != nil || o.Count != nil {
		c := make([]float64, len(s.SSE))
		for j := range c {
			c[j] = s.count(j) + o.count(j)
		}
		s.Count = c
	}
	s.N += o.N
	for j := range o.SSE {
		s.SSE[j] += o.SSE[j]
		s.SumY[j] += o.SumY[j]
		s.SumY2[j] += o.SumY2[j]
	}
}

// count returns the number of samples with response j.
func (s Stats) count(j int) float64 {
	if s.Count == nil {
		return float64(s.N)
	}
	return s.Count[j]
}

// Observed returns the number of samples that have response j.
func (s Stats) Observed(j int) int { return int(s.count(j)) }

// MSE returns the mean squared error of response j over the samples that
// have it (NaN when none has).
func (s Stats) MSE(j int) float64 {
	n := s.count(j)
	if n == 0 {
		return math.NaN()
	}
	return s.SSE[j] / n
}

// R2 returns 1 − SSE/SST of response j, with SST taken about the mean of
// the same set (0 when SST is 0; NaN when no sample has the response).
func (s Stats) R2(j int) float64 {
	n := s.count(j)
	if n == 0 {
		return math.NaN()
	}
	sst := s.SumY2[j] - s.SumY[j]*s.SumY[j]/n
	if sst <= 0 {
		return 0
	}
	return 1 - s.SSE[j]/sst
}

// Evaluate returns prediction statistics of the network with the given
// values on ds (which must have responses), on the scale of ds.
func (t *Trainer) Evaluate(weights []float32, ds *data.Dataset) (Stats, error) {
	if ds.NumResponses() == 0 {
		return Stats{}, fmt.Errorf("train: evaluation data have no responses")
	}
	_, pred, err := t.Apply(weights, ds)
	if err != nil {
		return Stats{}, err
	}
	return PredictionStats(pred, ds.Y, ds.NumResponses()), nil
}

// PredictionStats returns the statistics of predictions pred against
// targets y, both n×q row-major; a NaN target (a missing response) is
// left out, and Count is set when one is.
func PredictionStats(pred, y []float32, q int) Stats {
	s := Stats{N: len(y) / q, SSE: make([]float64, q), SumY: make([]float64, q), SumY2: make([]float64, q)}
	for i, v := range y {
		j := i % q
		if v != v {
			if s.Count == nil {
				s.Count = make([]float64, q)
				for k := range s.Count {
					s.Count[k] = float64(s.N)
				}
			}
			s.Count[j]--
			continue
		}
		d := float64(pred[i]) - float64(v)
		s.SSE[j] += d * d
		s.SumY[j] += float64(v)
		s.SumY2[j] += float64(v) * float64(v)
	}
	return s
}
