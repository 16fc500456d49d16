"""Test fixtures: small models trained by the fdrmfl Go command.

Each case writes a small CSV dataset (seeded), trains a model on it with
`fdrmfl simulate` and records what `fdrmfl predict` and `fdrmfl extract`
make of the data, complete and with modalities missing. The binary is
$FDRMFL_BIN when set, else built once from the repository with `go build`.
Everything lives in one temporary folder per test run.
"""

import atexit
import csv
import json
import os
import shutil
import subprocess
import tempfile

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
PYROOT = os.path.dirname(HERE)
REPO = os.path.dirname(PYROOT)
SHARED_DATA = os.path.normpath(os.path.join(REPO, "..", "shared", "data"))

# Agreement tolerance: max |python − go| ≤ TOL · max |go| over an output
# array (ŷ or Z), i.e. relative to the scale of the values.
TOL = 1e-5

_work = None
_bin = None
_trained = {}


def workdir():
    global _work
    if _work is None:
        _work = tempfile.mkdtemp(prefix="fdrmfl-pytest-")
        if not os.environ.get("FDRMFL_KEEP"):
            atexit.register(shutil.rmtree, _work, True)
    return _work


def binary():
    """The fdrmfl command to run."""
    global _bin
    if _bin is None:
        b = os.environ.get("FDRMFL_BIN")
        if not b:
            b = os.path.join(workdir(), "fdrmfl")
            subprocess.run(["go", "build", "-o", b, "./cmd/fdrmfl"], cwd=REPO, check=True)
        _bin = b
    return _bin


