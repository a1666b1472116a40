#!/usr/bin/python3
"""Goldens for package cbpe from Debian's numpy 1.24.2 / scikit-learn 1.2.1
(NannyML 0.13.1's versions): isotonic calibration, numpy's legacy
RandomState and argsort, StratifiedShuffleSplit, realized metrics, and
NannyML's calibration decision, estimated ROC AUC / AP and ROC AUC
sampling-error components (functions transcribed below from NannyML 0.13.1,
Apache License 2.0, https://github.com/NannyML/nannyml).

Run from the repository root:
    /usr/bin/python3 cbpe/testdata/goldens.py > cbpe/testdata/goldens.json
"""
import json
import sys

import numpy as np
import pandas as pd
import sklearn
from sklearn.isotonic import IsotonicRegression
from sklearn.metrics import (accuracy_score, auc, average_precision_score, confusion_matrix, f1_score,
                             precision_score, recall_score, roc_auc_score)
from sklearn.model_selection import StratifiedShuffleSplit


# --- NannyML 0.13.1, nannyml/calibration.py (transcribed) ---
def _get_bin_index_edges(vector_length, bin_count):
    if vector_length <= 2 * bin_count:
        bin_count = vector_length // 2
        if bin_count < 2:
            raise ValueError("cannot split")
    bin_width = vector_length // bin_count
    bin_edges = np.asarray(range(0, vector_length + 1, bin_width))
    bin_edges[-1] = vector_length
    return list(zip(bin_edges[:-1], bin_edges[1:]))


def _ece(y_true, y_pred_proba, bin_index_edges):
    terms = []
    y_pred_proba, y_true = np.asarray(y_pred_proba), np.asarray(y_true)
    sort_index = y_pred_proba.argsort()
    y_pred_proba = y_pred_proba[sort_index]
    y_true = y_true[sort_index]
    for left_edge, right_edge in bin_index_edges:
        bin_proba = y_pred_proba[left_edge:right_edge]
        bin_true = y_true[left_edge:right_edge]
        terms.append(len(bin_proba) / len(y_pred_proba) * abs(np.mean(bin_proba) - np.mean(bin_true)))
    return np.sum(terms)


def needs_calibration(y_true, y_pred_proba, bin_count=10, split_count=10):
    if len(np.unique(y_true)) == 1:
        return False, None, None
    if roc_auc_score(y_true, y_pred_proba, multi_class='ovr') > 0.999:
        return False, None, None
    sss = StratifiedShuffleSplit(n_splits=split_count, test_size=0.1, random_state=42)
    yt, pt, ct = [], [], []
    for train, test in sss.split(y_pred_proba, y_true):
        cal = IsotonicRegression(out_of_bounds="clip", increasing=True)
        cal.fit(y_pred_proba[train], y_true[train])
        yt.append(y_true[test])
        pt.append(y_pred_proba[test])
        ct.append(cal.predict(y_pred_proba[test]))
    yt, pt, ct = np.concatenate(yt), np.concatenate(pt), np.concatenate(ct)
    edges = _get_bin_index_edges(len(pt), bin_count)
    before, after = _ece(yt, pt, edges), _ece(yt, ct, edges)
    return bool(before > after), float(before), float(after)


# --- NannyML 0.13.1, performance_estimation/confidence_based/metrics.py ---
def estimate_roc_auc(true_y_pred_proba, model_y_pred_proba):
    sorted_index = np.argsort(model_y_pred_proba)[::-1]
    true_y_pred_proba = true_y_pred_proba[sorted_index]
    tps = np.cumsum(true_y_pred_proba)
    fps = 1 + np.arange(len(true_y_pred_proba)) - tps
    tps = np.round(np.r_[0, tps], 5)
    fps = np.round(np.r_[0, fps], 5)
    return auc(fps / fps[-1], tps / tps[-1])


