#!/usr/bin/python3
"""Golden values for package stats, from scipy / numpy / scikit-learn.

Run with Debian's python3 (python3-scipy 1.10, python3-sklearn 1.2):
    cd testdata/golden && /usr/bin/python3 gen_golden.py
Writes golden.json. Small samples are stored inline; large ones as a
generator spec that Go reproduces bit for bit (an integer LCG and only
exactly rounded float operations, see lcg()).
"""
import json
import math

import numpy as np
import scipy
import sklearn
from scipy import stats
from scipy.spatial.distance import jensenshannon
from sklearn import metrics

MASK = (1 << 64) - 1


def lcg(n, seed, scale, shift, square=False):
    """x_i = floor(u_i*scale*1e4)/1e4 + shift, u_i from a 64-bit LCG; square
    uses u_i*u_i for a skewed sample. Every step is exact or correctly
    rounded, so Go computes the same floats."""
    s = seed & MASK
    out = []
    for _ in range(n):
        s = (s * 6364136223846793005 + 1442695040888963407) & MASK
        u = (s >> 11) / 9007199254740992.0
        if square:
            u = u * u
        out.append(math.floor(u * scale * 1e4) / 1e4 + shift)
    return np.array(out)


def sample(spec):
    if "values" in spec:
        return np.array(spec["values"], dtype=float)
    return lcg(spec["n"], spec["seed"], spec["scale"], spec["shift"], spec.get("square", False))


rng = np.random.default_rng(20261122)


def inline(x, decimals=4):
    return {"values": [float(v) for v in np.round(x, decimals)]}


def gen(n, seed, scale, shift, square=False):
    return {"n": n, "seed": seed, "scale": scale, "shift": shift, "square": square}


# ---- two-sample KS -------------------------------------------------------
ks_cases = [
    ("ties_tiny", inline(rng.integers(0, 4, 12)), inline(rng.integers(0, 4, 9))),
    ("equal_7", inline(rng.normal(size=7)), inline(rng.normal(0.5, 1, 7))),
    ("equal_50", inline(rng.normal(size=50)), inline(rng.normal(0.3, 1, 50))),
    ("unequal_30_47", inline(rng.normal(size=30)), inline(rng.normal(0.4, 1, 47))),
    ("unequal_1000_1500", inline(rng.normal(size=1000)), inline(rng.normal(0.08, 1, 1500))),
    ("lognormal_800_600", inline(rng.lognormal(size=800)), inline(rng.lognormal(0.1, 1.1, 600))),
    ("identical", inline(np.arange(20.0)), inline(np.arange(20.0))),
    ("separated", inline(rng.normal(size=200)), inline(rng.normal(size=300) + 100)),
    ("exact_limit_10000_9999", gen(10000, 1, 1.0, 0.0), gen(9999, 2, 1.0, 0.01)),
    ("asymp_10001_5000", gen(10001, 3, 1.0, 0.0), gen(5000, 4, 1.0, 0.02)),
    ("asymp_50000_80000_skewed", gen(50000, 5, 1.0, 0.0, True), gen(80000, 6, 1.0, 0.003, True)),
    ("asymp_200000_150000", gen(200000, 7, 2.0, 0.0), gen(150000, 8, 2.0, 0.002)),
]
ks = []
for name, a, b in ks_cases:
    r = stats.ks_2samp(sample(a), sample(b))
    ks.append({"name": name, "a": a, "b": b, "statistic": float(r.statistic), "pvalue": float(r.pvalue)})

kstwo = []
for n in [1, 2, 5, 10, 100, 140, 141, 1000, 100000, 1000000]:
    for d in [0.5 / n + 1e-9, 0.9 / n, 1.5 / n, 0.01, 0.05, 0.1, 0.3, 0.5, 0.7, 0.999]:
        if 0 < d < 1:
            kstwo.append({"n": n, "d": d, "sf": float(stats.kstwo.sf(d, n))})

