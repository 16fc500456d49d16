#!/usr/bin/python3
"""Reference values for package baseline's tests, from scikit-learn.

Run from this directory with Debian's python3-sklearn (1.2.1) and numpy:

    /usr/bin/python3 sklearn_ref.py > sklearn_ref.json

The data are generated here with a fixed seed and written into the JSON
beside the results, so the Go tests need no random generator of numpy's.
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn.cross_decomposition import PLSRegression
from sklearn.decomposition import PCA, TruncatedSVD
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import mean_squared_error, r2_score
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore", FutureWarning)
rng = np.random.default_rng(20251203)


def latent_data(n, p, k, q):
    """Rows driven by k latent factors, with offsets and unequal scales."""
    t = rng.normal(size=(n, k))
    load = rng.normal(size=(k, p))
    x = t @ load + 0.3 * rng.normal(size=(n, p))
    x = x * rng.uniform(0.5, 3, size=p) + rng.uniform(-5, 5, size=p)
    beta = rng.normal(size=(k, q))
    y = t @ beta + 0.2 * rng.normal(size=(n, q)) + np.arange(1, q + 1)
    return x, y


def L(a):
    return np.asarray(a, dtype=float).tolist()


out = {"sklearn": sklearn.__version__, "numpy": np.__version__}

# Tall data: 40 training rows, 10 test rows, 12 columns, 2 responses.
x, y = latent_data(50, 12, 3, 2)
xtr, xte, ytr, yte = x[:40], x[40:], y[:40], y[40:]
# Wide data: 20 training rows, 6 test rows, 50 columns.
w, wy = latent_data(26, 50, 4, 1)
wtr, wte, wytr = w[:20], w[20:], wy[:20, 0]
out["tall"] = {"xtrain": L(xtr), "xtest": L(xte), "ytrain": L(ytr), "ytest": L(yte)}
out["wide"] = {"xtrain": L(wtr), "xtest": L(wte), "ytrain": L(wytr)}

# Scaler, with a constant column.
s = np.column_stack([xtr[:, :3], np.full(40, 2.5)])
sc = StandardScaler().fit(s)
out["scaler"] = {"x": L(s), "mean": L(sc.mean_), "scale": L(sc.scale_), "z": L(sc.transform(s))}

# PCA: 90 % variance, raw and standardised; a fixed count on wide data.
pcas = []
for name, data, test, std, nc in [("tall", xtr, xte, False, 0.9), ("tall-std", xtr, xte, True, 0.9),
                                   ("wide", wtr, wte, False, 5)]:
    sc = StandardScaler().fit(data) if std else None
    d = sc.transform(data) if std else data
    t = sc.transform(test) if std else test
    m = PCA(n_components=nc, svd_solver="full").fit(d)
    pcas.append({"name": name, "standardize": std, "variance": nc if nc < 1 else 0,
                 "components": 0 if nc < 1 else nc, "k": int(m.n_components_),
                 "basis": L(m.components_.T), "variances": L(m.explained_variance_),
                 "ratios": L(m.explained_variance_ratio_), "scores": L(m.transform(t))})
out["pca"] = pcas

# Truncated SVD (uncentred), exact solver; the energy count by numpy.
m = TruncatedSVD(n_components=4, algorithm="arpack").fit(xtr)
sv = np.linalg.svd(xtr, compute_uv=False)
energy = np.cumsum(sv**2) / np.sum(xtr**2)
out["tsvd"] = {"singular": L(m.singular_values_), "basis": L(m.components_.T),
               "scores": L(m.transform(xte)),
               "k90": int(np.searchsorted(energy, 0.9, side="right") + 1),
               "k99": int(np.searchsorted(energy, 0.99, side="right") + 1)}

# Ridge, fixed alpha: raw and standardised, tall and wide, multi-response.
ridges = []
for name, data, test, yy, std, alpha in [("tall", xtr, xte, ytr[:, 0], False, 0.5),
                                          ("tall-std", xtr, xte, ytr[:, 0], True, 3.0),
                                          ("wide", wtr, wte, wytr, False, 2.0),
                                          ("wide-std", wtr, wte, wytr, True, 0.1),
                                          ("tall-multi", xtr, xte, ytr, False, 1.0),
                                          ("tall-ols", xtr, xte, ytr[:, 0], False, 0.0)]:
    sc = StandardScaler().fit(data) if std else None
    d = sc.transform(data) if std else data
    t = sc.transform(test) if std else test
    m = Ridge(alpha=alpha).fit(d, yy)
    coef = np.atleast_2d(m.coef_)  # q×p
    if std:
        coef = coef / sc.scale_
    b0 = np.atleast_1d(m.intercept_) - (coef @ sc.mean_ if std else 0)
    ridges.append({"name": name, "standardize": std, "alpha": alpha, "multi": yy.ndim == 2,
                   "coef": L(coef.T), "intercept": L(b0), "pred": L(np.atleast_2d(m.predict(t).T).T)})
out["ridge"] = ridges

# RidgeCV, efficient leave-one-out over a log grid.
alphas = np.logspace(-3, 3, 13)
rcv = []
for name, data, yy, std in [("tall", xtr, ytr[:, 0], False), ("tall-std", xtr, ytr[:, 0], True),
                            ("wide", wtr, wytr, False)]:
    d = StandardScaler().fit_transform(data) if std else data
    m = RidgeCV(alphas=alphas, store_cv_values=True).fit(d, yy)
    rcv.append({"name": name, "standardize": std, "alphas": L(alphas), "alpha": float(m.alpha_),
                "cvmse": L(m.cv_values_.mean(axis=0))})
out["ridgecv"] = rcv

# PLS regression, scale=False, tight power-iteration tolerance.
plss = []
for name, data, test, yy, a in [("tall-1", xtr, xte, ytr[:, 0], 1), ("tall-3", xtr, xte, ytr[:, 0], 3),
                                 ("tall-6", xtr, xte, ytr[:, 0], 6), ("wide-5", wtr, wte, wytr, 5),
                                 ("tall-pls2-3", xtr, xte, ytr, 3)]:
    m = PLSRegression(n_components=a, scale=False, tol=1e-15, max_iter=100000).fit(data, yy)
    plss.append({"name": name, "components": a, "multi": yy.ndim == 2,
                 "weights": L(m.x_weights_), "xloadings": L(m.x_loadings_),
                 "yloadings": L(m.y_loadings_), "rotations": L(m.x_rotations_),
                 "scores": L(m.transform(test)), "pred": L(np.atleast_2d(m.predict(test).T).T)})
out["pls"] = plss

# Metrics.
yt, yp = yte[:, 0], yte[:, 0] + rng.normal(size=10)
out["metrics"] = {"y": L(yt), "yhat": L(yp), "mse": mean_squared_error(yt, yp),
                  "r2": r2_score(yt, yp)}

json.dump(out, sys.stdout, indent=None, separators=(",", ":"))
sys.stdout.write("\n")
