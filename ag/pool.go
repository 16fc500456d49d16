package ag

import "fmt"

// MaxPool1d takes the maximum over windows of k positions of x (B×C×L),
// moving by stride (0 means k); the result is B×C×⌊(L−k)/stride+1⌋.
func (tp *Tape[T]) MaxPool1d(x *Var[T], k, stride int) *Var[T] {
	return tp.pool1d("MaxPool1d", x, k, stride, true)
}

// AvgPool1d averages windows of k positions of x (B×C×L), moving by stride
// (0 means k).
func (tp *Tape[T]) AvgPool1d(x *Var[T], k, stride int) *Var[T] {
	return tp.pool1d("AvgPool1d", x, k, stride, false)
}

// MaxPool2d takes the maximum over k×k windows of x (B×C×H×W), moving by
// stride (0 means k) on both axes.
func (tp *Tape[T]) MaxPool2d(x *Var[T], k, stride int) *Var[T] {
	return tp.pool2d("MaxPool2d", x, k, stride, true)
}

// AvgPool2d averages k×k windows of x (B×C×H×W), moving by stride (0 means
// k) on both axes.
func (tp *Tape[T]) AvgPool2d(x *Var[T], k, stride int) *Var[T] {
	return tp.pool2d("AvgPool2d", x, k, stride, false)
}

func (tp *Tape[T]) pool1d(op string, x *Var[T], k, stride int, isMax bool) *Var[T] {
	if x.Rank() != 3 {
		panic(fmt.Sprintf("ag.%s: input %v must be B×C×L", op, x.shape))
	}
	v := tp.Reshape(x, x.shape[0], x.shape[1], 1, x.shape[2])
	y := tp.pool(op, v, 1, k, 1, stride, isMax)
	return tp.Reshape(y, y.shape[0], y.shape[1], y.shape[3])
}

func (tp *Tape[T]) pool2d(op string, x *Var[T], k, stride int, isMax bool) *Var[T] {
	if x.Rank() != 4 {
		panic(fmt.Sprintf("ag.%s: input %v must be B×C×H×W", op, x.shape))
	}
	return tp.pool(op, x, k, k, stride, stride, isMax)
}

// pool applies a kh×kw window with strides sh, sw (0 means the window
// size) over the last two axes of x (B×C×H×W), without padding.
func (tp *Tape[T]) pool(op string, x *Var[T], kh, kw, sh, sw int, isMax bool) *Var[T] {
	if sh == 0 {
		sh = kh
	}
	if sw == 0 {
		sw = kw
	}
	b, c, h, w := x.shape[0], x.shape[1], x.shape[2], x.shape[3]
	if kh < 1 || kw < 1 || kh > h || kw > w {
		panic(fmt.Sprintf("ag.%s: window %d×%d does not fit input %v", op, kh, kw, x.shape))
	}
	oh, ow := (h-kh)/sh+1, (w-kw)/sw+1
	out := tp.newVar([]int{b, c, oh, ow}, x.needGrad)
	var arg []int
	if isMax {
		arg = tp.IntBuffer(out.Len())
	}
	inv := 1 / T(kh*kw)
	for p := range b * c {
		xp := x.data[p*h*w : (p+1)*h*w]
		for oy := range oh {
			for ox := range ow {
				o := (p*oh+oy)*ow + ox
				if isMax {
					best, bi := xp[oy*sh*w+ox*sw], oy*sh*w+ox*sw
					for i := range kh {
						for j := range kw {
							k := (oy*sh+i)*w + ox*sw + j
							if xp[k] > best {
								best, bi = xp[k], k
							}
						}
					}
					out.data[o], arg[o] = best, p*h*w+bi
					continue
				}
				var s T
				for i := range kh {
					for _, v := range xp[(oy*sh+i)*w+ox*sw : (oy*sh+i)*w+ox*sw+kw] {
						s += v
					}
				}
				out.data[o] = s * inv
			}
		}
	}
	tp.record(out, func(g []T) {
		gx := tp.gradOf(x)
		if isMax {
			for o, v := range g {
				gx[arg[o]] += v
			}
			return
		}
		for p := range b * c {
			for oy := range oh {
				for ox := range ow {
					v := g[(p*oh+oy)*ow+ox] * inv
					for i := range kh {
						row := gx[p*h*w+(oy*sh+i)*w+ox*sw:]
						for j := range kw {
							row[j] += v
						}
					}
				}
			}
		}
	})
	return out
}
