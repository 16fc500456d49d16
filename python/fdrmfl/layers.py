"""The layer plan of an FDRMFL network, and its forward pass in numpy.

A plan lists the layers of one torch-style Sequential in order; a layer's
index in the list is its index in the parameter names, as in the Go code
(model/encoder.go, model/model.go), where layers without parameters (ReLU,
flatten, pooling) are counted too. The numpy forward pass here and the
PyTorch module of torch_module.py are both built from these plans, so the
two cannot disagree about the architecture.

Every computation is in float64; the Go engine runs in float32, so the two
agree to float32 rounding.
"""

import numpy as np

BN_EPS = 1e-5
LN_EPS = 1e-5

ENCODER_TYPES = ("mlp", "conv1d", "conv2d", "resnet", "bilstm", "conv-bilstm")
FUSION_TYPES = ("weighted", "concat", "attention")


def encoder_defaults(e):
    """Return encoder config e with the defaults of model.Encoder.defaults."""
    e = dict(e)
    t = e.get("type", "")
    if t == "mlp" and e.get("hidden") is None:
        e["hidden"] = [128]
    if t in ("conv1d", "conv2d", "resnet", "conv-bilstm"):
        if not e.get("channels"):
            e["channels"] = [16, 32]
        if not e.get("kernels"):
            e["kernels"] = [3] * len(e["channels"])
        if not e.get("strides"):
            e["strides"] = [1] * len(e["channels"])
        if not e.get("pool"):
            e["pool"] = "flatten" if t == "conv1d" else "mean"
    if t in ("bilstm", "conv-bilstm"):
        e["lstm_hidden"] = e.get("lstm_hidden") or 64
        e["lstm_layers"] = e.get("lstm_layers") or 2
    e["hidden"] = list(e.get("hidden") or [])
    return e


def _mlp_tail(plan, hidden, bn, dropout):
    """Append dense → [batch norm] → ReLU → [dropout] per hidden size, then
    the final dense layer."""
    for _ in hidden:
        plan.append({"kind": "dense"})
        if bn:
            plan.append({"kind": "bn"})
        plan.append({"kind": "relu"})
        if dropout > 0:
            plan.append({"kind": "dropout"})
    plan.append({"kind": "dense"})
    return plan


