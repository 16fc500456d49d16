#!/usr/bin/python3
"""Reference values for the penalised and cross-validated linear models of
package baseline (enet_test.go, spectrum_test.go), from scikit-learn and
numpy. Run from this directory with Debian's python3-sklearn (1.2.1):

    /usr/bin/python3 linear_ref.py > linear_ref.json

The data and the fold of every row are generated here with a fixed seed and
written into the JSON beside the results, so the Go tests rebuild exactly
the same cross-validation. Every fold has the same number of rows, so
sklearn's mean of per-fold MSEs equals the pooled Σ SSE / n the Go code
reports.
"""
import json
import sys
import warnings

import numpy as np
import sklearn
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import ElasticNet, ElasticNetCV, Lasso, LassoCV, RidgeCV
from sklearn.preprocessing import StandardScaler

warnings.simplefilter("ignore")
rng = np.random.default_rng(20260301)


def L(a):
    return np.asarray(a, dtype=float).tolist()


def latent(n, p, k):
    """Rows driven by k latent factors, offsets and unequal scales."""
    t = rng.normal(size=(n, k))
    x = t @ rng.normal(size=(k, p)) + 0.3 * rng.normal(size=(n, p))
    x = x * rng.uniform(0.5, 3, size=p) + rng.uniform(-5, 5, size=p)
    y = t @ rng.normal(size=k) + 0.2 * rng.normal(size=n) + 1.5
    return x, y


def sparse(n, p, s):
    """Independent columns, a response on s of them."""
    x = rng.normal(size=(n, p)) * rng.uniform(0.5, 2, size=p) + rng.uniform(-1, 1, size=p)
    w = np.zeros(p)
    w[rng.choice(p, s, replace=False)] = rng.normal(size=s) * 2
    return x, x @ w + rng.normal(size=n) + 0.7


def spectra(n, p):
    """Smooth, strongly collinear curves (three Gaussian bands) on a
    sloping baseline, as NIR spectra; y is the second band's height."""
    grid = np.linspace(0, 1, p)
    c = rng.uniform(0.2, 1, size=(n, 3))
    bands = np.stack([np.exp(-((grid - m) / 0.08) ** 2) for m in (0.25, 0.5, 0.8)])
    base = rng.uniform(0.1, 0.3, size=(n, 1)) + rng.uniform(-0.1, 0.1, size=(n, 1)) * grid
    x = c @ bands + base + 0.002 * rng.normal(size=(n, p))
    return x, c[:, 1] + 0.01 * rng.normal(size=n)


def folds_of(n, k):
    f = np.repeat(np.arange(k), n // k)
    rng.shuffle(f)
    return f


out = {"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": {}}
designs = {
    "tall": latent(50, 12, 3),     # 40 train, 10 test
    "wide": latent(30, 60, 4),     # 20 train, 10 test
    "sparse": sparse(70, 30, 5),   # 60 train, 10 test
    "spectra": spectra(50, 120),   # 40 train, 10 test
}
tight = dict(tol=1e-12, max_iter=1_000_000)
for name, (x, y) in designs.items():
    ntest = 10
    xtr, ytr, xte = x[:-ntest], y[:-ntest], x[-ntest:]
    n = len(ytr)
    k = 5 if n % 5 == 0 else 4
    folds = folds_of(n, k)
    cv = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(k)]
    case = {"xtrain": L(xtr), "ytrain": L(ytr), "xtest": L(xte), "folds": folds.tolist()}

    # Fixed penalties, raw and standardised inputs, against sklearn's
    # covariance-update solver (precompute=True).
    fixed = []
    for std in (False, True):
        sc = StandardScaler().fit(xtr) if std else None
        z, zt = (sc.transform(xtr), sc.transform(xte)) if std else (xtr, xte)
        top = np.max(np.abs((z - z.mean(0)).T @ (ytr - ytr.mean()))) / n
        for rho in (1.0, 0.5, 0.1):
            for frac in (0.3, 0.03):
                alpha = frac * top / rho
                m = (Lasso(alpha=alpha, precompute=True, **tight) if rho == 1
                     else ElasticNet(alpha=alpha, l1_ratio=rho, precompute=True, **tight)).fit(z, ytr)
                coef = m.coef_ / sc.scale_ if std else m.coef_
                fixed.append({"standardize": std, "alpha": alpha, "l1_ratio": rho,
                              "coef": L(coef), "pred": L(m.predict(zt))})
    case["fixed"] = fixed

    # Cross-validated paths over the given folds (raw inputs), converged
    # tightly so that the comparison is of the optima, not of where two
    # schedules of sweeps stop.
    cvs = []
    for rhos in ([1.0], [0.2, 0.7, 1.0]):
        m = (LassoCV(n_alphas=25, eps=1e-3, cv=cv, precompute=True, **tight) if rhos == [1.0]
             else ElasticNetCV(l1_ratio=rhos, n_alphas=25, eps=1e-3, cv=cv, precompute=True, **tight)).fit(xtr, ytr)
        alphas = np.atleast_2d(m.alphas_)
        mse = np.atleast_3d(m.mse_path_) if len(rhos) > 1 else m.mse_path_[None, :, :]
        cvs.append({"l1_ratios": rhos, "alphas": L(alphas), "cvmse": L(mse.mean(axis=2)),
                    "alpha": float(m.alpha_), "l1_ratio": float(np.atleast_1d(m.l1_ratio_)[0]) if len(rhos) > 1 else 1.0,
                    "coef": L(m.coef_), "pred": L(m.predict(xte))})
    case["cv"] = cvs

    # Ridge: exact leave-one-out (sklearn's RidgeCV) and generalised
    # cross-validation (the hat matrix formed explicitly), standardised.
    z = StandardScaler().fit_transform(xtr)
    zc, yc = z - z.mean(0), ytr - ytr.mean()
    g = zc.T @ zc
    top = np.linalg.eigvalsh(g)[-1]
    alphas = top * np.logspace(-7, 1, 17)
    rc = RidgeCV(alphas=alphas, store_cv_values=True).fit(z, ytr)
    gcv = []
    for a in alphas:
        h = np.ones((n, n)) / n + zc @ np.linalg.solve(g + a * np.eye(len(g)), zc.T)
        r = ytr - ytr.mean() - (h - np.ones((n, n)) / n) @ yc
        gcv.append(np.mean(r ** 2) / (1 - np.trace(h) / n) ** 2)
    case["ridge"] = {"alphas": L(alphas), "loo": L(rc.cv_values_.mean(axis=0)), "loo_alpha": float(rc.alpha_),
                     "gcv": L(gcv)}

    # PLS: pooled k-fold CV MSE for 1..min(30, smallest training part − 1)
    # components over the given folds (raw inputs, scale=False).
    amax = min(30, n - n // k - 1, x.shape[1])
    sse = np.zeros(amax)
    for tr, te in cv:
        for a in range(1, amax + 1):
            pr = PLSRegression(n_components=a, scale=False).fit(xtr[tr], ytr[tr]).predict(xtr[te]).ravel()
            sse[a - 1] += np.sum((ytr[te] - pr) ** 2)
    case["pls_cvmse"] = L(sse / n)
    out["cases"][name] = case

json.dump(out, sys.stdout)
sys.stdout.write("\n")
