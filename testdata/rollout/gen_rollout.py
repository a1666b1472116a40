#!/usr/bin/python3
"""Golden values for package rollout, from scipy / statsmodels / scikit-learn.

Run with Debian's python3 (python3-scipy 1.10, python3-statsmodels 0.13,
python3-sklearn 1.2):
    cd testdata/rollout && /usr/bin/python3 gen_rollout.py
Writes golden.json. Every value is computed independently of the Go code's
formulas where a library has the statistic (statsmodels' Agresti-Caffo
test and Wilson interval, scikit-learn's AUC and F1), and by a different
route where none has (the normal-mixture p-value by numerical integration
instead of its closed form, DeLong's variance by midranks on the expanded
sample instead of bin placements, the F1 variance by a numerical gradient
and the multinomial covariance instead of the simplified closed form).
"""
import json
import math

import numpy as np
import scipy
import sklearn
import statsmodels
from scipy import integrate, optimize, stats
from sklearn import metrics
from statsmodels.stats.proportion import proportion_confint, test_proportions_2indep

rng = np.random.default_rng(20261123)
out = {"versions": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
                    "sklearn": sklearn.__version__, "numpy": np.__version__}}

# ---- proportions: z of the candidate's margin over the limit -------------
# Higher is better (accuracy): margin = c - (ratio*s - tol); lower is better
# (error rate): margin = ratio*s + tol - c; Agresti-Caffo estimates
# (x+1)/(n+2) with variance p(1-p)/(n+2). With ratio 1 that is statsmodels'
# test_proportions_2indep(method="agresti-caffo") with value -tol (higher)
# or the negated statistic with value tol (lower).
props = []
cases = [
    (880, 1000, 900, 1000, 1.0, 0.02, True),
    (4230, 5000, 4512, 5000, 1.0, 0.02, True),
    (97, 120, 1100, 1200, 1.0, 0.0, True),
    (1000, 1000, 1000, 1000, 1.0, 0.02, True),
    (0, 1500, 3, 9000, 1.0, 0.001, False),
    (230, 10000, 200, 10000, 1.0, 0.0, False),
    (230, 10000, 1850, 90000, 1.2, 0.0, False),
    (55, 2500, 40, 2500, 1.2, 0.002, False),
    (880, 1000, 900, 1000, 0.98, 0.0, True),
    (3, 40, 7, 41, 1.0, 0.05, False),
]
for xc, nc, xs, ns, ratio, tol, higher in cases:
    pc, ps = (xc + 1) / (nc + 2), (xs + 1) / (ns + 2)
    var = pc * (1 - pc) / (nc + 2) + ratio**2 * ps * (1 - ps) / (ns + 2)
    margin = pc - (ratio * ps - tol) if higher else ratio * ps + tol - pc
    z = margin / math.sqrt(var)
    source = "by hand"
    if ratio == 1.0:
        with np.errstate(divide="ignore", invalid="ignore"):  # its unused odds ratio at p = 0 or 1
            r = test_proportions_2indep(*map(np.float64, (xc, nc, xs, ns)), value=-tol if higher else tol,
                                        method="agresti-caffo", compare="diff")
        sm = float(r.statistic) if higher else -float(r.statistic)
        assert abs(sm - z) <= 1e-12 * max(1, abs(z)), (sm, z)
        z, source = sm, "statsmodels test_proportions_2indep(method='agresti-caffo')"
    props.append({"xc": xc, "nc": nc, "xs": xs, "ns": ns, "ratio": ratio, "tolerance": tol,
                  "higher": higher, "z": z, "source": source})
out["proportions"] = props

# ---- anytime-valid p-value: the half-normal mixture, integrated ----------
# M = int_0^inf exp(l*W - l^2 t/2) * 2 sqrt(rho/(2 pi)) exp(-rho l^2/2) dl,
# W = z sqrt(t); p = min(1, 1/M). rho = 1/x, x = 2 log(1/a) + log(1+x);
# the boundary is the z where p = a.
def mixture_m(z, t, rho):
    w = z * math.sqrt(t)
    s = t + rho
    mu = w / s
    # Integrate piecewise around the integrand's peak (at mu, or 0), scaled
    # by its maximum so that large W does not overflow.
    peak = max(mu, 0.0)
    logmax = peak * w - peak * peak * s / 2
    f = lambda l: math.exp(l * w - l * l * s / 2 - logmax)
    width = 1 / math.sqrt(s)
    cuts = sorted({0.0} | {peak + k * width for k in (-40, -8, -2, 0, 2, 8, 40) if peak + k * width > 0})
    val = sum(integrate.quad(f, a, b, epsabs=0, epsrel=1e-13, limit=500)[0]
              for a, b in zip(cuts, cuts[1:] + [math.inf]))
    return math.log(val) + logmax + math.log(2 * math.sqrt(rho / (2 * math.pi)))


def mixture_p(z, t, rho):
    lm = mixture_m(z, t, rho)
    return 1.0 if lm <= 0 else math.exp(-lm)