def estimate_ap(calibrated, uncalibrated):
    calibrated = calibrated[np.argsort(uncalibrated)[::-1]]
    tps = np.cumsum(calibrated)
    fps = 1 + np.arange(calibrated.shape[0]) - tps
    tps = np.round(tps, 5)
    fps = np.round(fps, 5)
    ps = np.arange(1, tps.shape[0] + 1)
    precision = np.r_[1, tps / ps]
    tps = np.r_[0, tps]
    recall = tps / tps[-1]
    precision, recall = precision[::-1], recall[::-1]
    return -np.sum(np.diff(recall) * precision[:-1])


# --- NannyML 0.13.1, sampling_error/binary_classification.py ---
def auroc_sampling_error_components(y_true, y_pred_proba):
    if np.mean(y_true) > 0.5:
        y_true = abs(np.asarray(y_true) - 1)
        y_pred_proba = 1 - y_pred_proba
    sorted_idx = np.argsort(y_pred_proba)
    y_pred_proba = y_pred_proba[sorted_idx]
    y_true = y_true[sorted_idx]
    rank_order = np.asarray(range(len(y_pred_proba)))
    positive_ranks = y_true * rank_order
    indexes = np.unique(positive_ranks)[1:]
    ser = [index - i for i, index in enumerate(indexes)]
    n_pos = np.sum(y_true)
    n_neg = len(y_true) - n_pos
    return float(np.std(np.true_divide(ser, n_neg))), float(n_pos / len(y_true))


def se_components(y_true, y_pred):
    """The rest of sampling_error/binary_classification.py's components
    (normalize_confusion_matrix=None), transcribed."""
    y_true, y_pred = pd.Series(y_true), pd.Series(y_pred)
    out = {}
    out["accuracy_std"] = float(np.std((y_true.to_numpy() == y_pred.to_numpy()).astype(int)))
    TP = np.where((y_true == y_pred) & (y_pred == 1), 1, np.nan)
    FP = np.where((y_true != y_pred) & (y_pred == 1), 0, np.nan)
    FN = np.where((y_true != y_pred) & (y_pred == 0), 0, np.nan)
    TN = np.where((y_true == y_pred) & (y_pred == 0), 1, np.nan)
    TP, FP, FN, TN = TP[~np.isnan(TP)], FP[~np.isnan(FP)], FN[~np.isnan(FN)], TN[~np.isnan(TN)]
    out["precision_std"] = float(np.std(np.concatenate([TP, FP])))
    out["precision_fraction"] = float(np.sum(y_pred) / len(y_pred))
    out["recall_std"] = float(np.std(np.concatenate([TP, FN])))
    out["recall_fraction"] = float(sum(y_true) / len(y_pred))
    spec = np.concatenate([TN, FP])
    out["specificity_std"] = float(np.std(spec))
    out["specificity_fraction"] = float(len(spec) / len(y_pred))
    tp_fp_fn = np.concatenate([TP, FN, FP])
    cf = len(tp_fp_fn) / ((len(FN) + len(FP)) * 0.5 + len(TP))
    out["f1_std"] = float(np.std(tp_fp_fn * cf))
    out["f1_fraction"] = float(len(tp_fp_fn) / len(y_pred))
    yt, yp = y_true.to_numpy().astype(int), y_pred.to_numpy().astype(int)
    for name, cell in (("true_positive_std", (yt == yp) & (yp == 1)), ("true_negative_std", (yt == yp) & (yp == 0)),
                       ("false_positive_std", (yt != yp) & (yp == 1)), ("false_negative_std", (yt != yp) & (yp == 0))):
        out[name] = float(np.std(np.where(cell, 1, 0)))
    return out


def fl(xs):
    return [float(x) for x in xs]


def dataset(rng, n, decimals, power, flip=False):
    """Scores (rounded: ties) and labels drawn with P(1) = score**power."""
    s = rng.uniform(0, 1, n)
    if decimals is not None:
        s = np.round(s, decimals)
    y = (rng.uniform(0, 1, n) < s ** power).astype(int)
    if flip:
        y = 1 - y
    return s, y


