package data

import "fmt"

// This file holds the copy-out helpers the training loop calls once per
// minibatch. They write into caller-owned buffers and never allocate.

// Gather copies the samples idx of m, in that order, into dst and returns
// dst[:len(idx)*m.SampleSize()]. It panics if dst is too short or an index
// is out of range.
func (m *Modality) Gather(dst []float32, idx []int) []float32 {
	s := m.SampleSize()
	need := len(idx) * s
	if len(dst) < need {
		panic(fmt.Sprintf("data: Gather of %d samples of %q needs dst of %d values, have %d",
			len(idx), m.Name, need, len(dst)))
	}
	for r, i := range idx {
		copy(dst[r*s:(r+1)*s], m.Data[i*s:(i+1)*s])
	}
	return dst[:need]
}

// GatherPresent writes into dst whether each sample idx has modality m and
// returns dst[:len(idx)]. It panics if dst is too short.
func (m *Modality) GatherPresent(dst []bool, idx []int) []bool {
	if len(dst) < len(idx) {
		panic(fmt.Sprintf("data: GatherPresent of %d samples needs dst of %d, have %d",
			len(idx), len(idx), len(dst)))
	}
	for r, i := range idx {
		dst[r] = m.Present == nil || m.Present[i]
	}
	return dst[:len(idx)]
}

// GatherY copies the response rows idx, in that order, into dst and returns
// dst[:len(idx)*d.NumResponses()]. It panics if dst is too short or an index
// is out of range.
func (d *Dataset) GatherY(dst []float32, idx []int) []float32 {
	r := len(d.ResponseNames)
	need := len(idx) * r
	if len(dst) < need {
		panic(fmt.Sprintf("data: GatherY of %d samples × %d responses needs dst of %d values, have %d",
			len(idx), r, need, len(dst)))
	}
	for k, i := range idx {
		copy(dst[k*r:(k+1)*r], d.Y[i*r:(i+1)*r])
	}
	return dst[:need]
}