# ---- numeric drift statistics ---------------------------------------------
numeric_cases = [
    ("normal_100", rng.normal(size=100), rng.normal(0.2, 1, 120)),
    ("normal_5000", rng.normal(size=5000), rng.normal(0.05, 1.1, 4000)),
    ("ties_int", rng.integers(0, 5, 300).astype(float), rng.integers(0, 6, 250).astype(float)),
    ("heavy_ties", np.concatenate([np.zeros(800), rng.normal(size=200)]), np.concatenate([np.zeros(500), rng.normal(size=500)])),
    ("lognormal", rng.lognormal(size=3000), rng.lognormal(0.2, 1, 2000)),
    ("exponential", rng.exponential(size=2000), rng.exponential(1.3, size=2500)),
]
numeric = []
for name, ref, cur in numeric_cases:
    ref = np.round(ref, 4)
    cur = np.round(cur, 4)
    edges = np.quantile(ref, [k / 10 for k in range(1, 10)])
    rc = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=10).astype(float)
    cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=10).astype(float)
    rp = np.maximum(rc / rc.sum(), 1e-4)
    cp = np.maximum(cc / cc.sum(), 1e-4)
    numeric.append({
        "name": name, "ref": ref.tolist(), "cur": cur.tolist(),
        "edges": edges.tolist(), "ref_counts": rc.tolist(), "cur_counts": cc.tolist(),
        "quantiles": {str(q): float(np.quantile(ref, q)) for q in [0, 0.01, 0.25, 0.5, 0.9, 0.999, 1]},
        "psi": float(np.sum((cp - rp) * np.log(cp / rp))),
        "psi_threshold": float(stats.chi2.ppf(0.95, 9) * (1 / len(ref) + 1 / len(cur))),
        "js": float(jensenshannon(rc, cc, base=2)),
        "hellinger": float(np.sqrt(0.5 * np.sum((np.sqrt(rc / rc.sum()) - np.sqrt(cc / cc.sum())) ** 2))),
        "wasserstein": float(stats.wasserstein_distance(ref, cur)),
        "mean": float(np.mean(ref)), "std": float(np.std(ref)), "min": float(np.min(ref)), "max": float(np.max(ref)),
    })

# ---- categorical ------------------------------------------------------------
categorical = []
for name, rc, cc in [
    ("three", [100, 200, 300], [120, 180, 330]),
    ("unseen", [50, 50, 100, 0], [40, 60, 90, 15]),
    ("zero_both", [10, 0, 30, 0], [12, 0, 20, 4]),
    ("strong", [1000, 10, 500], [10, 1000, 500]),
    ("many", list(rng.integers(1, 500, 30)), list(rng.integers(1, 500, 30))),
]:
    rc, cc = np.array(rc, float), np.array(cc, float)
    keep = (rc + cc) > 0
    chi, p, dof, _ = stats.chi2_contingency(np.array([rc[keep], cc[keep]]), correction=False)
    rp = np.maximum(rc / rc.sum(), 1e-4)
    cp = np.maximum(cc / cc.sum(), 1e-4)
    categorical.append({"name": name, "ref": rc.tolist(), "cur": cc.tolist(), "chi2": float(chi), "dof": int(dof),
                        "p": float(p), "psi": float(np.sum((cp - rp) * np.log(cp / rp))),
                        "js": float(jensenshannon(rc, cc, base=2))})

# ---- check on categorical columns: the table of categories ---------------
# Values are category names "<prefix><int(x)>" with x from lcg() (Go
# reproduces them). scipy's chi2_contingency gets one column per category
# seen on either side, reference categories or not.
def categories(spec):
    return [spec["prefix"] + str(int(v)) for v in lcg(spec["n"], spec["seed"], spec["scale"], 0.0, spec.get("square", False))]


def cat_spec(n, seed, k, prefix="c", square=False):
    return {"n": n, "seed": seed, "scale": k, "prefix": prefix, "square": square}


check_categorical = []
for name, a, b in [
    # 20 reference categories; the current data adds 10 more (c20..c29).
    ("several_unseen", cat_spec(2000, 11, 20), cat_spec(1500, 12, 30)),
    # A few rare unseen categories among many seen ones.
    ("unseen_rare", cat_spec(3000, 13, 40, square=True), cat_spec(3000, 14, 45, square=True)),
    # 3,000 zip codes, one skewed distribution on both sides: the rare ones
    # appear on one side only, and nothing drifted.
    ("zip_3000_same", cat_spec(20000, 15, 3000, "z", True), cat_spec(20000, 16, 3000, "z", True)),
]:
    ra, cb = categories(a), categories(b)
    cats = sorted(set(ra) | set(cb))
    rc = np.array([ra.count(c) for c in cats], float) if len(cats) < 100 else None
    if rc is None:
        from collections import Counter
        ca, cc = Counter(ra), Counter(cb)
        rc = np.array([ca[c] for c in cats], float)
        cur = np.array([cc[c] for c in cats], float)
    else:
        cur = np.array([cb.count(c) for c in cats], float)
    chi, p, dof, _ = stats.chi2_contingency(np.array([rc, cur]), correction=False)
    check_categorical.append({"name": name, "ref": a, "cur": b, "chi2": float(chi), "dof": int(dof), "p": float(p),
                              "unseen": int(sum(1 for c in cats if c not in set(ra)))})

