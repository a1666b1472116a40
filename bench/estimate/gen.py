#!/usr/bin/python3
"""Writes the benchmark's data: a labelled reference and an unlabelled
current file of a binary classifier (columns y, score, pred; scores with 4
decimals, labels drawn with P(1) = score**1.5 so calibration matters).

    /usr/bin/python3 bench/estimate/gen.py DIR [CURRENT_ROWS] [REFERENCE_ROWS]
"""
import os
import sys

import numpy as np
import pandas as pd


def frame(rng, n, labelled):
    s = np.round(rng.beta(2, 2, n), 4)
    d = {"score": s, "pred": (s >= 0.5).astype(int)}
    if labelled:
        d["y"] = (rng.uniform(0, 1, n) < s ** 1.5).astype(int)
    return pd.DataFrame(d)


def main():
    out = sys.argv[1]
    cur = int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000
    ref = int(sys.argv[3]) if len(sys.argv) > 3 else 100_000
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20)
    frame(rng, ref, True).to_csv(os.path.join(out, "reference.csv"), index=False)
    frame(rng, cur, False).to_csv(os.path.join(out, "current.csv"), index=False)


main()
