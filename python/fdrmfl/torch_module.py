"""A PyTorch module with the weights of a trained FDRMFL model.

Its state_dict has exactly the names and shapes of model.safetensors
(encoders.<modality>.<i>.*, fusion.*, head.*), so it can be fine-tuned in
PyTorch and its weights written back. The standardisation is held in
non-persistent buffers, which stay out of the state_dict.
"""

import numpy as np
import torch
from torch import nn

from . import layers as L
from . import preprocess as P


class MeanOver(nn.Module):
    def __init__(self, axes):
        super().__init__()
        self.axes = tuple(axes)

    def forward(self, x):
        return x.mean(dim=self.axes)


class MaxOver(nn.Module):
    def __init__(self, axes):
        super().__init__()
        self.axes = tuple(axes)

    def forward(self, x):
        return x.amax(dim=self.axes)


class Transpose12(nn.Module):
    """B×C×L → B×L×C."""

    def forward(self, x):
        return x.transpose(1, 2)


class BiLSTM(nn.LSTM):
    """torch.nn.LSTM (batch_first, bidirectional) returning every step."""

    def forward(self, x):
        return super().forward(x)[0]


class AttentionPool(nn.Module):
    """Σ_t softmax_t(score(x_t))·x_t over x N×T×E."""

    def __init__(self, e):
        super().__init__()
        self.score = nn.Linear(e, 1)

    def forward(self, x):
        return (x * torch.softmax(self.score(x), dim=1)).sum(dim=1)


class Residual(nn.Module):
    def __init__(self, body, shortcut):
        super().__init__()
        self.body = body
        self.shortcut = shortcut

    def forward(self, x):
        s = x if self.shortcut is None else self.shortcut(x)
        return self.body(x) + s


class SpatialAttention(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c, 1, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.conv(x))


def _bn(c, dims):
    bn = (nn.BatchNorm1d if dims == 1 else nn.BatchNorm2d)(c, eps=L.BN_EPS)
    bn.num_batches_tracked = None  # not in model.safetensors
    return bn


def _modules(plan, prefix, t):
    """nn modules for a layer plan; sizes are read off the tensors."""
    mods = []
    for i, spec in enumerate(plan):
        k = spec["kind"]
        p = lambda n: t[f"{prefix}.{i}.{n}"]  # noqa: E731
        if k == "flatten":
            mods.append(nn.Flatten())
        elif k == "dense":
            o, n = p("weight").shape
            mods.append(nn.Linear(n, o))
        elif k == "bn":
            prev = plan[i - 1]["kind"]
            mods.append(_bn(p("weight").shape[0], 2 if prev == "conv2d" else 1))
        elif k == "relu":
            mods.append(nn.ReLU())
        elif k == "dropout":
            mods.append(nn.Dropout(0.0))  # evaluation semantics; set p to train
        elif k in ("conv1d", "conv2d"):
            o, c, kk = p("weight").shape[:3]
            cls = nn.Conv1d if k == "conv1d" else nn.Conv2d
            mods.append(cls(c, o, kk, stride=spec["stride"], padding=spec["pad"]))
        elif k == "transpose12":
            mods.append(Transpose12())
        elif k == "lstm":
            h = spec["hidden"]
            mods.append(BiLSTM(p("weight_ih_l0").shape[1], h, spec["layers"], batch_first=True, bidirectional=True))
        elif k == "attnpool":
            mods.append(AttentionPool(p("score.weight").shape[1]))
        elif k == "mean":
            mods.append(MeanOver(spec["axes"]))
        elif k == "max":
            mods.append(MaxOver(spec["axes"]))
        elif k == "resblock":
            w0 = p("0.body.0.weight")
            o, c, kk = w0.shape[:3]
            body = nn.Sequential(
                nn.Conv2d(c, o, kk, stride=spec["stride"], padding=spec["pad"], bias=False), _bn(o, 2), nn.ReLU(),
                nn.Conv2d(o, o, kk, padding=spec["pad"], bias=False), _bn(o, 2),
            )
            short = None
            if spec["shortcut"]:
                short = nn.Sequential(nn.Conv2d(c, o, 1, stride=spec["stride"], bias=False), _bn(o, 2))
            mods.append(nn.Sequential(Residual(body, short), nn.ReLU()))
        elif k == "spatial":
            mods.append(SpatialAttention(p("conv.weight").shape[1]))
        else:  # pragma: no cover
            raise AssertionError(k)
    return nn.Sequential(*mods)


