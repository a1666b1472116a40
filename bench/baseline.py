#!/usr/bin/python3
"""The pandas + scipy baseline for bench/e2e.sh: what teams write by hand.

Reads both CSVs with pandas and computes, per feature, scipy's ks_2samp,
decile PSI (numpy quantile edges, proportions floored at 1e-4) and
wasserstein_distance. Prints JSON {feature: {ks, ks_p, psi, wasserstein}}.
Run with Debian's python3 (python3-pandas, python3-scipy).
"""
import json
import sys

import numpy as np
import pandas as pd
from scipy import stats

ref = pd.read_csv(sys.argv[1])
cur = pd.read_csv(sys.argv[2])
out = {}
for col in ref.columns:
    r = ref[col].dropna().to_numpy()
    c = cur[col].dropna().to_numpy()
    ks = stats.ks_2samp(r, c)
    edges = np.quantile(r, [k / 10 for k in range(1, 10)])
    rp = np.bincount(np.searchsorted(edges, r, side="right"), minlength=10) / len(r)
    cp = np.bincount(np.searchsorted(edges, c, side="right"), minlength=10) / len(c)
    rp, cp = np.maximum(rp, 1e-4), np.maximum(cp, 1e-4)
    out[col] = {"ks": float(ks.statistic), "ks_p": float(ks.pvalue),
                "psi": float(np.sum((cp - rp) * np.log(cp / rp))),
                "wasserstein": float(stats.wasserstein_distance(r, c))}
json.dump(out, sys.stdout)