def encoder_plan(e, shape):
    """The layers of the encoder e for per-sample inputs of the given shape
    (model/encoder.go buildEncoder)."""
    t = e["type"]
    bn = bool(e.get("batch_norm"))
    plan = []
    if t == "mlp":
        plan.append({"kind": "flatten"})
    elif t in ("conv1d", "conv-bilstm"):
        if len(shape) != 2:
            raise ValueError(f"encoder {t} needs an input of rank 2, the shape is {shape}")
        for k, s in zip(e["kernels"], e["strides"]):
            plan.append({"kind": "conv1d", "stride": s, "pad": k // 2})
            if bn:
                plan.append({"kind": "bn"})
            plan.append({"kind": "relu"})
        if t == "conv-bilstm":
            plan.append({"kind": "transpose12"})
            plan.append({"kind": "lstm", "layers": e["lstm_layers"], "hidden": e["lstm_hidden"]})
            plan.append({"kind": "attnpool"})
        else:
            plan.append({"kind": {"mean": "mean", "max": "max"}.get(e["pool"], "flatten"), "axes": (2,)})
    elif t in ("conv2d", "resnet"):
        if len(shape) != 3:
            raise ValueError(f"encoder {t} needs an input of rank 3, the shape is {shape}")
        c = shape[0]
        for ch, k, s in zip(e["channels"], e["kernels"], e["strides"]):
            if t == "resnet":
                plan.append({"kind": "resblock", "stride": s, "pad": k // 2, "shortcut": c != ch or s != 1})
            else:
                plan.append({"kind": "conv2d", "stride": s, "pad": k // 2})
                if bn:
                    plan.append({"kind": "bn"})
                plan.append({"kind": "relu"})
            c = ch
        if e.get("spatial_attention"):
            plan.append({"kind": "spatial"})
        plan.append({"kind": {"mean": "mean", "max": "max"}.get(e["pool"], "flatten"), "axes": (2, 3)})
    elif t == "bilstm":
        if len(shape) != 2:
            raise ValueError(f"encoder bilstm needs an input of rank 2, the shape is {shape}")
        plan.append({"kind": "lstm", "layers": e["lstm_layers"], "hidden": e["lstm_hidden"]})
        plan.append({"kind": "attnpool"})
    else:
        raise ValueError(f"encoder type {t!r} is not one of {', '.join(ENCODER_TYPES)}")
    return _mlp_tail(plan, e["hidden"], bn, float(e.get("dropout") or 0))


def mlp_plan(hidden, bn, dropout):
    """The layers of model.mlp: the fusion MLP and the head."""
    return _mlp_tail([], hidden, bn, dropout)


def param_names(kind, spec):
    """The names, relative to a layer, of the tensors it owns."""
    if kind in ("dense", "conv1d", "conv2d"):
        return ["weight", "bias"]
    if kind == "bn":
        return ["weight", "bias", "running_mean", "running_var"]
    if kind == "attnpool":
        return ["score.weight", "score.bias"]
    if kind == "spatial":
        return ["conv.weight", "conv.bias"]
    if kind == "lstm":
        names = []
        for layer in range(spec["layers"]):
            for suf in ("", "_reverse"):
                names += [f"{w}_l{layer}{suf}" for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
        return names
    if kind == "resblock":
        bn = ["weight", "bias", "running_mean", "running_var"]
        names = ["0.body.0.weight"] + ["0.body.1." + n for n in bn] + ["0.body.3.weight"] + ["0.body.4." + n for n in bn]
        if spec["shortcut"]:
            names += ["0.shortcut.0.weight"] + ["0.shortcut.1." + n for n in bn]
        return names
    return []


def plan_names(prefix, plan):
    """Every tensor name a plan needs, with prefix."""
    return [f"{prefix}.{i}.{n}" for i, spec in enumerate(plan) for n in param_names(spec["kind"], spec)]


# --- forward pass in numpy -------------------------------------------------


def _conv1d(x, w, b, stride, pad):
    """torch.nn.functional.conv1d: x N×C×L, w O×C×K."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, k, axis=2)[:, :, ::stride, :]  # N×C×Lout×K
    y = np.einsum("nclk,ock->nol", win, w, optimize=True)
    return y if b is None else y + b[None, :, None]


def _conv2d(x, w, b, stride, pad):
    """torch.nn.functional.conv2d with the same stride and padding on both axes."""
    k = w.shape[2]
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    win = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::stride, ::stride]
    y = np.einsum("nchwij,ocij->nohw", win, w, optimize=True)
    return y if b is None else y + b[None, :, None, None]


def _bn(x, p):
    """Batch normalisation in evaluation mode, over channel axis 1."""
    shape = (1, -1) + (1,) * (x.ndim - 2)
    scale = p["weight"] / np.sqrt(p["running_var"] + BN_EPS)
    return (x - p["running_mean"].reshape(shape)) * scale.reshape(shape) + p["bias"].reshape(shape)


def _sigmoid(x):
    return 0.5 * (1 + np.tanh(0.5 * x))


def softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _lstm_dir(x, wih, whh, bih, bhh, reverse):
    """One direction of one LSTM layer over x (N×T×In) from zero state,
    gates in torch's order i, f, g, o; returns N×T×H."""
    n, t, _ = x.shape
    hid = whh.shape[1]
    pre = x @ wih.T + bih + bhh  # N×T×4H
    h = np.zeros((n, hid))
    c = np.zeros((n, hid))
    out = np.zeros((n, t, hid))
    steps = range(t - 1, -1, -1) if reverse else range(t)
    for s in steps:
        g = pre[:, s] + h @ whh.T
        i, f, gg, o = _sigmoid(g[:, :hid]), _sigmoid(g[:, hid : 2 * hid]), np.tanh(g[:, 2 * hid : 3 * hid]), _sigmoid(g[:, 3 * hid :])
        c = f * c + i * gg
        h = o * np.tanh(c)
        out[:, s] = h
    return out


def _lstm(x, p, layers):
    for layer in range(layers):
        outs = []
        for suf in ("", "_reverse"):
            q = lambda w: p[f"{w}_l{layer}{suf}"]  # noqa: E731
            outs.append(_lstm_dir(x, q("weight_ih"), q("weight_hh"), q("bias_ih"), q("bias_hh"), suf != ""))
        x = np.concatenate(outs, axis=2)
    return x


def _attnpool(x, p):
    """Σ_t softmax_t(x_t·w + b)·x_t over x N×T×E."""
    s = x @ p["score.weight"].T + p["score.bias"]  # N×T×1
    return (x * softmax(s, axis=1)).sum(axis=1)


def _resblock(x, p, spec):
    y = _conv2d(x, p["0.body.0.weight"], None, spec["stride"], spec["pad"])
    y = np.maximum(_bn(y, _sub(p, "0.body.1.")), 0)
    y = _conv2d(y, p["0.body.3.weight"], None, 1, spec["pad"])
    y = _bn(y, _sub(p, "0.body.4."))
    if spec["shortcut"]:
        s = _bn(_conv2d(x, p["0.shortcut.0.weight"], None, spec["stride"], 0), _sub(p, "0.shortcut.1."))
    else:
        s = x
    return np.maximum(y + s, 0)


def _sub(p, prefix):
    return {k[len(prefix) :]: v for k, v in p.items() if k.startswith(prefix)}


def run_plan(x, plan, prefix, tensors):
    """Apply the layers of plan, whose tensors are named prefix.<index>.*,
    to x in evaluation mode (dropout off, batch norm on its running
    statistics)."""
    for i, spec in enumerate(plan):
        kind = spec["kind"]
        p = {n: tensors[f"{prefix}.{i}.{n}"] for n in param_names(kind, spec)}
        if kind == "flatten":
            x = x.reshape(x.shape[0], -1)
        elif kind == "dense":
            x = x @ p["weight"].T + p["bias"]
        elif kind == "bn":
            x = _bn(x, p)
        elif kind == "relu":
            x = np.maximum(x, 0)
        elif kind == "dropout":
            pass
        elif kind == "conv1d":
            x = _conv1d(x, p["weight"], p["bias"], spec["stride"], spec["pad"])
        elif kind == "conv2d":
            x = _conv2d(x, p["weight"], p["bias"], spec["stride"], spec["pad"])
        elif kind == "transpose12":
            x = x.transpose(0, 2, 1)
        elif kind == "lstm":
            x = _lstm(x, p, spec["layers"])
        elif kind == "attnpool":
            x = _attnpool(x, p)
        elif kind == "mean":
            x = x.mean(axis=spec["axes"])
        elif kind == "max":
            x = x.max(axis=spec["axes"])
        elif kind == "resblock":
            x = _resblock(x, p, spec)
        elif kind == "spatial":
            x = x * _sigmoid(_conv2d(x, p["conv.weight"], p["conv.bias"], 1, 0))
        else:  # pragma: no cover - plans are built above
            raise AssertionError(kind)
    return x


def layer_norm(x, w, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + LN_EPS) * w + b


def attention(seq, keep, tensors, prefix, heads):
    """Multi-head self-attention over seq (N×M×E), keys masked where keep
    is False (an additive −1e9, as nn.MultiHeadAttention does)."""
    n, m, e = seq.shape
    dh = e // heads
    w, b = tensors[prefix + ".in_proj_weight"], tensors[prefix + ".in_proj_bias"]

    def proj(i):
        y = seq @ w[i * e : (i + 1) * e].T + b[i * e : (i + 1) * e]
        return y.reshape(n, m, heads, dh).transpose(0, 2, 1, 3)  # N×H×M×Dh

    q, k, v = proj(0), proj(1), proj(2)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(dh)  # N×H×M×M
    scores = scores + np.where(keep, 0.0, -1e9)[:, None, None, :]
    ctx = (softmax(scores, axis=3) @ v).transpose(0, 2, 1, 3).reshape(n, m, e)
    return ctx @ tensors[prefix + ".out_proj.weight"].T + tensors[prefix + ".out_proj.bias"]
