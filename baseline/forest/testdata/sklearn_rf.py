#!/usr/bin/python3
"""Reference accuracy of scikit-learn's RandomForestRegressor for package
forest's tests.

Run from this directory with Debian's python3-sklearn (1.2.1):

    /usr/bin/python3 sklearn_rf.py > sklearn_rf.json

The data are Friedman's first function drawn from a SplitMix64 stream of
uniform doubles, the same stream as friedman1 in ../data_test.go, so the Go
test fits the very same rows. Noise is uniform with unit variance.
"""
import json
import math
import sys

import numpy as np
import sklearn
from sklearn.ensemble import RandomForestRegressor
from sklearn.metrics import r2_score

M64 = (1 << 64) - 1


def uniforms(state):
    while True:
        state = (state + 0x9E3779B97F4A7C15) & M64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & M64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & M64
        z ^= z >> 31
        yield (z >> 11) * 2.0**-53


def friedman1(seed, n, p):
    u = uniforms(seed)
    x = np.empty((n, p))
    y = np.empty(n)
    for i in range(n):
        for j in range(p):
            x[i, j] = next(u)
        r = x[i]
        y[i] = (10 * math.sin(math.pi * r[0] * r[1]) + 20 * (r[2] - 0.5) ** 2 + 10 * r[3] + 5 * r[4]
                + (next(u) - 0.5) * math.sqrt(12))
    return x, y


cases = []
for ntrain, ntest, p, mf in [(300, 500, 10, 1.0), (300, 500, 10, 1 / 3), (300, 500, 100, 1.0),
                             (60, 500, 128, 1.0)]:
    xtr, ytr = friedman1(1, ntrain, p)
    xte, yte = friedman1(2, ntest, p)
    r2 = [r2_score(yte, RandomForestRegressor(100, max_features=mf, random_state=s).fit(xtr, ytr).predict(xte))
          for s in range(10)]
    cases.append({"ntrain": ntrain, "ntest": ntest, "p": p, "max_features": mf,
                  "r2_mean": float(np.mean(r2)), "r2_sd": float(np.std(r2, ddof=1)),
                  "first_y": ytr[:3].tolist()})
json.dump({"sklearn": sklearn.__version__, "cases": cases}, sys.stdout, indent=1)
sys.stdout.write("\n")
