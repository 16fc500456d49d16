package nn

import "github.com/fdrmfl/fdrmfl/ag"

// Func adapts a function without parameters to a Layer.
type Func[T Float] func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T]

// Forward calls f.
func (f Func[T]) Forward(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return f(tp, x) }

// Params returns nothing: a Func has no parameters.
func (Func[T]) Params() []Named[T] { return nil }

// ReLU is max(x, 0).
func ReLU[T Float]() Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.ReLU(x) }
}

// Tanh is tanh(x).
func Tanh[T Float]() Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.Tanh(x) }
}

// Sigmoid is 1/(1+e⁻ˣ).
func Sigmoid[T Float]() Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.Sigmoid(x) }
}

// GELU is x·Φ(x).
func GELU[T Float]() Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.GELU(x) }
}

// Dropout zeroes elements with probability p in training mode.
func Dropout[T Float](p float64) Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.Dropout(x, p) }
}

// Flatten reshapes N×… to N×(product of the rest).
func Flatten[T Float]() Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.Reshape(x, x.Dim(0), -1) }
}

// MeanOver averages over the given axes and drops them, e.g. MeanOver(2)
// turns N×C×L into N×C and MeanOver(2, 3) turns N×C×H×W into N×C.
func MeanOver[T Float](axes ...int) Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] {
		m := tp.Mean(x, axes...)
		shape := make([]int, 0, x.Rank())
		drop := map[int]bool{}
		for _, a := range axes {
			if a < 0 {
				a += x.Rank()
			}
			drop[a] = true
		}
		for i, d := range m.Shape() {
			if !drop[i] {
				shape = append(shape, d)
			}
		}
		return tp.Reshape(m, shape...)
	}
}

// MaxPool1d takes maxima over windows of k steps of N×C×L inputs.
func MaxPool1d[T Float](k, stride int) Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.MaxPool1d(x, k, stride) }
}

// AvgPool1d averages windows of k steps of N×C×L inputs.
func AvgPool1d[T Float](k, stride int) Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.AvgPool1d(x, k, stride) }
}

// MaxPool2d takes maxima over k×k windows of N×C×H×W inputs.
func MaxPool2d[T Float](k, stride int) Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.MaxPool2d(x, k, stride) }
}

// AvgPool2d averages k×k windows of N×C×H×W inputs.
func AvgPool2d[T Float](k, stride int) Func[T] {
	return func(tp *ag.Tape[T], x *ag.Var[T]) *ag.Var[T] { return tp.AvgPool2d(x, k, stride) }
}