def run(*args, cwd=None):
    """Run the fdrmfl command; a failure raises with its standard error."""
    p = subprocess.run([binary(), *args], cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        raise RuntimeError(f"fdrmfl {' '.join(args)} failed ({p.returncode}):\n{p.stderr}")
    return p


def write_csv(path, header, rows):
    """rows: a 2-D float array; NaN is written as an empty field (missing)."""
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        for r in rows:
            w.writerow(["" if np.isnan(v) else repr(float(np.float32(v))) for v in r])


def read_csv(path):
    """A numeric CSV with one header line, as float32 (as Go reads it)."""
    with open(path) as f:
        head = f.readline().strip().split(",")
    x = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    return head, x


# The synthetic modalities: name → (kind, per-sample shape).
SYNTH = {
    "vec": ("vector", [12]),
    "sig": ("signal", [2, 24]),
    "img": ("image", [2, 6, 6]),
    "seq": ("sequence", [5, 4]),
}
N_SYNTH = 60


def synth_data(folder, seed=7):
    """Write the synthetic dataset: every modality of SYNTH and two
    responses that depend on all of them. Returns {name: n×p float32}."""
    rng = np.random.default_rng(seed)
    xs = {}
    score = np.zeros(N_SYNTH)
    for name, (_, shape) in SYNTH.items():
        p = int(np.prod(shape))
        x = (rng.normal(size=(N_SYNTH, p)) * rng.uniform(0.5, 3, size=p) + rng.normal(size=p) * 2).astype(np.float32)
        xs[name] = x
        score += np.tanh(x[:, : p // 2].mean(axis=1))
        write_csv(os.path.join(folder, name + ".csv"), [f"{name}{j + 1}" for j in range(p)], x)
    y = np.stack([3 * score + rng.normal(size=N_SYNTH) * 0.1 + 10, score**2 + rng.normal(size=N_SYNTH) * 0.1], axis=1)
    write_csv(os.path.join(folder, "y.csv"), ["a", "b"], y)
    return xs


def _yaml(v, indent=0):
    """A small YAML writer for the configurations (dicts, lists, scalars)."""
    pad = " " * indent
    if isinstance(v, dict):
        out = []
        for k, x in v.items():
            if isinstance(x, (dict, list)) and x:
                out.append(f"{pad}{k}:\n{_yaml(x, indent + 2)}")
            else:
                out.append(f"{pad}{k}: {_scalar(x)}")
        return "\n".join(out)
    if isinstance(v, list):
        return "\n".join(f"{pad}- {_flow(x)}" for x in v)
    return pad + _scalar(v)


def _flow(x):
    if isinstance(x, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in x.items()) + "}"
    if isinstance(x, list):
        return "[" + ", ".join(_flow(v) for v in x) + "]"
    return _scalar(x)


def _scalar(x):
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, (dict, list)):
        return _flow(x)
    if isinstance(x, str):
        return '"' + x + '"'
    return str(x)


class Case:
    """A model to train and the inputs to apply it to.

    modalities: the synthetic modalities used, each with an encoder config
    (None for the default); model/train/federation/loss/scale: extra
    configuration. holes: whether to also apply the model with each
    modality missing (NaN rows) for a share of the samples."""

    def __init__(self, name, modalities, model=None, federation=None, loss=None, scale=None, corn=False, holes=True, preprocess=None, kind=None, linear=None):
        self.name, self.modalities, self.model = name, modalities, model or {}
        self.federation, self.loss, self.scale, self.corn, self.holes = federation or {}, loss, scale, corn, holes
        self.preprocess = preprocess
        # kind: a linear model.kind (pls, ridge) with its linear settings.
        self.kind, self.linear = kind, linear

    def config(self, folder):
        mods = self.modalities
        if self.corn:
            data = {
                "source": "csv",
                "root": SHARED_DATA,
                "modalities": [{"name": m, "file": f"corn/{m}.csv", "kind": "signal"} for m in mods],
                "response_file": "corn/responses.csv",
                "responses": ["protein", "oil"],
            }
        else:
            data = {
                "source": "csv",
                "root": ".",
                "modalities": [{"name": m, "file": m + ".csv", "kind": SYNTH[m][0], "shape": SYNTH[m][1]} for m in mods],
                "response_file": "y.csv",
            }
        if self.scale:
            data["scale"] = self.scale
        if self.preprocess:
            data["preprocess"] = self.preprocess
        if self.kind:
            cfg = {"seed": 3, "data": data, "federation": {"clients": 2, **self.federation}, "model": {"kind": self.kind}}
            if self.linear:
                cfg["linear"] = self.linear
            return _yaml(cfg) + "\n"
        model = {"latent": 8, "features": 4, "fusion": {"hidden": [8]}, "head": {"hidden": [6]}}
        for k, v in self.model.items():
            if isinstance(v, dict) and isinstance(model.get(k), dict):
                model[k] = {**model[k], **v}
            else:
                model[k] = v
        encs = [{"name": m, "encoder": e} for m, e in mods.items() if e is not None]
        if encs:
            model["modalities"] = [{"name": m, **({"encoder": e} if e else {})} for m, e in mods.items()]
        cfg = {
            "seed": 3,
            "data": data,
            "federation": {"clients": 2, "rounds": 2, **self.federation},
            "model": model,
            "train": {"epochs": 1, "batch_size": 16},
        }
        if self.loss:
            cfg["loss"] = self.loss
        return _yaml(cfg) + "\n"


class Trained:
    """A trained case: its model folder, raw inputs and Go's outputs."""

    def __init__(self, case, folder, inputs, runs):
        self.case, self.folder, self.model_dir = case, folder, os.path.join(folder, "out", "model")
        self.inputs = inputs  # variant → {modality: n×p float32 with NaN rows}
        self.runs = runs  # variant → (ŷ, Z) from fdrmfl predict and extract


def train(case):
    """Train case once per test run and apply the model with fdrmfl."""
    if case.name in _trained:
        return _trained[case.name]
    folder = os.path.join(workdir(), case.name)
    os.makedirs(folder)
    if case.corn:
        xs = {m: read_csv(os.path.join(SHARED_DATA, "corn", m + ".csv"))[1] for m in case.modalities}
    else:
        xs = {m: x for m, x in synth_data(folder).items() if m in case.modalities}
    with open(os.path.join(folder, "config.yaml"), "w") as f:
        f.write(case.config(folder))
    run("simulate", "--config", "config.yaml", "--out", "out", cwd=folder)
    variants = {"complete": xs}
    names = list(case.modalities)
    if case.holes and len(names) > 1:
        n = next(iter(xs.values())).shape[0]
        holey = {}
        for k, m in enumerate(names):
            x = xs[m].copy()
            # Sample i lacks modality k when i % (M+1) == k: every sample
            # keeps at least one modality, and some keep all.
            x[np.arange(n) % (len(names) + 1) == k] = np.nan
            holey[m] = x
        variants["holey"] = holey
        variants["without-" + names[-1]] = {m: xs[m] for m in names[:-1]}
    runs = {}
    with open(os.path.join(folder, "out", "model", "manifest.json")) as f:
        features = int(json.load(f)["model"].get("features") or 0)
    for v, inp in variants.items():
        args = []
        for m, x in inp.items():
            path = os.path.join(folder, f"{v}-{m}.csv")
            write_csv(path, [f"c{j + 1}" for j in range(x.shape[1])], x)
            args += ["--modality", f"{m}={path}"]
        outs = []
        for cmd in ("predict", "extract"):
            if cmd == "extract" and not features:  # ridge: no Z (extract refuses)
                outs.append(np.zeros((outs[0].shape[0], 0)))
                continue
            out = os.path.join(folder, f"{v}-{cmd}.csv")
            run(cmd, "--model", "out/model", *args, "--out", out, cwd=folder)
            outs.append(read_csv(out)[1][:, 1:].astype(np.float64))
        runs[v] = tuple(outs)
    t = Trained(case, folder, variants, runs)
    _trained[case.name] = t
    return t


def rel_err(got, want):
    """(max |got − want|, that divided by max |want|)."""
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise AssertionError(f"shape {got.shape}, want {want.shape}")
    if want.size == 0:  # a model without features Z
        return 0.0, 0.0
    a = float(np.abs(got - want).max())
    return a, a / max(float(np.abs(want).max()), 1e-30)


# Measured agreement, printed by run.py: (case, variant, engine, output) → (abs, rel).
AGREEMENT = {}


def record(case, variant, engine, output, got, want):
    a, r = rel_err(got, want)
    AGREEMENT[(case, variant, engine, output)] = (a, r)
    return a, r


# One case per encoder type (and pooling), fusion, scaling and missing
# modality, and the corn data as CSV.
CASES = [
    Case("mlp-linear-weighted", {"vec": None, "sig": None}),
    Case(
        "mlp-bn-concat-relu",
        {"vec": {"type": "mlp", "hidden": [10], "batch_norm": True, "dropout": 0.1}, "sig": {"type": "mlp", "hidden": [6, 5]}},
        model={"fusion": {"type": "concat", "batch_norm": True, "activation": "relu"}, "head": {"hidden": [6], "dropout": 0.1}},
    ),
    Case(
        "conv1d-flatten-global",
        {"sig": {"type": "conv1d", "channels": [4, 6], "kernels": [5, 3], "strides": [2, 1], "batch_norm": True, "hidden": [8]}, "vec": None},
        scale={"sig": "global", "vec": "none"},
    ),
    Case("conv1d-max-mean", {"sig": {"type": "conv1d", "channels": [3], "kernels": [4], "pool": "max"}, "vec": {"type": "mlp", "hidden": []}},
         model={"fusion": {"type": "concat"}}),
    Case("conv1d-mean", {"sig": {"type": "conv1d", "channels": [3, 3], "strides": [2, 2], "pool": "mean"}}),
    Case("conv2d-mean", {"img": {"type": "conv2d", "channels": [4], "batch_norm": True}}),
    Case("conv2d-flatten-max", {"img": {"type": "conv2d", "channels": [3, 4], "kernels": [3, 2], "strides": [1, 2], "pool": "flatten"},
                                "vec": None}, model={"fusion": {"activation": "tanh"}}),
    Case("conv2d-max", {"img": {"type": "conv2d", "channels": [3], "pool": "max", "hidden": [5]}}),
    Case("resnet-spatial-attention", {"img": {"type": "resnet", "channels": [4, 6], "strides": [1, 2], "spatial_attention": True},
                                      "vec": None}, model={"fusion": {"type": "attention", "heads": 2}}),
    Case("resnet-max", {"img": {"type": "resnet", "channels": [4], "pool": "max"}}),
    Case("bilstm", {"seq": {"type": "bilstm", "lstm_hidden": 5, "lstm_layers": 2, "hidden": [6]}, "vec": None}),
    Case("conv-bilstm-learned-sigma", {"sig": {"type": "conv-bilstm", "channels": [4], "strides": [2], "lstm_hidden": 4, "lstm_layers": 1},
                                       "seq": {"type": "bilstm", "lstm_hidden": 3, "lstm_layers": 1}},
         model={"learned_sigma": True, "fusion": {"type": "concat"}}, loss={"kl_form": "learned"}),
    Case("attention-tanh", {"vec": {"type": "mlp", "hidden": [8]}, "sig": {"type": "conv1d", "channels": [3], "pool": "mean"},
                            "seq": {"type": "bilstm", "lstm_hidden": 4, "lstm_layers": 1}},
         model={"fusion": {"type": "attention", "heads": 4, "activation": "tanh"}}),
    Case("lacks-weighted", {"vec": None, "sig": None, "img": {"type": "conv2d", "channels": [3]}},
         federation={"clients": 3, "lacks": {2: ["img"], 3: ["sig"]}}),
    Case("corn-preprocess", {"m5": None, "mp5": None, "mp6": None}, corn=True,
         preprocess={"m5": "sg1(11,2)+snv", "mp5": "msc+detrend(2)", "mp6": "sg2(15,3)"}),
    Case("corn-csv", {"m5": None, "mp5": None, "mp6": None}, corn=True),
    # The linear models fitted from summed statistics: PLS (Z = the
    # X-scores) and ridge (no Z), with every scaling mode, a client that
    # lacks a modality, and PLS2 on the corn files.
    Case("linear-pls", {"vec": None, "sig": None}, kind="pls", linear={"max_components": 6, "folds": 4}, scale={"sig": "global"}),
    Case("linear-ridge-lacks", {"vec": None, "sig": None, "img": None}, kind="ridge", linear={"folds": 3},
         federation={"clients": 3, "lacks": {2: ["img"]}}, scale={"vec": "none"}),
    Case("linear-corn-pls", {"m5": None, "mp5": None, "mp6": None}, corn=True, kind="pls", linear={"max_components": 15}),
    Case("linear-corn-preprocess", {"m5": None, "mp5": None}, corn=True, kind="pls", linear={"max_components": 10},
         preprocess={"m5": "sg1(11,2)+snv", "mp5": "msc"}),
]
