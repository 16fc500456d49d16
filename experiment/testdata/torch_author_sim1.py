#!/usr/bin/python3
"""PyTorch reference for the parity test of the author's settings on simulation function 1.

The experiment, written independently of the Go engine (only its specification is shared):

* data (method §5, function 1): per sample an image 3×32×32, a text 10×50 and a vector 32,
  all i.i.d. N(0, 1) in float32; s = the sum of every 10th value of each flattened modality
  (308 + 50 + 4 terms, summed in float64); y = tanh(0.05·s), no noise. 2500 samples, drawn
  afresh for every repetition (--data fixed draws one dataset for all of them);
* split: a random permutation dealt into 3 iid clients of 834/833/833 samples; each client
  holds out ceil(20 %) of its samples for testing (167) and trains on the rest (no validation
  set: the study sets data.val_fraction to −1);
* standardisation: every input feature and the response z-scored with the pooled mean and
  population standard deviation of the three clients' training samples (the sums a client
  sends; a feature with zero spread is only centred);
* the network (model.Config of experiment.simulation's "paper" settings with d = 16): per
  modality an MLP encoder flatten → Linear(p, 128) → ReLU → Linear(128, 128) = h_m; weighted
  fusion, a = softmax(logits) with logits initialised to 1, w_m = M·a_m·p_m / Σ a·p (p: the
  modality present) and fused = [w_1·h_1, w_2·h_2, w_3·h_3]; fusion MLP Linear(384, 256) → ReLU
  → Linear(256, 16) = Z (no activation); head Linear(16, 64) → ReLU → Dropout(0.3) →
  Linear(64, 1). Every Linear initialised as torch's default (uniform ±1/√fan_in);
* the loss (train.DefaultLoss: λ = 0.01 each, τ = 0.5, σ = 0.1, correlation MI with a frozen
  16 → 64 → ReLU → 1 network that each client draws once):
      L = MSE(ŷ, y) + 0.01·L_mi + 0.01·L_skl + 0.01·L_con
      L_mi  = −log max(|ρ(f(Z), y)|, 1e-6), ρ = Σ ũ·ỹ / (√(Σ ũ²·Σ ỹ²) + 1e-8) over the batch
      L_skl = mean over the 3 modality pairs of mean_{i,k} (h_m − h_m')² / (2σ²)
      L_con = −mean_i log(e^{cos(z_i, g_i)/τ} / (e^{cos(z_i, g_i)/τ} + e^{cos(z_i, p_i)/τ}))
  where g and p are the features of the frozen global model of the round and of the client's
  previous local model, both in evaluation mode (MOON; from round 2, when a previous model
  exists), and cos uses ‖·‖ clamped at 1e-8;
* training: 5 rounds of FedAvg weighted by training samples; each client trains 3 epochs of
  shuffled batches of 32 (a last batch of one sample is skipped) with Adam(1e-3) whose state
  the client keeps from round to round;
* the score: the final global model's head on every client's test samples (evaluation mode),
  predictions mapped back to the response's units, R² = 1 − SSE/SST pooled over the clients'
  test samples (SST about their mean): experiment's "head" row for client "pooled".

Run it from the repository root with Debian's Python (numpy, torch 1.13):

    /usr/bin/python3 experiment/testdata/torch_author_sim1.py --seeds 60 \
        --out experiment/testdata/torch_author_sim1.json

It prints one line per repetition (--verbose: every round's loss terms) and writes every
repetition's R², their mean and sample standard deviation, the versions and the command to
--out; TestAuthorSettingsMatchPyTorch compares our engine with that file. A repetition takes
about 10 s of one core; the results are the same on every run with the same thread counts.

    /usr/bin/python3 experiment/testdata/torch_author_sim1.py --check CASE.json

answers TestObjectiveMatchesPyTorchReference (see check).
"""
import argparse
import json
import math
import os
import platform
import sys
import time

# One BLAS thread, as torch.set_num_threads(1) asks of torch itself: Debian's torch does its
# matrix products in OpenBLAS, whose threads otherwise spin on a busy 2-core machine.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402 (after the environment is set)
import torch  # noqa: E402
import torch.nn as nn  # noqa: E402
import torch.nn.functional as F  # noqa: E402