def main():
    rng = np.random.default_rng(20)
    out = {"versions": {"numpy": np.__version__, "sklearn": sklearn.__version__}}

    iso = []
    for name, (s, y) in {
        "ties": dataset(rng, 300, 2, 1.5),
        "continuous": dataset(rng, 60, None, 0.7),
        "few": (np.array([0.3, 0.3, 0.1, 0.9]), np.array([1, 0, 0, 1])),
        "one_x": (np.array([0.5, 0.5, 0.5]), np.array([1, 0, 1])),
        "decreasing": (np.linspace(0, 1, 40), (np.linspace(0, 1, 40) < 0.5).astype(int)),
    }.items():
        r = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(s, y)
        q = np.concatenate([np.linspace(-0.1, 1.1, 61), s[:20]])
        iso.append({"name": name, "x": fl(s), "y": fl(y), "thresholds_x": fl(r.X_thresholds_),
                    "thresholds_y": fl(r.y_thresholds_), "query": fl(q), "predict": fl(r.predict(q))})
    out["isotonic"] = iso

    rs = np.random.RandomState(42)
    out["permutations"] = [{"n": n, "perm": [int(v) for v in rs.permutation(n)]} for n in (1, 2, 7, 100, 1000)]

    ys = (rng.uniform(0, 1, 53) < 0.3).astype(int)
    splits = [{"train": [int(v) for v in tr], "test": [int(v) for v in te]}
              for tr, te in StratifiedShuffleSplit(n_splits=10, test_size=0.1, random_state=42).split(ys, ys)]
    out["stratified"] = {"y": [int(v) for v in ys], "splits": splits}

    out["argsort"] = []
    for vals in (np.round(rng.uniform(0, 1, 1000), 2), np.round(rng.uniform(0, 1, 20), 1),
                 np.repeat([0.5, 0.2, 0.9], 40), np.sort(np.round(rng.uniform(0, 1, 500), 1))[::-1].copy()):
        out["argsort"].append({"v": fl(vals), "order": [int(v) for v in np.argsort(vals)]})

    cases = []
    for name, (s, y) in {
        "calibrated": dataset(rng, 3000, 2, 1.0),
        "miscalibrated": dataset(rng, 3000, 2, 3.0),
        "mostly_positive": dataset(rng, 2000, 3, 0.2),
        "small": dataset(rng, 120, 2, 2.0),
        "continuous": dataset(rng, 1500, None, 1.8),
    }.items():
        p = (s >= 0.5).astype(int)
        decision, before, after = needs_calibration(y, s)
        cal = IsotonicRegression(out_of_bounds="clip", increasing=True).fit(s, y).predict(s) if decision else s
        std, frac = auroc_sampling_error_components(y, s)
        tn, fp, fn, tp = confusion_matrix(y, p, labels=[0, 1]).ravel()
        cases.append({
            "name": name, "score": fl(s), "label": [int(v) for v in y], "pred": [int(v) for v in p],
            "needs_calibration": decision, "ece_before": before, "ece_after": after,
            "estimated_roc_auc": float(estimate_roc_auc(cal, s)), "estimated_ap": float(estimate_ap(cal, s)),
            "auroc_std": std, "auroc_fraction": frac, "components": se_components(y, p),
            "realized": {
                "roc_auc": float(roc_auc_score(y, s)), "average_precision": float(average_precision_score(y, s)),
                "accuracy": float(accuracy_score(y, p)), "precision": float(precision_score(y, p)),
                "recall": float(recall_score(y, p)), "f1": float(f1_score(y, p)),
                "specificity": float(tn / (tn + fp)), "true_positive": int(tp), "false_positive": int(fp),
                "false_negative": int(fn), "true_negative": int(tn)},
        })
    out["cases"] = cases
    json.dump(out, sys.stdout)


main()
