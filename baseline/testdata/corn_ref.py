#!/usr/bin/python3
"""Cross-validated R² on the corn m5 spectra, from scikit-learn, for
TestCornRidge. Reads the shared data (never copied into the repository):

    /usr/bin/python3 corn_ref.py ../../../shared/data/corn > corn_ref.json

Folds are contiguous (KFold(5) without shuffling: rows 16f..16f+15), so the
Go test can rebuild them exactly. The corn README's 0.90 for moisture states
neither α nor the folds; with standardised spectra, α = √10 and shuffled
folds give 0.92-0.93, and the README's pattern over m5/mp5/mp6 and the four
responses is closest to α ≈ 3 (or unscaled α ≈ 0.006).
"""
import json
import sys

import numpy as np
import sklearn
from sklearn.cross_decomposition import PLSRegression
from sklearn.linear_model import Ridge, RidgeCV
from sklearn.metrics import r2_score
from sklearn.model_selection import KFold, cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

data = sys.argv[1]
x = np.loadtxt(f"{data}/m5.csv", delimiter=",", skiprows=1)
y = np.loadtxt(f"{data}/responses.csv", delimiter=",", skiprows=1)
cv = KFold(5)
alpha = 10**0.5
out = {"sklearn": sklearn.__version__, "alpha": alpha, "alphas": np.logspace(-3, 3, 13).tolist()}
out["ridge_r2"] = [r2_score(y[:, j], cross_val_predict(make_pipeline(StandardScaler(), Ridge(alpha=alpha)), x, y[:, j], cv=cv))
                   for j in range(4)]
out["ridgecv_r2_moisture"] = r2_score(
    y[:, 0], cross_val_predict(make_pipeline(StandardScaler(), RidgeCV(alphas=out["alphas"])), x, y[:, 0], cv=cv))
out["pls10_r2_moisture"] = r2_score(
    y[:, 0], cross_val_predict(PLSRegression(n_components=10, scale=False), x, y[:, 0], cv=cv).ravel())
json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
