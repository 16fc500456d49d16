"""A linear model fitted by fdrmfl from the clients' summed statistics
(model.kind pls, ridge, lasso, enet), applied as `fdrmfl predict` and `fdrmfl
extract` apply it."""

import numpy as np

from .model import LINEAR_KINDS, Model


class LinearModel(Model):
    """A linear model on the standardised inputs x: every modality of the
    model, standardised with the manifest's statistics, flattened and
    side by side in the model's order (0, the pooled training mean, where
    a sample lacks a modality):

        PLS:                Z = x·features.weightᵀ + features.bias   (the X-scores)
                            ŷ = Z·head.weightᵀ + head.bias
        ridge, lasso, enet: ŷ = x·head.weightᵀ + head.bias         (no Z)

    and ŷ·sd_y + mean_y in the responses' units. The tensors are those of
    torch.nn.Linear layers "features" and "head" (weight out×in). The
    manifest's "linear" holds the fit: the settings chosen and the
    cross-validation behind them (`fit`).
    """

    def __init__(self, manifest, tensors, source="<model>"):
        self._check_format(manifest, source)
        self.source, self.manifest = source, manifest
        cfg = manifest.get("model") or {}
        self.kind = cfg.get("kind")
        if self.kind not in LINEAR_KINDS:
            raise ValueError(f"{source}: model.kind {self.kind!r} is not one of {', '.join(LINEAR_KINDS)}")
        try:
            self.features = int(cfg.get("features") or 0)
            self.n_responses = int(cfg["responses"])
            mods = cfg["modalities"]
            self.modalities = [(m["name"], tuple(int(d) for d in m["shape"]), None) for m in mods]
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"{source}: manifest field model.{e} is missing or malformed") from None
        self.fit = manifest.get("linear")
        if not isinstance(self.fit, dict):
            raise ValueError(f"{source}: a {self.kind} model without its fit (manifest field \"linear\")")
        if (self.kind == "pls") != (self.features > 0):
            raise ValueError(f"{source}: a {self.kind} model with model.features {self.features}")
        self.responses = list(manifest.get("responses") or [])
        if len(self.responses) != self.n_responses:
            raise ValueError(f"{source}: manifest lists {len(self.responses)} responses for a model of {self.n_responses}")
        self.learned_sigma = False
        self._pre = self._read_preprocess(manifest.get("preprocess") or [])
        self._std = self._read_standardizer(manifest.get("standardizer"))
        self.inputs = sum(int(np.prod(s)) for _, s, _ in self.modalities)
        self.tensors = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()}
        self._check_tensors(tensors)

    def expected_shapes(self):
        """Every tensor's name and shape, in the order of the weights."""
        p, q, a = self.inputs, self.n_responses, self.features
        if a:
            return {"features.weight": (a, p), "features.bias": (a,), "head.weight": (q, a), "head.bias": (q,)}
        return {"head.weight": (q, p), "head.bias": (q,)}

    def expected_tensors(self):
        return list(self.expected_shapes())

    def _check_tensors(self, tensors):
        for name, shape in self.expected_shapes().items():
            if name not in tensors:
                continue  # the check below names it
            got = tuple(np.shape(tensors[name]))
            if got != shape:
                raise ValueError(f"{self.source}: tensor {name!r} has shape {list(got)}, a {self.kind} model of {self.inputs} inputs needs {list(shape)}")
            if not np.all(np.isfinite(tensors[name])):
                raise ValueError(f"{self.source}: tensor {name!r} holds a value that is not finite")
        super()._check_tensors(tensors)

    def forward_standardized(self, x, present):
        """The linear map on standardised inputs (a dict of n×shape arrays
        with absent rows zero): returns (ŷ standardised n×responses, Z
        n×features; n×0 without features)."""
        n = next(iter(x.values())).shape[0]
        xs = np.concatenate([x[name].reshape(n, -1) for name in self.modality_names], axis=1)
        t = self.tensors
        if self.features:
            z = xs @ t["features.weight"].T + t["features.bias"]
            return z @ t["head.weight"].T + t["head.bias"], z
        return xs @ t["head.weight"].T + t["head.bias"], np.zeros((n, 0))

    def extract(self, inputs):
        """The features Z, n×features: a PLS model's X-scores. Ridge, the
        lasso and the elastic net have none: use predict."""
        if not self.features:
            raise ValueError(f"{self.source}: a {self.kind} model has no features Z beyond its predictions; use predict")
        return super().extract(inputs)

    def to_torch(self):
        """A torch.nn.Module with this model's weights (nn.Linear layers
        "features" and "head"), whose forward(dict of raw tensors) returns
        (ŷ, Z) and whose state_dict has the names of model.safetensors."""
        from .torch_module import build_linear

        return build_linear(self)

    def __repr__(self):
        mods = ", ".join(f"{n} {list(s)}" for n, s, _ in self.modalities)
        chosen = f"{self.features} components" if self.features else f"alpha={self.fit.get('alpha')}"
        return f"fdrmfl.LinearModel({self.kind}; {mods}; {chosen}; responses {self.responses})"
