"""A trained FDRMFL model: manifest.json and model.safetensors, applied to
raw inputs as `fdrmfl predict` and `fdrmfl extract` apply it."""

import json
import os

import numpy as np

from . import layers as L
from . import preprocess as P
from .safetensors import read_safetensors

MANIFEST_FORMAT = "fdrmfl-model/1"

# model.kind of the network, and of the linear models fdrmfl fits from
# summed statistics (fdrmfl.LinearModel).
NETWORK_KIND = "fdrmfl"
LINEAR_KINDS = ("pls", "ridge", "lasso", "enet")


class Model:
    """A trained FDRMFL network with the standardisation it was trained with.

    The forward pass, for raw inputs x_m of each modality m:

        x̃_m = (x_m − mean_m) / sd_m                (manifest standardizer)
        h_m = E_m(x̃_m)                             (one encoder per modality)
        Z   = act(F(fuse(h_1 … h_M, present)))     (fusion MLP, d features)
        ŷ   = r(Z)·sd_y + mean_y                    (head, original units)

    A sample lacks a modality when that modality is not given at all or
    when its row is entirely NaN; the fusion then masks it out exactly as
    the Go model does (weighted fusion re-weights the modalities present,
    concatenation zeroes the absent latents, attention masks their tokens
    and averages over the present ones).
    """

    def __init__(self, manifest, tensors, source="<model>"):
        self.source = source
        self._check_format(manifest, source)
        self.manifest = manifest
        cfg = manifest.get("model") or {}
        kind = cfg.get("kind") or NETWORK_KIND
        if kind != NETWORK_KIND:
            if kind in LINEAR_KINDS:
                raise ValueError(f"{source}: a {kind} model, not the network: load it with fdrmfl.load or fdrmfl.LinearModel")
            raise ValueError(f"{source}: model.kind {kind!r} is not one of {', '.join((NETWORK_KIND,) + LINEAR_KINDS)}")
        self.kind = kind
        try:
            self.latent = int(cfg["latent"])
            self.features = int(cfg["features"])
            self.n_responses = int(cfg["responses"])
            self.fusion = dict(cfg["fusion"])
            self.head = dict(cfg["head"])
            mods = cfg["modalities"]
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{source}: manifest field model.{e} is missing or malformed") from None
        self.learned_sigma = bool(cfg.get("learned_sigma"))
        self.responses = list(manifest.get("responses") or [])
        if len(self.responses) != self.n_responses:
            raise ValueError(f"{source}: manifest lists {len(self.responses)} responses for a model of {self.n_responses}")
        self.modalities = []  # (name, shape, encoder config)
        for i, m in enumerate(mods):
            enc = L.encoder_defaults(m.get("encoder") or {})
            if enc.get("type") not in L.ENCODER_TYPES:
                raise ValueError(
                    f"{source}: model.modalities[{i}] ({m.get('name')}): encoder type {enc.get('type')!r} "
                    f"is not one of {', '.join(L.ENCODER_TYPES)}"
                )
            self.modalities.append((m["name"], tuple(int(d) for d in m["shape"]), enc))
        if self.fusion.get("type") not in L.FUSION_TYPES:
            raise ValueError(f"{source}: model.fusion.type {self.fusion.get('type')!r} is not one of {', '.join(L.FUSION_TYPES)}")
        if self.fusion.get("activation", "") not in ("", "relu", "tanh"):
            raise ValueError(f"{source}: model.fusion.activation {self.fusion.get('activation')!r} is not '', 'relu' or 'tanh'")
        self._pre = self._read_preprocess(manifest.get("preprocess") or [])
        self._std = self._read_standardizer(manifest.get("standardizer"))
        self.plans = {name: L.encoder_plan(enc, list(shape)) for name, shape, enc in self.modalities}
        self.fusion_plan = L.mlp_plan(self.fusion.get("hidden") or [], bool(self.fusion.get("batch_norm")), 0)
        self.head_plan = L.mlp_plan(self.head.get("hidden") or [], False, float(self.head.get("dropout") or 0))
        self.tensors = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()}
        self._check_tensors(tensors)

    # --- loading -------------------------------------------------------

    @staticmethod
    def _check_format(manifest, source):
        if not isinstance(manifest, dict) or manifest.get("format") != MANIFEST_FORMAT:
            got = manifest.get("format") if isinstance(manifest, dict) else manifest
            raise ValueError(f"{source}: manifest format {got!r}, this package reads {MANIFEST_FORMAT!r}")

    @staticmethod
    def from_manifest(manifest, tensors, source="<model>"):
        """The model a manifest describes: a Model for the network, a
        LinearModel for a linear kind (model.kind pls, ridge, …)."""
        Model._check_format(manifest, source)
        kind = (manifest.get("model") or {}).get("kind") or NETWORK_KIND
        if kind in LINEAR_KINDS:
            from .linear import LinearModel

            return LinearModel(manifest, tensors, source=source)
        return Model(manifest, tensors, source=source)

    @classmethod
    def load(cls, folder):
        """Load the model folder written by `fdrmfl simulate` or `fdrmfl
        server`: manifest.json and model.safetensors. The network gives a
        Model, a linear model (model.kind pls, ridge, …) a LinearModel."""
        folder = os.fspath(folder)
        mpath = os.path.join(folder, "manifest.json")
        try:
            with open(mpath, encoding="utf-8") as f:
                manifest = json.load(f)
        except json.JSONDecodeError as e:
            raise ValueError(f"{mpath}: not valid JSON: {e}") from None
        wpath = os.path.join(folder, "model.safetensors")
        tensors, _ = read_safetensors(wpath)
        if cls is Model:
            return Model.from_manifest(manifest, tensors, source=folder)
        return cls(manifest, tensors, source=folder)

    def _read_preprocess(self, pre):
        """{modality: [step]} of the model's spectral preprocessing, each
        step checked against the modality's shape."""
        shapes = {name: shape for name, shape, _ in self.modalities}
        out = {}
        for p in pre:
            name = p.get("modality")
            if name not in shapes:
                raise ValueError(f"{self.source}: preprocessing of {name!r}, which the model has no modality of")
            size, width = int(np.prod(shapes[name])), shapes[name][-1]
            steps = []
            for s in p.get("chain") or []:
                op = s.get("op")
                if op == "sg":
                    w, k, d = int(s.get("window", 0)), int(s.get("order", 0)), int(s.get("deriv", 0))
                    if w < 3 or w % 2 == 0 or not 0 <= d <= k < w or w > width:
                        raise ValueError(f"{self.source}: preprocessing of {name!r}: bad Savitzky-Golay step {s}")
                    steps.append(("sg", P.sg_weights(w, k, d)))
                elif op == "detrend":
                    steps.append(("detrend", P.poly_basis(width, int(s.get("order", 0)))))
                elif op == "msc":
                    ref = np.asarray(s.get("ref") or [], dtype=np.float64)
                    if len(ref) != size:
                        raise ValueError(f"{self.source}: preprocessing of {name!r}: msc reference of {len(ref)} values for samples of {size}")
                    steps.append(("msc", ref))
                elif op == "snv":
                    steps.append(("snv", None))
                else:
                    raise ValueError(f"{self.source}: preprocessing of {name!r}: unknown step {op!r}")
            out[name] = steps
        return out

    def _read_standardizer(self, s):
        if not s:
            raise ValueError(f"{self.source}: manifest has no standardizer")
        by_name = {sc.get("name"): sc for sc in s.get("modalities") or []}
        std = {}
        for name, shape, _ in self.modalities:
            if name not in by_name:
                raise ValueError(f"{self.source}: standardizer has no scaling for modality {name!r}")
            std[name] = self._scaling(by_name[name], int(np.prod(shape)), f"standardizer modality {name!r}")
        std["y"] = self._scaling(s.get("y") or {}, self.n_responses, "standardizer y")
        return std

    def _scaling(self, sc, width, where):
        """(mean, sd) vectors of length width, or None for mode none."""
        mode = sc.get("mode", "per-feature")
        if mode == "none":
            return None
        mean = np.asarray(sc.get("mean") or [], dtype=np.float64)
        sd = np.asarray(sc.get("std") or [], dtype=np.float64)
        want = {"per-feature": width, "global": 1}.get(mode)
        if want is None:
            raise ValueError(f"{self.source}: {where}: mode {mode!r} is not per-feature, global or none")
        if len(mean) != want or len(sd) != want:
            raise ValueError(f"{self.source}: {where}: mode {mode} needs {want} means and sds, has {len(mean)} and {len(sd)}")
        if not np.all(sd > 0):
            raise ValueError(f"{self.source}: {where}: a standard deviation is not positive")
        # One value per position (and per response), as Go's j % len(mean).
        idx = np.arange(width) % want
        return mean[idx], sd[idx]

    def expected_tensors(self):
        """The names of every tensor the network needs."""
        names = []
        for name, _, _ in self.modalities:
            names += L.plan_names(f"encoders.{name}", self.plans[name])
        t = self.fusion["type"]
        if t == "weighted":
            names.append("fusion.modality_weights")
        elif t == "attention":
            names += [f"fusion.attention.{n}" for n in ("in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")]
            names += ["fusion.attention_norm.weight", "fusion.attention_norm.bias"]
        names += L.plan_names("fusion.mlp", self.fusion_plan)
        names += L.plan_names("head", self.head_plan)
        return names

    def _check_tensors(self, tensors):
        want = self.expected_tensors()
        missing = [n for n in want if n not in tensors]
        if missing:
            raise ValueError(f"{self.source}: model.safetensors lacks tensor {missing[0]!r} ({len(missing)} missing in all)")
        extra = sorted(set(tensors) - set(want))
        if extra:
            raise ValueError(f"{self.source}: model.safetensors has tensor {extra[0]!r}, which the network does not use")
        values = self.manifest.get("values")
        total = sum(int(np.asarray(v).size) for v in tensors.values())
        if values is not None and values != total:
            raise ValueError(f"{self.source}: manifest says {values} values, model.safetensors holds {total}")

    # --- inputs --------------------------------------------------------

    @property
    def modality_names(self):
        """The modality names, in the model's order."""
        return [name for name, _, _ in self.modalities]

    def input_shapes(self):
        """A dict from modality name to its per-sample shape."""
        return {name: shape for name, shape, _ in self.modalities}

    def _inputs(self, inputs):
        """Check raw inputs and return (n, arrays, present): per modality a
        float64 array n×shape with absent rows zero, or None when it is not
        given, and a boolean vector of the samples that have it."""
        if not isinstance(inputs, dict):
            if len(self.modalities) != 1:
                raise TypeError(
                    f"the model has {len(self.modalities)} modalities ({', '.join(self.modality_names)}): "
                    "give a dict from modality name to array"
                )
            inputs = {self.modalities[0][0]: inputs}
        known = self.input_shapes()
        for name in inputs:
            if name not in known:
                raise ValueError(f"the model has no modality {name!r} (it has {', '.join(self.modality_names)})")
        if not inputs:
            raise ValueError(f"no input given (the model has {', '.join(self.modality_names)})")
        n = None
        arrays, present = {}, {}
        for name, shape, _ in self.modalities:
            if name not in inputs or inputs[name] is None:
                arrays[name] = None
                continue
            x = np.asarray(inputs[name], dtype=np.float64)
            p = int(np.prod(shape))
            if x.ndim >= 1 and x.shape[1:] == shape:
                pass
            elif x.ndim == 2 and x.shape[1] == p:
                x = x.reshape((x.shape[0],) + shape)
            else:
                raise ValueError(f"modality {name!r}: array of shape {x.shape}, the model expects (n, {p}) or (n, {', '.join(map(str, shape))})")
            if n is None:
                n, first = x.shape[0], name
            elif x.shape[0] != n:
                raise ValueError(f"modality {name!r} has {x.shape[0]} samples but {first!r} has {n}")
            flat = x.reshape(x.shape[0], -1)
            nan = np.isnan(flat)
            absent = nan.all(axis=1)
            partial = np.flatnonzero(nan.any(axis=1) & ~absent)
            if partial.size:
                raise ValueError(f"modality {name!r}: sample {partial[0]} (0-based) is partly NaN; a sample lacks a modality only when its whole row is NaN")
            if not np.all(np.isfinite(flat[~absent])):
                bad = np.flatnonzero(~np.isfinite(flat).all(axis=1) & ~absent)[0]
                raise ValueError(f"modality {name!r}: sample {bad} (0-based) has an infinite value")
            x = np.where(absent.reshape((-1,) + (1,) * len(shape)), 0.0, x)
            arrays[name], present[name] = x, ~absent
        for name in arrays:
            if arrays[name] is None:
                present[name] = np.zeros(n, dtype=bool)
        none = np.flatnonzero(~np.any([present[name] for name in self.modality_names], axis=0))
        if none.size:
            raise ValueError(f"sample {none[0]} (0-based) has none of the model's modalities")
        return n, arrays, present

    def standardize(self, inputs):
        """Return the inputs standardised with the model's statistics, as a
        dict of n×shape float64 arrays (absent rows and modalities that are
        not given are zero), and the per-modality presence vectors."""
        n, arrays, present = self._inputs(inputs)
        out = {}
        for name, shape, _ in self.modalities:
            x = arrays[name]
            if x is None:
                out[name] = np.zeros((n,) + shape)
                continue
            if name in self._pre:
                rows = present[name]
                flat = x.reshape(n, -1).astype(np.float64)
                flat[rows] = P.apply(self._pre[name], flat[rows], shape[-1])
                x = flat.reshape((n,) + shape)
            sc = self._std[name]
            if sc is not None:
                mean, sd = sc[0].reshape(shape), sc[1].reshape(shape)
                x = np.where(present[name].reshape((-1,) + (1,) * len(shape)), (x - mean) * (1 / sd), x)
            out[name] = x
        return out, present

    # --- forward -------------------------------------------------------

    def forward_standardized(self, x, present):
        """The network on standardised inputs: returns (ŷ standardised, Z),
        n×responses and n×features."""
        names = self.modality_names
        nm, e = len(names), self.latent
        hs = []
        for name in names:
            h = L.run_plan(x[name], self.plans[name], f"encoders.{name}", self.tensors)
            hs.append(h[:, :e] if self.learned_sigma else h)
        mask = np.stack([present[name] for name in names], axis=1).astype(np.float64)  # n×M
        t = self.fusion["type"]
        if t == "weighted":
            a = L.softmax(self.tensors["fusion.modality_weights"], axis=0)[None, :]
            ap = a * mask
            w = nm * ap / ap.sum(axis=1, keepdims=True)
            fused = np.concatenate([hs[m] * w[:, m : m + 1] for m in range(nm)], axis=1)
        elif t == "concat":
            fused = np.concatenate([hs[m] * mask[:, m : m + 1] for m in range(nm)], axis=1)
        else:
            seq = np.stack(hs, axis=1)  # n×M×e
            att = L.attention(seq, mask > 0, self.tensors, "fusion.attention", int(self.fusion.get("heads") or 4))
            seq = L.layer_norm(seq + att, self.tensors["fusion.attention_norm.weight"], self.tensors["fusion.attention_norm.bias"])
            m3 = mask[:, :, None]
            fused = (seq * m3).sum(axis=1) / m3.sum(axis=1)
        z = L.run_plan(fused, self.fusion_plan, "fusion.mlp", self.tensors)
        act = self.fusion.get("activation", "")
        if act == "relu":
            z = np.maximum(z, 0)
        elif act == "tanh":
            z = np.tanh(z)
        pred = L.run_plan(z, self.head_plan, "head", self.tensors)
        return pred, z

    def unstandardize_y(self, y):
        """Map standardised predictions back to the responses' units."""
        sc = self._std["y"]
        return y if sc is None else y * sc[1] + sc[0]

    def apply(self, inputs):
        """Return (Z, ŷ) for raw inputs: Z n×features, ŷ n×responses in the
        responses' units, both float64.

        inputs is a dict from modality name to an array of n samples, each
        of the modality's shape or flattened (as in the CSV files); a
        single array for a model of one modality. Leave a modality out, or
        set a sample's row to NaN, for samples that lack it."""
        x, present = self.standardize(inputs)
        pred, z = self.forward_standardized(x, present)
        return z, self.unstandardize_y(pred)

    def predict(self, inputs):
        """ŷ for raw inputs, n×responses (see apply)."""
        return self.apply(inputs)[1]

    def extract(self, inputs):
        """The features Z for raw inputs, n×features (see apply)."""
        return self.apply(inputs)[0]

    def to_torch(self):
        """A torch.nn.Module with this model's weights, whose state_dict
        has the names of model.safetensors (see fdrmfl.torch_module)."""
        from .torch_module import build

        return build(self)

    def __repr__(self):
        mods = ", ".join(f"{n} {list(s)} {e['type']}" for n, s, e in self.modalities)
        return f"fdrmfl.Model({mods}; fusion {self.fusion['type']}; d={self.features}; responses {self.responses})"


def load(folder):
    """Load a trained model folder (manifest.json and model.safetensors):
    a Model for the network, a LinearModel for a linear kind."""
    return Model.load(folder)
