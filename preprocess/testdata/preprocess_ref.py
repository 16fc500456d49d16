#!/usr/bin/python3
"""Reference values for package preprocess (preprocess_test.go), from
scipy.signal and numpy. Run from this directory with Debian's python3-scipy
(1.10.1):

    /usr/bin/python3 preprocess_ref.py > preprocess_ref.json

The spectra are generated here with a fixed seed and written beside the
results.
"""
import json
import sys

import numpy as np
import scipy
from scipy.signal import detrend, savgol_filter

rng = np.random.default_rng(20260302)
grid = np.linspace(0, 1, 64)
x = np.stack([0.3 + 0.2 * grid + a * np.exp(-((grid - 0.4) / 0.1) ** 2) + b * grid ** 2
              + 0.01 * rng.normal(size=64)
              for a, b in rng.uniform(0.2, 1.5, size=(6, 2))])


def L(a):
    return np.asarray(a, dtype=float).tolist()


def snv(s):
    return (s - s.mean(axis=1, keepdims=True)) / s.std(axis=1, ddof=1, keepdims=True)


def msc(s, ref):
    out = np.empty_like(s)
    for i, row in enumerate(s):
        b, a = np.polyfit(ref, row, 1)
        out[i] = (row - a) / b
    return out


def poly_detrend(s, d):
    t = np.arange(s.shape[1])
    return np.stack([row - np.polyval(np.polyfit(t, row, d), t) for row in s])


out = {"scipy": scipy.__version__, "numpy": np.__version__, "x": L(x), "cases": []}
for w, k, d in [(5, 2, 0), (11, 2, 0), (11, 2, 1), (7, 3, 1), (15, 3, 2), (9, 4, 2), (21, 5, 1)]:
    name = f"sg{d}({w},{k})" if d else f"sg({w},{k})"
    out["cases"].append({"chain": name.replace("sg0", "sg"), "y": L(savgol_filter(x, w, k, deriv=d, axis=1))})
out["cases"].append({"chain": "snv", "y": L(snv(x))})
out["cases"].append({"chain": "msc", "y": L(msc(x, x.mean(axis=0)))})
out["cases"].append({"chain": "detrend", "y": L(detrend(x, axis=1, type="linear"))})
out["cases"].append({"chain": "detrend(2)", "y": L(poly_detrend(x, 2))})
out["cases"].append({"chain": "sg1(11,2)+snv", "y": L(snv(savgol_filter(x, 11, 2, deriv=1, axis=1)))})
s1 = savgol_filter(x, 11, 2, deriv=1, axis=1)
out["cases"].append({"chain": "sg1(11,2)+msc", "y": L(msc(s1, s1.mean(axis=0)))})
m = msc(x, x.mean(axis=0))
out["cases"].append({"chain": "msc+sg2(15,3)", "y": L(savgol_filter(m, 15, 3, deriv=2, axis=1))})
out["cases"].append({"chain": "snv+detrend(2)", "y": L(poly_detrend(snv(x), 2))})
json.dump(out, sys.stdout)
sys.stdout.write("\n")