# Binary features: z is current share minus reference share of the second
# category by name, pooled standard error; p two-sided.
check_binary = []
for name, a, b in [
    ("share_rose", {"n": 900, "seed": 21, "share": 0.3}, {"n": 700, "seed": 22, "share": 0.38}),
    ("share_fell", {"n": 900, "seed": 23, "share": 0.5}, {"n": 1000, "seed": 24, "share": 0.44}),
]:
    def yes_no(spec):
        return ["yes" if v < spec["share"] else "no" for v in lcg(spec["n"], spec["seed"], 1.0, 0.0)]
    ra, cb = yes_no(a), yes_no(b)
    x1, n1, x2, n2 = cb.count("yes"), len(cb), ra.count("yes"), len(ra)
    ph = (x1 + x2) / (n1 + n2)
    zz = (x1 / n1 - x2 / n2) / math.sqrt(ph * (1 - ph) * (1 / n1 + 1 / n2))
    check_binary.append({"name": name, "ref": a, "cur": b, "z": zz, "p": float(2 * stats.norm.sf(abs(zz)))})

# ---- huge values: the std scaled by a power of two so nothing overflows ------
# numpy.std of a sample holding 1e300 overflows to inf (its squares do);
# numpy.std(x / s) * s with s = 2**e > max|x| is the same computation with
# exact scaling, and the normalized Wasserstein divides by it.
rng22 = np.random.default_rng(20261208)  # its own stream: the other sections' data stay as they were
huge = []
for name, ref, cur in [
    ("one_1e300", np.concatenate([np.round(rng22.normal(size=1999), 4), [1e300]]), np.round(rng22.normal(0.5, 1, 1500), 4)),
    ("all_huge", np.round(rng22.normal(size=500), 4) * 1e299, np.round(rng22.normal(0.1, 1, 500), 4) * 1e299),
    ("near_max", np.array([1.5e308, -1.5e308, 1e308, 0.0, 3.0]), np.array([1e308, 2.0, -1e307])),
]:
    e = math.frexp(float(np.max(np.abs(ref))))[1]
    scaled = np.ldexp(ref, -e)
    std = math.ldexp(float(np.std(scaled)), e)
    w = float(stats.wasserstein_distance(ref, cur))
    huge.append({"name": name, "ref": ref.tolist(), "cur": cur.tolist(), "std": std,
                 "mean": math.ldexp(float(np.mean(scaled)), e),
                 "wasserstein": w, "normalized": w / max(std, 1e-3)})

# ---- CSV as pandas reads it --------------------------------------------------
# A quoted empty field is a row with a null; a blank line is no row.
import io

import pandas as pd

csv_cases = []
for name, text in [
    ("quoted_empty_numeric", 'x\n1\n""\n3\n'),
    ("quoted_empty_crlf", 'x\r\n""\r\n2.5\r\n\r\n""\r\n'),
    ("quoted_empty_categorical", 'c\na\n""\nb\n\n""\n'),
    ("quoted_empty_last_no_eol", 'x\n1\n2\n""'),
    ("blank_and_quoted", 'x\n\n1\n\n""\n\n'),
]:
    df = pd.read_csv(io.StringIO(text))
    col = df[df.columns[0]]
    values = [None if pd.isna(v) else (float(v) if col.dtype.kind == "f" or col.dtype.kind == "i" else str(v)) for v in col]
    csv_cases.append({"name": name, "text": text, "rows": int(len(df)), "nulls": int(col.isna().sum()),
                      "numeric": bool(col.dtype.kind in "fi"), "values": values})

z = []
for x1, n1, x2, n2 in [(45, 100, 60, 100), (500, 1000, 520, 1000), (1, 1000, 30, 1000), (999, 1000, 950, 1000), (3000, 10000, 3500, 12000)]:
    ph = (x1 + x2) / (n1 + n2)
    zz = (x1 / n1 - x2 / n2) / math.sqrt(ph * (1 - ph) * (1 / n1 + 1 / n2))
    z.append({"x1": x1, "n1": n1, "x2": x2, "n2": n2, "z": zz, "p": float(2 * stats.norm.sf(abs(zz)))})

chi2sf = [{"x": x, "dof": k, "sf": float(stats.chi2.sf(x, k))}
          for k in [1, 2, 9, 29, 100] for x in [0.01, 1, 5, 20, 100, 400, 1200]]