SHAPES = {"image": (3, 32, 32), "text": (10, 50), "vector": (32,)}
SAMPLES, CLIENTS, TEST_FRACTION = 2500, 3, 0.2
LATENT, FEATURES, FUSION_HIDDEN, HEAD_HIDDEN, DROPOUT = 128, 16, 256, 64, 0.3
ROUNDS, EPOCHS, BATCH, LR = 5, 3, 32, 1e-3
LAMBDA_MI = LAMBDA_KL = LAMBDA_CON = 0.01
TAU, SIGMA, MI_HIDDEN = 0.5, 0.1, 64
TERMS = ("loss", "mse", "mi", "kl", "con")

# Purposes of the random streams of a repetition.
DATA, PARTITION, SPLIT, INIT, CLIENT = range(1, 6)


def stream(seed, *path):
    """An integer seed for one purpose of one repetition."""
    return int(np.random.SeedSequence([seed, *path]).generate_state(1, np.uint64)[0]) >> 1  # < 2**63 for torch


def simulate(n, rng):
    """Function 1 of method §5: inputs per modality (n×p float32) and y (n, float32)."""
    xs, s = {}, np.zeros(n)
    for name, shape in SHAPES.items():
        x = rng.standard_normal((n, int(np.prod(shape))), dtype=np.float32)
        xs[name] = x
        s += x[:, ::10].astype(np.float64).sum(1)  # image 308 terms, text 50, vector 0/10/20/30
    return xs, np.tanh(0.05 * s).astype(np.float32)


def test_count(n, fraction):
    """ceil(fraction·n), where a product within 1e-9 of an integer counts as that integer."""
    x = fraction * n
    return int(round(x)) if abs(x - round(x)) < 1e-9 else math.ceil(x)


