#!/usr/bin/python3
"""The pandas + scipy baseline for bench/e2e.sh: the drift check teams write by hand.

    /usr/bin/python3 bench/baseline.py [REFERENCE.csv CURRENT.csv] > py.json

(defaults: bench/data/reference.csv bench/data/current.csv). Reads both CSVs
with pandas.read_csv and computes, per column:

  ks, ks_p     scipy.stats.ks_2samp(ref, cur): statistic and p-value
  psi          decile PSI: edges np.quantile(ref, [0.1 .. 0.9]), bin counts by
               np.searchsorted(edges, x, side='right') + np.bincount(minlength=10),
               proportions floored at 1e-4, sum((c - r) * ln(c / r))
  wasserstein  scipy.stats.wasserstein_distance(ref, cur)

Prints a JSON object {feature: {ks, ks_p, psi, wasserstein}} to stdout and its
own wall time to stderr (from the script's first line, imports included;
bench/e2e.sh times the whole process, interpreter start-up included).
Run with Debian's /usr/bin/python3 (python3-pandas, python3-scipy), not a
pyenv python3 that may lack them.
"""
import time

T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from scipy import stats  # noqa: E402


def psi(ref, cur):
    edges = np.quantile(ref, [k / 10 for k in range(1, 10)])
    r = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10) / len(ref)
    c = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=10) / len(cur)
    r, c = np.maximum(r, 1e-4), np.maximum(c, 1e-4)
    return float(np.sum((c - r) * np.log(c / r)))


def main():
    ref_path, cur_path = (sys.argv[1:3] if len(sys.argv) >= 3
                          else ("bench/data/reference.csv", "bench/data/current.csv"))
    t_import = time.perf_counter()
    ref = pd.read_csv(ref_path)
    cur = pd.read_csv(cur_path)
    t_read = time.perf_counter()
    out = {}
    for col in ref.columns:
        r = ref[col].dropna().to_numpy(dtype=np.float64)
        c = cur[col].dropna().to_numpy(dtype=np.float64)
        ks = stats.ks_2samp(r, c)
        out[col] = {"ks": float(ks.statistic), "ks_p": float(ks.pvalue), "psi": psi(r, c),
                    "wasserstein": float(stats.wasserstein_distance(r, c))}
    json.dump(out, sys.stdout)
    sys.stdout.write("\n")
    t_end = time.perf_counter()
    print(f"baseline wall {t_end - T0:.3f} s (imports {t_import - T0:.3f} s, "
          f"read_csv {t_read - t_import:.3f} s, stats {t_end - t_read:.3f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