def rho_for(a):
    l = 2 * math.log(1 / a)
    x = optimize.brentq(lambda x: x - l - math.log1p(x), l, 10 * l + 10, xtol=1e-15, rtol=1e-15)
    return 1 / x


mix = []
for a in (0.05, 0.05 / 3, 0.01, 0.001):
    rho = rho_for(a)
    for t in (0.3, 1.0, 2.5, 10.0, 400.0):
        zb = optimize.brentq(lambda z: mixture_m(z, t, rho) + math.log(a), 0.01, 20, xtol=1e-13, rtol=1e-14)
        for z in (-1.0, 0.0, 1.5, 2.5, 3.3, 5.0, 9.0):
            mix.append({"level": a, "rho": rho, "t": t, "z": z, "p": mixture_p(z, t, rho), "boundary": zb})
out["mixture"] = mix

# ---- AUC and DeLong's variance from score histograms ---------------------
def midrank(x):
    return stats.rankdata(x, method="average")


def delong(neg, pos):
    """DeLong (1988) by midranks (Sun and Xu 2014) on expanded samples."""
    m, n = len(pos), len(neg)
    allr = midrank(np.concatenate([pos, neg]))
    pr, nr = midrank(pos), midrank(neg)
    v10 = (allr[:m] - pr) / n          # placements of positives
    v01 = 1 - (allr[m:] - nr) / m      # placements of negatives
    auc = v10.mean()
    return auc, np.var(v10, ddof=1) / m + np.var(v01, ddof=1) / n


aucs = []
for k, (nneg, npos, shift) in enumerate([(40, 25, 10), (300, 120, 25), (2000, 900, 5), (5, 3, 40), (500, 500, 0)]):
    neg = np.clip(np.round(rng.normal(40, 15, nneg)), 0, 99).astype(int)
    pos = np.clip(np.round(rng.normal(40 + shift, 15, npos)), 0, 99).astype(int)
    hist = np.concatenate([np.bincount(neg, minlength=100), np.bincount(pos, minlength=100)])
    auc, var = delong(neg.astype(float), pos.astype(float))
    sk = metrics.roc_auc_score(np.r_[np.zeros(nneg), np.ones(npos)], np.r_[neg, pos])
    assert abs(sk - auc) < 1e-12
    aucs.append({"hist": [int(c) for c in hist], "auc": float(sk), "variance": float(var)})
out["auc"] = aucs

# ---- F1 and its delta-method variance -------------------------------------
# Cells (TP, FP, FN, TN) are multinomial: Cov = (diag(pi) - pi pi^T)/n; the
# gradient of F1(pi) = 2 pi_tp / (2 pi_tp + pi_fp + pi_fn) by central
# differences.
def f1_of(p):
    return 2 * p[0] / (2 * p[0] + p[1] + p[2])


f1s = []
for tp, fp, fn, tn in [(250, 110, 50, 590), (12, 3, 5, 980), (900, 0, 40, 60), (40, 30, 30, 0), (3000, 700, 650, 5650)]:
    counts = np.array([tp, fp, fn, tn], float)
    n = counts.sum()
    p = counts / n
    grad = np.zeros(4)
    for i in range(4):
        h = 1e-6 * max(p[i], 1e-3)
        up, dn = p.copy(), p.copy()
        up[i] += h
        dn[i] -= h
        grad[i] = (f1_of(up) - f1_of(dn)) / (2 * h)
    cov = (np.diag(p) - np.outer(p, p)) / n
    y = np.r_[np.ones(tp), np.zeros(fp), np.ones(fn), np.zeros(tn)]
    yhat = np.r_[np.ones(tp), np.ones(fp), np.zeros(fn), np.zeros(tn)]
    f1s.append({"tp": tp, "fp": fp, "fn": fn, "tn": tn, "f1": float(metrics.f1_score(y, yhat)),
                "variance": float(grad @ cov @ grad)})
out["f1"] = f1s

# ---- regression: MAE and RMSE with their variances from raw errors -------
regs = []
for n, sd in [(30, 1.0), (200, 3.5), (1000, 0.2)]:
    e = np.round(rng.standard_t(5, n) * sd, 4)
    a, sq = np.abs(e), e * e
    regs.append({"errors": [float(x) for x in e], "mae": float(a.mean()), "mae_variance": float(np.var(a) / n),
                 "rmse": float(math.sqrt(sq.mean())),
                 "rmse_variance": float(np.var(sq) / n / (4 * sq.mean()))})
out["regression"] = regs

# ---- agreement rate: Wilson interval --------------------------------------
wil = []
for agree, n, alpha in [(970, 1000, 0.05), (5, 5, 0.05), (0, 12, 0.05), (4321, 5000, 0.01), (1, 3, 0.2)]:
    lo, hi = proportion_confint(agree, n, alpha=alpha, method="wilson")
    wil.append({"agree": agree, "n": n, "alpha": alpha, "low": float(lo), "high": float(hi)})
out["wilson"] = wil

with open("golden.json", "w") as f:
    json.dump(out, f, indent=1)
    f.write("\n")
