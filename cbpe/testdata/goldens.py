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


# --- NannyML 0.13.1 multiclass (cbpe.py _fit_calibrators /
# _calibrate_predicted_probabilities, metrics.py Multiclass*._estimate,
# sampling_error/multiclass_classification.py), transcribed ---
def multiclass_case(rng, n, k, power):
    """Scores from a softmax of noisy logits, sharpened by power (so
    calibration matters); labels drawn from the unsharpened scores."""
    logits = rng.normal(0, 1.5, (n, k))
    p_true = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    y = np.array([rng.choice(k, p=row) for row in p_true])
    sharp = p_true ** power
    s = np.round(sharp / sharp.sum(axis=1, keepdims=True), 3)
    pred = s.argmax(axis=1)
    return s, y, pred


def multiclass_golden(s_ref, y_ref, p_ref, s_cur, p_cur, y_cur):
    k = s_ref.shape[1]
    classes = list(range(k))
    yb = [(y_ref == c).astype(int) for c in classes]
    decisions, cals = [], []
    for c in classes:
        d, _, _ = needs_calibration(yb[c], s_ref[:, c])
        decisions.append(d)
        cals.append(IsotonicRegression(out_of_bounds="clip", increasing=True).fit(s_ref[:, c], yb[c]) if d else None)
    cal = np.column_stack([cals[c].predict(s_cur[:, c]) if cals[c] is not None else s_cur[:, c] for c in classes])
    den = cal.sum(axis=1)[:, np.newaxis]
    cal = np.divide(cal, den, out=np.full_like(cal, 1 / k), where=den != 0)

    def est_binary(fn):
        return float(np.mean([fn((p_cur == c).astype(int), cal[:, c]) for c in classes]))

    def e_f1(yp, pp):
        tp, fp, fn = np.sum(np.where(yp == 1, pp, 0)), np.sum(np.where(yp == 1, 1 - pp, 0)), np.sum(np.where(yp == 0, pp, 0))
        return tp / (tp + 0.5 * (fp + fn))

    def e_prec(yp, pp):
        tp, fp = np.sum(np.where(yp == 1, pp, 0)), np.sum(np.where(yp == 1, 1 - pp, 0))
        return tp / (tp + fp)

    def e_rec(yp, pp):
        tp, fn = np.sum(np.where(yp == 1, pp, 0)), np.sum(np.where(yp == 0, pp, 0))
        return tp / (tp + fn)

    def e_spec(yp, pp):
        tn, fp = np.sum(np.where(yp == 0, 1 - pp, 0)), np.sum(np.where(yp == 1, 1 - pp, 0))
        return tn / (tn + fp)

    onehot = np.column_stack([(p_cur == c).astype(int) for c in classes])
    est = {
        "roc_auc": float(np.mean([estimate_roc_auc(cal[:, c], s_cur[:, c]) for c in classes])),
        "average_precision": float(np.mean([estimate_ap(cal[:, c], s_cur[:, c]) for c in classes])),
        "f1": est_binary(e_f1), "precision": est_binary(e_prec), "recall": est_binary(e_rec),
        "specificity": est_binary(e_spec), "accuracy": float(np.mean(np.max(onehot * cal, axis=1))),
    }
    # sampling-error components
    pb = [(p_ref == c).astype(int) for c in classes]

    def comp(kind, yt, yp):
        TP = np.where((yt == yp) & (yp == 1), 1, np.nan)
        FP = np.where((yt != yp) & (yp == 1), 0, np.nan)
        FN = np.where((yt != yp) & (yp == 0), 0, np.nan)
        TN = np.where((yt == yp) & (yp == 0), 1, np.nan)
        TP, FP, FN, TN = TP[~np.isnan(TP)], FP[~np.isnan(FP)], FN[~np.isnan(FN)], TN[~np.isnan(TN)]
        if kind == "f1":
            v = np.concatenate([TP, FN, FP]); return [float(np.var(v)), len(v) / len(yp)]
        if kind == "precision":
            return [float(np.var(np.concatenate([TP, FP]))), float(np.sum(yp) / len(yp))]
        if kind == "recall":
            return [float(np.var(np.concatenate([TP, FN]))), float(sum(yt) / len(yp))]
        v = np.concatenate([TN, FP]); return [float(np.var(v)), len(v) / len(yp)]

    comps = {kind: [comp(kind, yb[c], pb[c]) for c in classes] for kind in ("f1", "precision", "recall", "specificity")}
    comps["roc_auc"] = []
    for c in classes:
        std, frac = auroc_sampling_error_components(yb[c], s_ref[:, c])
        comps["roc_auc"].append([std ** 2, frac])
    comps["accuracy_std"] = float(np.std((y_ref == p_ref).astype(int)))
    yc = [(y_cur == c).astype(int) for c in classes]
    realized = {
        "roc_auc": None,
        # scikit-learn 1.2 has no multiclass average_precision_score (1.3
        # binarizes and averages per class, as here).
        "average_precision": float(np.mean([average_precision_score(yc[c], s_cur[:, c]) for c in classes])),
        "accuracy": float(accuracy_score(y_cur, p_cur)),
        "f1": float(f1_score(y_cur, p_cur, average='macro', labels=classes)),
        "precision": float(precision_score(y_cur, p_cur, average='macro', labels=classes)),
        "recall": float(recall_score(y_cur, p_cur, average='macro', labels=classes)),
    }
    try:
        realized["roc_auc"] = float(roc_auc_score(y_cur, s_cur, multi_class='ovr', average='macro', labels=classes))
    except ValueError:  # scores not summing to 1: NannyML's chunk record is NaN
        pass
    from sklearn.metrics import multilabel_confusion_matrix
    mcm = multilabel_confusion_matrix(y_cur, p_cur, labels=classes)
    realized["specificity"] = float(np.mean(mcm[:, 0, 0] / (mcm[:, 0, 0] + mcm[:, 0, 1])))
    return {"ref_score": [fl(r) for r in s_ref.T], "ref_label": [int(v) for v in y_ref], "ref_pred": [int(v) for v in p_ref],
            "cur_score": [fl(r) for r in s_cur.T], "cur_pred": [int(v) for v in p_cur], "cur_label": [int(v) for v in y_cur],
            "calibrated": decisions, "estimated": est, "components": comps, "realized": realized}


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
        "real_y": (np.round(rng.uniform(0, 1, 80), 1), np.round(rng.uniform(0, 1, 80), 3)),
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

    mc = []
    for n, k, power, drift in ((3000, 3, 2.0, True), (2000, 4, 0.6, False)):
        s_ref, y_ref, p_ref = multiclass_case(rng, n, k, power)
        s_cur, y_cur, p_cur = multiclass_case(rng, n // 2, k, power)
        if drift:  # rows no longer sum to 1: realized ROC AUC undefined
            s_cur[:, 0] = np.clip(s_cur[:, 0] * 1.3, 0, 1)
        else:  # exact probabilities, so scikit-learn's ROC AUC applies
            s_cur = s_cur / s_cur.sum(axis=1, keepdims=True)
        mc.append(multiclass_golden(s_ref, y_ref, p_ref, s_cur, p_cur, y_cur))
    out["multiclass"] = mc
    json.dump(out, sys.stdout)


main()