class FDRMFLModule(nn.Module):
    """The FDRMFL network in PyTorch.

    forward(inputs) takes a dict from modality name to a tensor of raw
    values n×shape (or n×prod(shape)); a modality left out, or a sample's
    row of NaN, is absent. It returns (ŷ in the responses' units, Z).
    forward_standardized(x, mask) is the network alone: x a dict of
    standardised n×shape tensors, mask n×M (1 where the sample has the
    modality); it returns (ŷ standardised, Z).
    """

    def __init__(self, m):
        super().__init__()
        t = m.tensors
        self.names = m.modality_names
        self.shapes = [tuple(s) for _, s, _ in m.modalities]
        self._pre = m._pre
        self.latent = m.latent
        self.learned_sigma = m.learned_sigma
        self.fusion_type = m.fusion["type"]
        self.activation = m.fusion.get("activation", "")
        self.heads = int(m.fusion.get("heads") or 4)
        self.encoders = nn.ModuleDict({name: _modules(m.plans[name], f"encoders.{name}", t) for name in self.names})
        self.fusion = nn.Module()
        if self.fusion_type == "weighted":
            self.fusion.modality_weights = nn.Parameter(torch.zeros(len(self.names)))
        elif self.fusion_type == "attention":
            self.fusion.attention = nn.MultiheadAttention(m.latent, self.heads, batch_first=True)
            self.fusion.attention_norm = nn.LayerNorm(m.latent, eps=L.LN_EPS)
        self.fusion.mlp = _modules(m.fusion_plan, "fusion.mlp", t)
        self.head = _modules(m.head_plan, "head", t)
        for name, shape, _ in m.modalities:
            sc = m._std[name]
            mean, sd = (np.zeros(shape), np.ones(shape)) if sc is None else (sc[0].reshape(shape), sc[1].reshape(shape))
            self.register_buffer(f"_mean_{name}", torch.tensor(mean, dtype=torch.float32), persistent=False)
            self.register_buffer(f"_inv_sd_{name}", torch.tensor(1 / sd, dtype=torch.float32), persistent=False)
        sy = m._std["y"]
        ym, ys = (np.zeros(m.n_responses), np.ones(m.n_responses)) if sy is None else sy
        self.register_buffer("_y_mean", torch.tensor(ym, dtype=torch.float32), persistent=False)
        self.register_buffer("_y_sd", torch.tensor(ys, dtype=torch.float32), persistent=False)
        own = self.state_dict()
        if set(own) != set(t):
            raise AssertionError(f"module and tensors differ: {sorted(set(own) ^ set(t))[:3]}")
        with torch.no_grad():
            for k, v in own.items():
                if tuple(v.shape) != t[k].shape:
                    raise ValueError(f"{m.source}: tensor {k!r} has shape {list(t[k].shape)}, the module needs {list(v.shape)}")
                v.copy_(torch.from_numpy(np.asarray(t[k], dtype=np.float32)))
        self.eval()

    def forward_standardized(self, x, mask):
        hs = []
        n = mask.shape[0]
        for i, name in enumerate(self.names):
            xi = x.get(name)
            if xi is None:
                hs.append(mask.new_zeros(n, self.latent))
                continue
            h = self.encoders[name](xi.reshape((xi.shape[0],) + self.shapes[i]))
            hs.append(h[:, : self.latent] if self.learned_sigma else h)
        nm = len(self.names)
        if self.fusion_type == "weighted":
            ap = torch.softmax(self.fusion.modality_weights, dim=0)[None, :] * mask
            w = nm * ap / ap.sum(dim=1, keepdim=True)
            fused = torch.cat([hs[j] * w[:, j : j + 1] for j in range(nm)], dim=1)
        elif self.fusion_type == "concat":
            fused = torch.cat([hs[j] * mask[:, j : j + 1] for j in range(nm)], dim=1)
        else:
            seq = torch.stack(hs, dim=1)
            att, _ = self.fusion.attention(seq, seq, seq, key_padding_mask=mask == 0, need_weights=False)
            seq = self.fusion.attention_norm(seq + att)
            m3 = mask[:, :, None]
            fused = (seq * m3).sum(dim=1) / m3.sum(dim=1)
        z = self.fusion.mlp(fused)
        if self.activation == "relu":
            z = torch.relu(z)
        elif self.activation == "tanh":
            z = torch.tanh(z)
        return self.head(z), z

    def forward(self, inputs):
        x, masks, n = {}, [], None
        for i, name in enumerate(self.names):
            xi = inputs.get(name)
            if xi is None:
                masks.append(None)
                continue
            if name in self._pre:
                # Spectral preprocessing (numpy: it is fitted, not learned).
                arr = xi.detach().cpu().numpy() if torch.is_tensor(xi) else np.asarray(xi)
                arr = np.array(arr, dtype=np.float64).reshape(arr.shape[0], -1)
                rows = ~np.isnan(arr).all(axis=1)
                arr[rows] = P.apply(self._pre[name], arr[rows], self.shapes[i][-1])
                xi = arr
            xi = torch.as_tensor(xi, dtype=torch.float32)
            xi = xi.reshape((xi.shape[0],) + self.shapes[i])
            n = xi.shape[0]
            absent = torch.isnan(xi.reshape(n, -1)).all(dim=1)
            xi = torch.nan_to_num(xi, nan=0.0)
            xs = (xi - getattr(self, f"_mean_{name}")) * getattr(self, f"_inv_sd_{name}")
            keep = (~absent).reshape((n,) + (1,) * len(self.shapes[i]))
            x[name] = torch.where(keep, xs, torch.zeros_like(xs))
            masks.append((~absent).float())
        if n is None:
            raise ValueError(f"no input given (the model has {', '.join(self.names)})")
        mask = torch.stack([mk if mk is not None else torch.zeros(n) for mk in masks], dim=1)
        pred, z = self.forward_standardized(x, mask)
        return pred * self._y_sd + self._y_mean, z