# ---- quality -------------------------------------------------------------------
def cls_case(name, y, p, s=None, positive=None):
    y = [str(v) for v in y]
    p = [str(v) for v in p]
    labels = sorted(set(y) | set(p))
    pr, rc, f1, sup = metrics.precision_recall_fscore_support(y, p, labels=labels, zero_division=0)
    out = {"name": name, "labels": y, "preds": p, "positive": positive,
           "accuracy": metrics.accuracy_score(y, p),
           "precision_macro": metrics.precision_score(y, p, average="macro", zero_division=0),
           "recall_macro": metrics.recall_score(y, p, average="macro", zero_division=0),
           "f1_macro": metrics.f1_score(y, p, average="macro", zero_division=0),
           "per_class": [{"class": c, "precision": float(a), "recall": float(b), "f1": float(f), "support": int(n)}
                         for c, a, b, f, n in zip(labels, pr, rc, f1, sup)]}
    if s is not None:
        s = np.round(np.asarray(s, float), 6)
        yb = np.array([1 if v == positive else 0 for v in y])
        out["scores"] = s.tolist()
        out["roc_auc"] = float(metrics.roc_auc_score(yb, s)) if 0 < yb.sum() < len(yb) else None
        out["log_loss"] = float(metrics.log_loss(yb, s, labels=[0, 1]))
        out["brier"] = float(metrics.brier_score_loss(yb, s))
        # ECE: 10 equal-width bins [k/10, (k+1)/10), 1.0 in the last bin
        # (independent numpy code; edges k/10 correctly rounded).
        idx = np.digitize(s, np.arange(1, 10) / 10)
        ece = 0.0
        for b in range(10):
            m = idx == b
            if m.any():
                ece += m.sum() / len(s) * abs(yb[m].mean() - s[m].mean())
        out["ece"] = float(ece)
    return out


quality = []
n = 1000
sc = rng.uniform(size=n)
yb = (rng.uniform(size=n) < sc).astype(int)
quality.append(cls_case("binary_balanced", yb, (sc >= 0.5).astype(int), sc, "1"))
sc = rng.beta(1, 8, size=5000)
yb = (rng.uniform(size=5000) < sc).astype(int)
quality.append(cls_case("binary_imbalanced", yb, (sc >= 0.5).astype(int), sc, "1"))
sc = np.round(rng.uniform(size=400), 1)
yb = (rng.uniform(size=400) < sc).astype(int)
quality.append(cls_case("binary_ties", yb, (sc >= 0.5).astype(int), sc, "1"))
sc = np.concatenate([np.zeros(10), np.ones(10), rng.uniform(size=80)])
yb = (rng.uniform(size=100) < 0.5).astype(int)
quality.append(cls_case("clipping", yb, (sc >= 0.5).astype(int), sc, "1"))
y = rng.choice(["cat", "dog", "eel"], 600)
p = np.where(rng.uniform(size=600) < 0.7, y, rng.choice(["cat", "dog", "eel"], 600))
quality.append(cls_case("multiclass_3", y, p))
y = rng.choice(["a", "b", "c", "d", "e"], 800, p=[0.4, 0.3, 0.2, 0.09, 0.01])
p = np.where(rng.uniform(size=800) < 0.6, y, "a")
quality.append(cls_case("never_predicted", y, p))

regression = []
for name, yy, pp in [
    ("normal", rng.normal(10, 3, 2000), None),
    ("zeros", np.concatenate([np.zeros(50), rng.normal(5, 2, 450)]), None),
    ("lognormal", rng.lognormal(3, 1, 3000), None),
    ("constant", np.full(100, 4.0), None),
]:
    yy = np.round(yy, 6)
    pp = np.round(yy + rng.normal(0, 1, len(yy)), 6)
    nz = yy != 0
    regression.append({"name": name, "y": yy.tolist(), "pred": pp.tolist(),
                       "mae": metrics.mean_absolute_error(yy, pp),
                       "rmse": metrics.mean_squared_error(yy, pp, squared=False),
                       "mape": metrics.mean_absolute_percentage_error(yy[nz], pp[nz]),
                       "mean_error": float(np.mean(pp - yy)), "r2": metrics.r2_score(yy, pp),
                       "zero_targets": int((~nz).sum())})
regression.append({"name": "constant_perfect", "y": [2.0] * 10, "pred": [2.0] * 10, "mae": 0.0, "rmse": 0.0,
                   "mape": 0.0, "mean_error": 0.0, "r2": metrics.r2_score([2.0] * 10, [2.0] * 10), "zero_targets": 0})

with open("golden.json", "w") as f:
    json.dump({"versions": {"scipy": scipy.__version__, "numpy": np.__version__, "sklearn": sklearn.__version__},
               "ks": ks, "kstwo": kstwo, "numeric": numeric, "categorical": categorical, "z": z, "chi2sf": chi2sf,
               "classification": quality, "regression": regression, "check_categorical": check_categorical,
               "check_binary": check_binary, "huge": huge, "csv": csv_cases,
               "pandas": pd.__version__}, f)
print("wrote golden.json")
