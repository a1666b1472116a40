#!/usr/bin/python3
"""The pandas + scikit-learn baseline for `driftwatch estimate` (CBPE), the
computation as NannyML does it, without NannyML:

    /usr/bin/python3 bench/estimate/baseline.py REFERENCE.csv CURRENT.csv > py.json

Reads both CSVs with pandas.read_csv (columns y, score, pred), fits
IsotonicRegression(out_of_bounds="clip") of y on score over the reference,
calibrates the current scores, and over the whole current file computes the
expected confusion matrix (TP, FP, FN, TN), accuracy, precision, recall, F1
and the estimated ROC AUC as NannyML's estimate_roc_auc (sorted by raw score,
cumulative sums rounded to 5 decimals, trapezoid). Prints them as JSON and
its wall time (imports included) to stderr. Run with Debian's
/usr/bin/python3 (python3-pandas, python3-sklearn).
"""
import time

T0 = time.perf_counter()

import json  # noqa: E402
import sys  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.isotonic import IsotonicRegression  # noqa: E402
from sklearn.metrics import auc  # noqa: E402


def main():
    ref = pd.read_csv(sys.argv[1])
    cur = pd.read_csv(sys.argv[2])
    iso = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(ref["score"], ref["y"])
    raw = cur["score"].to_numpy()
    p = iso.predict(raw)
    pred = cur["pred"].to_numpy()
    tp = np.sum(np.where(pred == 1, p, 0))
    fp = np.sum(np.where(pred == 1, 1 - p, 0))
    fn = np.sum(np.where(pred == 0, p, 0))
    tn = np.sum(np.where(pred == 0, 1 - p, 0))
    order = np.argsort(raw)[::-1]
    tps = np.cumsum(p[order])
    fps = 1 + np.arange(len(p)) - tps
    tps = np.round(np.r_[0, tps], 5)
    fps = np.round(np.r_[0, fps], 5)
    out = {"roc_auc": auc(fps / fps[-1], tps / tps[-1]), "accuracy": (tp + tn) / len(p),
           "precision": tp / (tp + fp), "recall": tp / (tp + fn), "f1": tp / (tp + 0.5 * (fp + fn)),
           "true_positive": tp, "false_positive": fp, "false_negative": fn, "true_negative": tn}
    json.dump({k: float(v) for k, v in out.items()}, sys.stdout)
    print(f"baseline.py: {time.perf_counter() - T0:.3f} s", file=sys.stderr)


main()
