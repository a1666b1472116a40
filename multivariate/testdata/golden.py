#!/usr/bin/python3
"""Goldens for package multivariate from scikit-learn, independent of the Go code.

NannyML 0.13.1's DataReconstructionDriftCalculator pipeline, step by step with
scikit-learn (NannyML itself is not installable here): SimpleImputer(mean) for
numeric columns, SimpleImputer(most_frequent) then a normalized count encoding
(category_encoders.CountEncoder(normalize=True): value_counts(normalize=True)
of the imputed reference, unseen categories 0) for categorical ones,
StandardScaler, PCA(n_components=variance, svd_solver="full"), and the row
error ||z - inverse_transform(transform(z))||.

Run with Debian's python3 + python3-sklearn from this directory:
    /usr/bin/python3 golden.py > golden.json
"""
import json

import numpy as np
import pandas as pd
import sklearn
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler


def run(name, ref, cur, categorical, variance):
    num = [c for c in ref.columns if c not in categorical]
    ref_x, cur_x = ref.copy(), cur.copy()
    if num:
        imp = SimpleImputer(strategy="mean").fit(ref_x[num])
        ref_x[num] = imp.transform(ref_x[num])
        cur_x[num] = imp.transform(cur_x[num])
    for c in categorical:
        imp = SimpleImputer(strategy="most_frequent").fit(ref_x[[c]])
        r = pd.Series(imp.transform(ref_x[[c]]).ravel(), index=ref_x.index)
        u = pd.Series(imp.transform(cur_x[[c]]).ravel(), index=cur_x.index)
        freq = r.value_counts(normalize=True)
        ref_x[c] = r.map(freq).astype(float)
        cur_x[c] = u.map(freq).fillna(0).astype(float)
    scaler = StandardScaler().fit(ref_x.to_numpy(dtype=float))
    zr = scaler.transform(ref_x.to_numpy(dtype=float))
    zc = scaler.transform(cur_x.to_numpy(dtype=float))
    pca = PCA(n_components=variance, svd_solver="full", random_state=16).fit(zr)

    def errors(z):
        return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)

    def column(c):
        def vals(s):
            if c in categorical:
                return [None if pd.isna(v) else str(v) for v in s]
            return [None if np.isnan(v) else float(v) for v in s]
        return {"name": c, "kind": "categorical" if c in categorical else "numeric",
                "ref": vals(ref[c]), "cur": vals(cur[c])}

    return {
        "name": name,
        "variance": variance,
        "columns": [column(c) for c in ref.columns],
        "components": int(pca.n_components_),
        "explained_variance_ratio": pca.explained_variance_ratio_.tolist(),
        "ref_errors": errors(zr).tolist(),
        "cur_errors": errors(zc).tolist(),
    }


def correlated(rng, n, d, rho):
    cov = np.full((d, d), rho) + (1 - rho) * np.eye(d)
    return rng.multivariate_normal(np.zeros(d), cov, size=n)


rng = np.random.default_rng(20261208)
cases = []

# Correlated Gaussians; the current data breaks the correlation (a shuffled column).
x = correlated(rng, 600, 5, 0.6) * [1, 10, 0.1, 5, 100] + [0, 50, 3, -2, 1000]
ref = pd.DataFrame(x[:400], columns=["a", "b", "c", "d", "e"])
cur = pd.DataFrame(x[400:], columns=ref.columns)
cur["b"] = rng.permutation(cur["b"].to_numpy())
cases.append(run("correlated", ref, cur, [], 0.65))
cases.append(run("correlated_variance_90", ref, cur, [], 0.9))

# Missing values in both the reference and the current data.
x = correlated(rng, 500, 4, 0.4) * [2, 1, 3, 0.5]
x[rng.random(x.shape) < 0.07] = np.nan
ref = pd.DataFrame(x[:300], columns=["p", "q", "r", "s"])
cur = pd.DataFrame(x[300:], columns=ref.columns)
cases.append(run("missing", ref, cur, [], 0.65))

# A categorical column with missing cells and a category the reference lacks.
x = correlated(rng, 500, 3, 0.5)
cats = np.where(x[:, 0] > 0.5, "high", np.where(x[:, 0] < -0.5, "low", "mid")).astype(object)
cats[rng.random(500) < 0.05] = np.nan
ref = pd.DataFrame(x[:300], columns=["u", "v", "w"])
ref["band"] = cats[:300]
cur = pd.DataFrame(x[300:], columns=["u", "v", "w"])
cur["band"] = cats[300:]
cur.loc[cur.index[:20], "band"] = "unseen"
cases.append(run("categorical", ref, cur, ["band"], 0.65))

print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__, "cases": cases}))