def split(seed):
    """Each client's training and test rows of the dataset."""
    order = np.random.default_rng(stream(seed, PARTITION)).permutation(SAMPLES)
    sizes = [SAMPLES // CLIENTS + (c < SAMPLES % CLIENTS) for c in range(CLIENTS)]
    out, start = [], 0
    for c, size in enumerate(sizes):
        rows = np.sort(order[start:start + size])
        start += size
        perm = np.random.default_rng(stream(seed, SPLIT, c)).permutation(size)
        k = test_count(size, TEST_FRACTION)
        out.append((np.sort(rows[perm[:size - k]]), np.sort(rows[perm[size - k:]])))
    return out


def pooled_scaling(parts):
    """Mean and population sd per column from the clients' sums (float64)."""
    n = sum(p.shape[0] for p in parts)
    s1 = sum(p.astype(np.float64).sum(0) for p in parts)
    s2 = sum((p.astype(np.float64) ** 2).sum(0) for p in parts)
    mu = s1 / n
    sd = np.sqrt(np.maximum(s2 / n - mu * mu, 0))
    sd = np.where(sd > 1e-12 * np.maximum(1, np.abs(mu)), sd, 1.0)
    return mu, sd


class Fusion(nn.Module):
    """Weighted fusion: w_m = M·a_m·p_m / Σ_m' a_m'·p_m', a = softmax(modality_weights), then an MLP to Z."""

    def __init__(self, modalities, latent, hidden, features):
        super().__init__()
        self.modality_weights = nn.Parameter(torch.ones(modalities))  # equal logits: equal weights
        self.mlp = nn.Sequential(nn.Linear(modalities * latent, hidden), nn.ReLU(), nn.Linear(hidden, features))

    def forward(self, hs):
        present = torch.ones(hs[0].shape[0], len(hs))  # every sample has every modality here
        ap = torch.softmax(self.modality_weights, 0) * present
        w = len(hs) * ap / ap.sum(1, keepdim=True)
        return self.mlp(torch.cat([h * w[:, m:m + 1] for m, h in enumerate(hs)], 1))


class Net(nn.Module):
    """The author's simulation network as the engine builds it; its state_dict has the engine's names."""

    def __init__(self, shapes=SHAPES, latent=LATENT, features=FEATURES, fusion_hidden=FUSION_HIDDEN,
                 head_hidden=HEAD_HIDDEN, dropout=DROPOUT):
        super().__init__()
        self.encoders = nn.ModuleDict({
            name: nn.Sequential(nn.Flatten(), nn.Linear(int(np.prod(sh)), latent), nn.ReLU(), nn.Linear(latent, latent))
            for name, sh in shapes.items()})
        self.fusion = Fusion(len(shapes), latent, fusion_hidden, features)
        head = [nn.Linear(features, head_hidden), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
        self.head = nn.Sequential(*head, nn.Linear(head_hidden, 1))

    def forward(self, xs):
        hs = [enc(x) for enc, x in zip(self.encoders.values(), xs)]
        z = self.fusion(hs)
        return self.head(z), z, hs


def correlation_mi(f, z, y):
    """−log max(|ρ(f(z), y)|, 1e-6) over the batch."""
    u = f(z).reshape(-1)
    y = y.reshape(-1)
    uc, yc = u - u.mean(), y - y.mean()
    rho = (uc * yc).sum() / (torch.sqrt((uc * uc).sum() * (yc * yc).sum()) + 1e-8)
    return -torch.log(rho.abs().clamp(1e-6, 1e30))


def symmetric_kl(hs):
    """Mean over modality pairs of (h_m − h_m')²/(2σ²), averaged over samples and dimensions."""
    terms = [((hs[i] - hs[j]) ** 2).mean() / (2 * SIGMA ** 2) for i in range(len(hs)) for j in range(i + 1, len(hs))]
    return sum(terms) / len(terms)


def contrastive(z, zg, zp):
    """MOON: the global model's features are the positive, the previous local model's the negative."""
    zn = F.normalize(z, dim=1, eps=1e-8)
    pos = (zn * F.normalize(zg, dim=1, eps=1e-8)).sum(1) / TAU
    neg = (zn * F.normalize(zp, dim=1, eps=1e-8)).sum(1) / TAU
    return -(pos - torch.logsumexp(torch.stack([pos, neg], 1), 1)).mean()


@torch.no_grad()
def features(net, xs, batch=256):
    net.eval()
    return torch.cat([net([x[i:i + batch] for x in xs])[1] for i in range(0, xs[0].shape[0], batch)])


@torch.no_grad()
def predict(net, xs, batch=256):
    net.eval()
    return torch.cat([net([x[i:i + batch] for x in xs])[0] for i in range(0, xs[0].shape[0], batch)]).reshape(-1)


class Client:
    """One client's training set, network, optimiser (kept across rounds), frozen MI network
    and previous local model."""

    def __init__(self, xs, y, net, opt, mi, gen, epochs=EPOCHS, batch=BATCH):
        self.xs, self.y, self.n = xs, y, y.shape[0]
        self.net, self.opt, self.mi, self.gen = net, opt, mi, gen
        self.epochs, self.batch = epochs, batch
        for p in self.mi.parameters():
            p.requires_grad_(False)
        self.prev = None  # the client's previous local model

    def fit(self, global_state, frozen):
        """Local training from the global model; returns the new weights, the sample count and
        the last epoch's mean loss terms."""
        self.net.load_state_dict(global_state)  # copies in place: the optimiser keeps its state
        zg = zp = None
        if self.prev is not None:
            frozen.load_state_dict(global_state)
            zg = features(frozen, self.xs)
            frozen.load_state_dict(self.prev)
            zp = features(frozen, self.xs)
        self.net.train()
        for _ in range(self.epochs):
            perm = torch.randperm(self.n, generator=self.gen)
            sums, seen = dict.fromkeys(TERMS, 0.0), 0
            for start in range(0, self.n, self.batch):
                idx = perm[start:start + self.batch]
                if len(idx) < 2:
                    continue
                xb, yb = [x[idx] for x in self.xs], self.y[idx].reshape(-1, 1)
                pred, z, hs = self.net(xb)
                terms = {"mse": F.mse_loss(pred, yb), "mi": correlation_mi(self.mi, z, yb), "kl": symmetric_kl(hs)}
                loss = terms["mse"] + LAMBDA_MI * terms["mi"] + LAMBDA_KL * terms["kl"]
                if zg is not None:
                    terms["con"] = contrastive(z, zg[idx], zp[idx])
                    loss = loss + LAMBDA_CON * terms["con"]
                terms["loss"] = loss
                self.opt.zero_grad()
                loss.backward()
                self.opt.step()
                for k, v in terms.items():
                    sums[k] += float(v) * len(idx)
                seen += len(idx)
        self.prev = {k: v.detach().clone() for k, v in self.net.state_dict().items()}
        return self.prev, self.n, {k: v / seen for k, v in sums.items()}  # the last epoch's mean terms


def fedavg(updates):
    """Σ n_k·w_k / Σ n_k, accumulated in float64."""
    total = sum(n for _, n in updates)
    return {k: (sum(w[k].double() * n for w, n in updates) / total).float() for k in updates[0][0]}


def repetition(seed, data_seed):
    xs_all, y_all = simulate(SAMPLES, np.random.default_rng(stream(data_seed, DATA)))
    parts = split(seed)
    names = list(SHAPES)
    scaling = {m: pooled_scaling([xs_all[m][tr] for tr, _ in parts]) for m in names}
    ymu, ysd = pooled_scaling([y_all[tr][:, None] for tr, _ in parts])

    def inputs(rows):
        return [torch.from_numpy(((xs_all[m][rows] - scaling[m][0]) / scaling[m][1]).astype(np.float32)) for m in names]

    def response(rows):
        return torch.from_numpy(((y_all[rows] - ymu[0]) / ysd[0]).astype(np.float32))

    torch.manual_seed(stream(seed, INIT))
    global_state = {k: v.clone() for k, v in Net().state_dict().items()}
    clients = []
    for c, (tr, _) in enumerate(parts):
        net = Net()
        torch.manual_seed(stream(seed, CLIENT, c, 1))
        mi = nn.Sequential(nn.Linear(FEATURES, MI_HIDDEN), nn.ReLU(), nn.Linear(MI_HIDDEN, 1))  # drawn once, frozen
        clients.append(Client(inputs(tr), response(tr), net, torch.optim.Adam(net.parameters(), lr=LR), mi,
                              torch.Generator().manual_seed(stream(seed, CLIENT, c))))
    frozen = Net()
    rounds = []  # per round, the clients' last-epoch loss terms weighted by samples
    for _ in range(ROUNDS):
        ups, terms = [], dict.fromkeys(TERMS, 0.0)
        for c in clients:
            w, n, t = c.fit(global_state, frozen)
            ups.append((w, n))
            for k in TERMS:
                terms[k] += t[k] * n
        global_state = fedavg(ups)
        rounds.append({k: v / sum(n for _, n in ups) for k, v in terms.items()})
    frozen.load_state_dict(global_state)
    y, pred = [], []
    for _, te in parts:
        pred.append(predict(frozen, inputs(te)).double().numpy() * ysd[0] + ymu[0])
        y.append(y_all[te].astype(np.float64))
    y, pred = np.concatenate(y), np.concatenate(pred)
    r2 = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    return float(r2), rounds


# The settings above, under the names of the Go experiment's configuration (checked by --check).
SETTINGS = {
    "samples": SAMPLES, "clients": CLIENTS, "test_fraction": TEST_FRACTION,
    "shapes": {k: list(v) for k, v in SHAPES.items()}, "encoder_hidden": [LATENT], "latent": LATENT,
    "features": FEATURES, "fusion": "weighted", "fusion_hidden": [FUSION_HIDDEN], "head_hidden": [HEAD_HIDDEN],
    "dropout": DROPOUT, "rounds": ROUNDS, "epochs": EPOCHS, "batch": BATCH, "optimizer": "adam", "lr": LR,
    "mi": LAMBDA_MI, "kl": LAMBDA_KL, "con": LAMBDA_CON, "tau": TAU, "sigma": SIGMA, "mi_estimator": "correlation",
    "mi_hidden": MI_HIDDEN, "kl_form": "fixed",
}


def check(path):
    """Answers TestObjectiveMatchesPyTorch (experiment/parity_test.go), which writes to path the
    Go experiment's settings and a small case of the same network: its sizes, a global and a
    previous model, the client's frozen MI network, a batch, and the SGD rate and epochs of a
    local training. It checks that the settings are this script's, trains the case with
    Client.fit (full batches, so the order of samples does not matter; no dropout) and prints
    the new weights and the last epoch's loss terms as JSON."""
    with open(path) as f:
        case = json.load(f)
    wrong = {k: (case["settings"].get(k), v) for k, v in SETTINGS.items() if case["settings"].get(k) != v}
    if wrong:
        sys.exit(f"the Go experiment's settings differ from this script's (go, script): {wrong}")
    shapes = {m["name"]: tuple(m["shape"]) for m in case["modalities"]}
    n = len(case["y"])

    def tensors(named, strip=""):
        return {k[len(strip):]: torch.tensor(v["values"], dtype=torch.float32).reshape(v["shape"]) for k, v in named.items()}

    def net():
        return Net(shapes, case["latent"], case["features"], case["fusion_hidden"], case["head_hidden"], dropout=0)

    mi = nn.Sequential(nn.Linear(case["features"], case["mi_hidden"]), nn.ReLU(), nn.Linear(case["mi_hidden"], 1))
    mi.load_state_dict(tensors(case["mi"], strip="f."))
    local = net()
    client = Client([torch.tensor(case["x"][m], dtype=torch.float32).reshape(n, *shapes[m]) for m in shapes],
                    torch.tensor(case["y"], dtype=torch.float32), local, torch.optim.SGD(local.parameters(), lr=case["lr"]),
                    mi, torch.Generator().manual_seed(0), epochs=case["epochs"], batch=n)
    client.prev = tensors(case["prev"])
    weights, _, terms = client.fit(tensors(case["global"]), net())  # load_state_dict is strict: the names must match
    json.dump({"weights": {k: v.reshape(-1).tolist() for k, v in weights.items()}, "terms": terms}, sys.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seeds", type=int, default=60, help="repetitions")
    ap.add_argument("--first-seed", type=int, default=1)
    ap.add_argument("--data", choices=["fresh", "fixed"], default="fresh",
                    help="fresh: a new dataset per repetition; fixed: one dataset (data seed 0) for all")
    ap.add_argument("--threads", type=int, default=1, help="torch.set_num_threads (OpenBLAS: $OPENBLAS_NUM_THREADS, 1 by default)")
    ap.add_argument("--out", help="write the results as JSON here")
    ap.add_argument("--verbose", action="store_true", help="print every round's loss terms")
    ap.add_argument("--check", metavar="CASE.json", help="answer the Go test's objective check (see check)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.check:
        return check(a.check)
    start = time.time()
    seeds = list(range(a.first_seed, a.first_seed + a.seeds))
    r2s = []
    for s in seeds:
        t = time.time()
        r2, rounds = repetition(s, s if a.data == "fresh" else 0)
        r2s.append(r2)
        curve = " ".join(f"{r['loss']:.3f}" for r in rounds)
        print(f"seed {s:3d}: head R² {r2:.4f}  training loss by round {curve}  ({time.time() - t:.1f} s)", flush=True)
        if a.verbose:
            for i, r in enumerate(rounds):
                print(f"  round {i + 1}: " + "  ".join(f"{k} {v:.4f}" for k, v in r.items()))
    mean, sd = float(np.mean(r2s)), float(np.std(r2s, ddof=1)) if len(r2s) > 1 else float("nan")
    print(f"head R² {mean:.4f} ± {sd:.4f} over {len(r2s)} repetitions ({time.time() - start:.0f} s)")
    if a.out:
        res = {
            "experiment": "simulation function 1, author's settings with d = 16, iid split, 3 clients, 5 rounds × 3 epochs, Adam 1e-3, batch 32",
            "metric": "head R², pooled over the clients' test samples, in the response's units",
            "data": a.data, "seeds": seeds, "r2": [round(v, 6) for v in r2s],
            "mean": round(mean, 6), "sd": round(sd, 6), "n": len(r2s),
            "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version(),
            "threads": a.threads, "openblas_threads": os.environ["OPENBLAS_NUM_THREADS"], "seconds": round(time.time() - start, 1),
            "command": "/usr/bin/python3 experiment/testdata/torch_author_sim1.py " + " ".join(sys.argv[1:]),
        }
        with open(a.out, "w") as f:
            json.dump(res, f, indent=1, ensure_ascii=False)
            f.write("\n")


if __name__ == "__main__":
    main()
