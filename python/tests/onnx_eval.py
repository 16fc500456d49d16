"""A small evaluator of ONNX graphs in numpy, for the tests.

It implements, from the ONNX operator specifications at opset 13
(https://github.com/onnx/onnx/blob/main/docs/Operators.md), exactly the
operators an fdrmfl export uses, and refuses any other operator or
attribute it does not know, so that a test cannot pass on a graph it
misreads. The onnx package (Debian's python3-onnx 1.12) parses the file
and checks it; it has no runtime of its own before 1.13.
"""

import numpy as np
from onnx import helper, numpy_helper


def _attrs(node):
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _conv(x, w, b, a):
    k = list(w.shape[2:])
    if a.get("kernel_shape", k) != k or a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1] * len(k))):
        raise NotImplementedError(f"Conv attributes {a}")
    nd = len(k)
    strides = a.get("strides", [1] * nd)
    pads = a.get("pads", [0] * 2 * nd)
    pad = [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)]
    xp = np.pad(x, pad)
    win = np.lib.stride_tricks.sliding_window_view(xp, k, axis=tuple(range(2, 2 + nd)))
    win = win[(slice(None), slice(None)) + tuple(slice(None, None, s) for s in strides)]
    if nd == 1:
        y = np.einsum("nclk,ock->nol", win, w)
    else:
        y = np.einsum("nchwij,ocij->nohw", win, w)
    if b is not None:
        y = y + b.reshape((1, -1) + (1,) * nd)
    return y


def _lstm(x, w, r, b, a):
    """LSTM with the default activations from a zero state: gates i, o, f,
    c; direction forward, reverse or bidirectional. Returns Y, T×D×N×H."""
    if "activations" in a or "clip" in a or a.get("input_forget", 0) or a.get("layout", 0):
        raise NotImplementedError(f"LSTM attributes {a}")
    h = a["hidden_size"]
    direction = a.get("direction", "forward")
    if isinstance(direction, bytes):
        direction = direction.decode()
    dirs = {"forward": [False], "reverse": [True], "bidirectional": [False, True]}[direction]
    if w.shape[0] != len(dirs):
        raise ValueError(f"LSTM W has {w.shape[0]} directions for {direction}")
    t, n, _ = x.shape
    y = np.zeros((t, len(dirs), n, h))
    for d, reverse in enumerate(dirs):
        bias = b[d, : 4 * h] + b[d, 4 * h :] if b is not None else np.zeros(4 * h)
        ht, ct = np.zeros((n, h)), np.zeros((n, h))
        for s in reversed(range(t)) if reverse else range(t):
            g = x[s] @ w[d].T + ht @ r[d].T + bias
            i, o, f, c = _sigmoid(g[:, :h]), _sigmoid(g[:, h : 2 * h]), _sigmoid(g[:, 2 * h : 3 * h]), np.tanh(g[:, 3 * h :])
            ct = f * ct + i * c
            ht = o * np.tanh(ct)
            y[s, d] = ht
    return y


def _reshape(x, shape):
    shape = [x.shape[i] if d == 0 else int(d) for i, d in enumerate(shape)]
    return x.reshape(shape)


def _slice(x, starts, ends, axes=None, steps=None):
    idx = [slice(None)] * x.ndim
    axes = range(len(starts)) if axes is None else axes
    steps = [1] * len(starts) if steps is None else steps
    for s, e, ax, st in zip(starts, ends, axes, steps):
        idx[int(ax)] = slice(int(s), int(e), int(st))
    return x[tuple(idx)]


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _reduce(f):
    def op(x, axes_in=None, **a):
        axes = a.get("axes")
        if axes_in is not None:
            axes = axes_in
        axes = None if axes is None else tuple(int(v) for v in np.ravel(axes))
        return f(x, axis=axes, keepdims=bool(a.get("keepdims", 1)))

    return op


_CAST = {1: np.float32, 7: np.int64, 9: np.bool_, 11: np.float64}

OPS = {
    "Add": lambda x, y: x + y,
    "Sub": lambda x, y: x - y,
    "Mul": lambda x, y: x * y,
    "Div": lambda x, y: x / y,
    "MatMul": lambda x, y: x @ y,
    "Relu": lambda x: np.maximum(x, 0),
    "Tanh": np.tanh,
    "Sigmoid": _sigmoid,
    "Sqrt": np.sqrt,
    "IsNaN": np.isnan,
    "Not": np.logical_not,
    "Where": lambda c, x, y: np.where(c, x, y),
    "Identity": lambda x: x,
    "Reshape": lambda x, s, **a: _reshape(x, s),
    "Transpose": lambda x, perm=None: np.transpose(x, perm),
    "Flatten": lambda x, axis=1: x.reshape(int(np.prod(x.shape[:axis])), -1),
    "Concat": None,  # variadic, below
    "Gather": lambda x, i, axis=0: np.take(x, i, axis=axis),
    "Slice": _slice,
    "Softmax": lambda x, axis=-1: _softmax(x, axis),
    "Cast": lambda x, to: x.astype(_CAST[to]),
    "ReduceMax": _reduce(np.max),
    "ReduceMean": _reduce(np.mean),
    "ReduceSum": _reduce(np.sum),
    "Gemm": None,
    "Conv": None,
    "LSTM": None,
}


def run(model, feeds, dtype=np.float64):
    """Evaluate the graph of model (an onnx.ModelProto) on feeds (name →
    array); returns {output name: array}. Computations run in dtype
    (float64 by default: a reference for the float32 runtimes)."""
    g = model.graph
    env = {}
    for t in g.initializer:
        v = numpy_helper.to_array(t)
        env[t.name] = v.astype(dtype) if v.dtype.kind == "f" else v
    for i in g.input:
        if i.name not in feeds:
            raise KeyError(f"input {i.name!r} not given")
        env[i.name] = np.asarray(feeds[i.name], dtype=dtype)
    for node in g.node:
        a = _attrs(node)
        xs = [env[n] if n else None for n in node.input]
        op = node.op_type
        if op not in OPS:
            raise NotImplementedError(f"operator {op}")
        if node.domain not in ("", "ai.onnx"):
            raise NotImplementedError(f"domain {node.domain}")
        if op == "Concat":
            y = np.concatenate(xs, axis=a["axis"])
        elif op == "Gemm":
            x, w = xs[0], xs[1]
            if a.get("transA", 0):
                x = x.T
            if a.get("transB", 0):
                w = w.T
            y = a.get("alpha", 1.0) * (x @ w)
            if len(xs) > 2 and xs[2] is not None:
                y = y + a.get("beta", 1.0) * xs[2]
        elif op == "Conv":
            y = _conv(xs[0], xs[1], xs[2] if len(xs) > 2 else None, a)
        elif op == "LSTM":
            if len(xs) > 4 and any(v is not None for v in xs[4:]):
                raise NotImplementedError("LSTM with sequence_lens or an initial state")
            y = _lstm(xs[0], xs[1], xs[2], xs[3] if len(xs) > 3 else None, a)
        else:
            y = OPS[op](*xs, **a)
        if isinstance(y, np.ndarray) and y.dtype.kind == "f":
            y = y.astype(dtype)
        env[node.output[0]] = y
        if len(node.output) > 1 and any(node.output[1:]):
            raise NotImplementedError(f"{op} with several outputs")
    return {o.name: env[o.name] for o in g.output}
