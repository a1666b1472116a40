#!/usr/bin/python3
"""Goldens for package multivariate on NannyML's California housing files, for
chunkings NannyML's README does not list, from scikit-learn and pandas alone.

It follows NannyML 0.13.1's DataReconstructionDriftCalculator step by step
(SimpleImputer(mean), StandardScaler, PCA(0.65, svd_solver="full"), the
row error, chunk mean and std(ddof=1)/sqrt(n), thresholds mean -/+ 3 * std
(ddof=0) of the reference chunks with a lower one <= 0 dropped) and NannyML's
chunkers (SizeBasedChunker keeping the incomplete last chunk;
CountBasedChunker = size n // k). It first checks itself against NannyML's own
chunk_size=5000 numbers (../shared/data/nannyml-california/README.md).

Run with Debian's python3 + python3-sklearn + python3-pandas from this
directory:
    /usr/bin/python3 california.py > california.json
"""
import json
import os

import numpy as np
import pandas as pd
from sklearn.decomposition import PCA
from sklearn.impute import SimpleImputer
from sklearn.preprocessing import StandardScaler

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "..", "shared", "data", "nannyml-california")
FEATURES = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup", "Latitude", "Longitude"]

ref = pd.read_csv(os.path.join(DATA, "california_housing_reference.csv"))[FEATURES]
ana = pd.read_csv(os.path.join(DATA, "california_housing_analysis.csv"))[FEATURES]

imp = SimpleImputer(strategy="mean").fit(ref)
scaler = StandardScaler().fit(imp.transform(ref))
zr = scaler.transform(imp.transform(ref))
pca = PCA(n_components=0.65, svd_solver="full", random_state=16).fit(zr)


def errors(data):
    z = scaler.transform(imp.transform(data))
    return np.linalg.norm(z - pca.inverse_transform(pca.transform(z)), axis=1)


def by_size(n, size):
    return [(s, min(s + size, n) - 1) for s in range(0, n, size)]


def stats(errs, ranges):
    out = []
    for s, e in ranges:
        x = errs[s : e + 1]
        se = float(np.std(x, ddof=1) / np.sqrt(len(x))) if len(x) > 1 else None
        out.append({"start": s, "end": e, "value": float(np.mean(x)), "sampling_error": se})
    return out


ref_err, ana_err = errors(ref), errors(ana)
cases = []
for kind, arg in [("size", 5000), ("size", 1000), ("size", 2500), ("size", 777), ("count", 3), ("count", 10)]:
    if kind == "size":
        rr, ar = by_size(len(ref_err), arg), by_size(len(ana_err), arg)
    else:
        rr, ar = by_size(len(ref_err), len(ref_err) // arg), by_size(len(ana_err), len(ana_err) // arg)
    rs, cs = stats(ref_err, rr), stats(ana_err, ar)
    values = np.array([c["value"] for c in rs])
    lower = float(np.nanmean(values) - 3 * np.nanstd(values))
    upper = float(np.nanmean(values) + 3 * np.nanstd(values))
    for c in cs:
        c["alert"] = not ((lower <= 0 or lower < c["value"]) and c["value"] < upper)
    cases.append({"chunking": kind, "arg": arg, "reference": rs, "current": cs,
                  "lower_threshold": lower if lower > 0 else None, "upper_threshold": upper})

# NannyML 0.13.1's own numbers for chunk_size=5000.
nannyml = [1.2054057546034, 1.4966028289202942, 1.4707411361801896, 1.5679869741150265]
mine = [c["value"] for c in cases[0]["reference"] + cases[0]["current"]]
assert np.allclose(mine, nannyml, rtol=1e-9, atol=0), (mine, nannyml)
assert abs(cases[0]["lower_threshold"] - 0.914208680286506) < 1e-9
assert abs(cases[0]["upper_threshold"] - 1.7877999032371883) < 1e-9

print(json.dumps({"components": int(pca.n_components_), "cases": cases}, indent=1))
