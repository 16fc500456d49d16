package ag

// Add returns a + b, broadcasting axes of size 1 (shapes of equal rank).
func (tp *Tape[T]) Add(a, b *Var[T]) *Var[T] { return tp.binary("Add", opAdd, a, b) }

// Sub returns a − b, broadcasting axes of size 1 (shapes of equal rank).
func (tp *Tape[T]) Sub(a, b *Var[T]) *Var[T] { return tp.binary("Sub", opSub, a, b) }

// Mul returns the elementwise product a ⊙ b, broadcasting axes of size 1.
func (tp *Tape[T]) Mul(a, b *Var[T]) *Var[T] { return tp.binary("Mul", opMul, a, b) }

// Div returns the elementwise quotient a / b, broadcasting axes of size 1.
func (tp *Tape[T]) Div(a, b *Var[T]) *Var[T] { return tp.binary("Div", opDiv, a, b) }

type binop int

const (
	opAdd binop = iota
	opSub
	opMul
	opDiv
)

func (tp *Tape[T]) binary(name string, op binop, a, b *Var[T]) *Var[T] {
	p := broadcast(name, a.shape, b.shape)
	out := tp.newVar(p.out, a.needGrad || b.needGrad)
	y, x1, x2 := out.data, a.data, b.data
	p.rows(func(o, ao, bo, n, sa, sb int) {
		binaryRow(op, y[o:o+n], x1[ao:], sa, x2[bo:], sb)
	})
	if !out.needGrad {
		return out
	}
	tp.record(out, func(g []T) {
		var ga, gb []T
		if a.needGrad {
			ga = tp.gradOf(a)
		}
		if b.needGrad {
			gb = tp.gradOf(b)
		}
		p.rows(func(o, ao, bo, n, sa, sb int) {
			gr := g[o : o+n]
			if ga != nil {
				binaryGradA(op, ga[ao:], sa, gr, x2[bo:], sb)
			}
			if gb != nil {
				binaryGradB(op, gb[bo:], sb, gr, x1[ao:], sa, x2[bo:], y[o:o+n])
			}
		})
	})
	return out
}

// binaryRow computes y[i] = a[i·sa] op b[i·sb] for one row.
func binaryRow[T Float](op binop, y, a []T, sa int, b []T, sb int) {
	n := len(y)
	switch {
	case sa == 1 && sb == 1:
		a, b = a[:n], b[:n]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = a[i] + b[i]
			}
		case opSub:
			for i := range y {
				y[i] = a[i] - b[i]
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * b[i]
			}
		case opDiv:
			for i := range y {
				y[i] = a[i] / b[i]
			}
		}
	case sa == 1: // b is one value for the row
		a, s := a[:n], b[0]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = a[i] + s
			}
		case opSub:
			for i := range y {
				y[i] = a[i] - s
			}
		case opMul:
			for i := range y {
				y[i] = a[i] * s
			}
		case opDiv:
			for i := range y {
				y[i] = a[i] / s
			}
		}
	case sb == 1: // a is one value for the row
		s, b := a[0], b[:n]
		switch op {
		case opAdd:
			for i := range y {
				y[i] = s + b[i]
			}
		case opSub:
			for i := range y {
				y[i] = s - b[i]
			}
		case opMul:
			for i := range y {
				y[i] = s * b[i]
			}
		case opDiv:
			for i := range y {
				y[i] = s / b[i]
			}
		}
	default:
		var v T
		switch op {
		case opAdd:
			v = a[0] + b[0]
		case opSub:
			v = a[0] - b[0]
		case opMul:
			v = a[0] * b[0]
		case opDiv:
			v = a[0] / b[0]
		}
		for i := range y {
			y[i] = v
		}
	}
}

// binaryGradA adds dL/da for one row: ga[i·sa] += g[i]·∂y/∂a.
func binaryGradA[T Float](op binop, ga []T, sa int, g, b []T, sb int) {
	if sa == 1 {
		ga = ga[:len(g)]
		switch {
		case op == opAdd || op == opSub:
			addTo(ga, g)
		case op == opMul && sb == 1:
			for i, v := range g {
				ga[i] += v * b[i]
			}
		case op == opMul:
			for i, v := range g {
				ga[i] += v * b[0]
			}
		case op == opDiv && sb == 1:
			for i, v := range g {
				ga[i] += v / b[i]
			}
		default: // opDiv, b one value
			for i, v := range g {
				ga[i] += v / b[0]
			}
		}
		return
	}
	var s T
	for i, v := range g {
		switch op {
		case opAdd, opSub:
			s += v
		case opMul:
			s += v * b[i*sb]
		case opDiv:
			s += v / b[i*sb]
		}
	}
	ga[0] += s
}

// binaryGradB adds dL/db for one row: gb[i·sb] += g[i]·∂y/∂b.
func binaryGradB[T Float](op binop, gb []T, sb int, g, a []T, sa int, b, y []T) {
	if sb == 1 {
		gb = gb[:len(g)]
		switch op {
		case opAdd:
			addTo(gb, g)
		case opSub:
			for i, v := range g {
				gb[i] -= v
			}
		case opMul:
			for i, v := range g {
				gb[i] += v * a[i*sa]
			}
		case opDiv: // ∂(a/b)/∂b = −y/b
			for i, v := range g {
				gb[i] -= v * y[i] / b[i]
			}
		}
		return
	}
	var s T
	switch op {
	case opAdd:
		for _, v := range g {
			s += v
		}
	case opSub:
		for _, v := range g {
			s -= v
		}
	case opMul:
		for i, v := range g {
			s += v * a[i*sa]
		}
	case opDiv:
		for i, v := range g {
			s -= v * y[i]
		}
		s /= b[0]
	}
	gb[0] += s
}