def build(m):
    """The FDRMFLModule of a loaded fdrmfl.Model, in evaluation mode."""
    return FDRMFLModule(m)


class LinearModule(nn.Module):
    """A linear model (fdrmfl.LinearModel) in PyTorch: nn.Linear layers
    "features" (PLS: the X-scores Z) and "head" (ŷ) on the standardised
    inputs, every modality flattened and side by side.

    forward(inputs) takes a dict from modality name to a tensor of raw
    values n×shape (or n×prod(shape)); a modality left out, or a sample's
    row of NaN, is absent (its standardised values are 0, the pooled
    training mean). It returns (ŷ in the responses' units, Z; n×0 without
    features).
    """

    def __init__(self, m):
        super().__init__()
        t = m.tensors
        self.names = m.modality_names
        self.shapes = [tuple(s) for _, s, _ in m.modalities]
        self._pre = m._pre
        p, q, a = m.inputs, m.n_responses, m.features
        self.features = nn.Linear(p, a) if a else None
        self.head = nn.Linear(a if a else p, q)
        for name, shape, _ in m.modalities:
            sc = m._std[name]
            mean, sd = (np.zeros(shape), np.ones(shape)) if sc is None else (sc[0].reshape(shape), sc[1].reshape(shape))
            self.register_buffer(f"_mean_{name}", torch.tensor(mean, dtype=torch.float32), persistent=False)
            self.register_buffer(f"_inv_sd_{name}", torch.tensor(1 / sd, dtype=torch.float32), persistent=False)
        sy = m._std["y"]
        ym, ys = (np.zeros(q), np.ones(q)) if sy is None else sy
        self.register_buffer("_y_mean", torch.tensor(ym, dtype=torch.float32), persistent=False)
        self.register_buffer("_y_sd", torch.tensor(ys, dtype=torch.float32), persistent=False)
        own = self.state_dict()
        if set(own) != set(t):
            raise AssertionError(f"module and tensors differ: {sorted(set(own) ^ set(t))[:3]}")
        with torch.no_grad():
            for k, v in own.items():
                v.copy_(torch.from_numpy(np.asarray(t[k], dtype=np.float32)))
        self.eval()

    def forward_standardized(self, x):
        """ŷ (standardised) and Z for standardised inputs x, n×p."""
        if self.features is None:
            return self.head(x), x.new_zeros(x.shape[0], 0)
        z = self.features(x)
        return self.head(z), z

    def forward(self, inputs):
        n = None
        for name in self.names:
            if inputs.get(name) is not None:
                n = torch.as_tensor(inputs[name]).shape[0]
        if n is None:
            raise ValueError(f"no input given (the model has {', '.join(self.names)})")
        cols = []
        for i, name in enumerate(self.names):
            width = int(np.prod(self.shapes[i]))
            xi = inputs.get(name)
            if xi is None:
                cols.append(torch.zeros(n, width))
                continue
            if name in self._pre:
                # Spectral preprocessing (numpy: it is fitted, not learned).
                arr = xi.detach().cpu().numpy() if torch.is_tensor(xi) else np.asarray(xi)
                arr = np.array(arr, dtype=np.float64).reshape(n, -1)
                rows = ~np.isnan(arr).all(axis=1)
                arr[rows] = P.apply(self._pre[name], arr[rows], self.shapes[i][-1])
                xi = arr
            xi = torch.as_tensor(xi, dtype=torch.float32).reshape((n,) + self.shapes[i])
            absent = torch.isnan(xi.reshape(n, -1)).all(dim=1)
            xs = (torch.nan_to_num(xi, nan=0.0) - getattr(self, f"_mean_{name}")) * getattr(self, f"_inv_sd_{name}")
            cols.append(torch.where(absent[:, None], torch.zeros(n, width), xs.reshape(n, width)))
        pred, z = self.forward_standardized(torch.cat(cols, dim=1))
        return pred * self._y_sd + self._y_mean, z


def build_linear(m):
    """The LinearModule of a loaded fdrmfl.LinearModel, in evaluation mode."""
    return LinearModule(m)
