#!/usr/bin/python3
"""Checks that driftwatch's report (dw.json) agrees with the pandas+scipy
baseline (py.json): statistics to 1e-9, p-values to 1e-6 relative."""
import json
import sys

dw = {f["name"]: f["statistics"] for f in json.load(open(sys.argv[1]))["features"]}
py = json.load(open(sys.argv[2]))
worst = {"ks": 0.0, "ks_p": 0.0, "psi": 0.0, "wasserstein": 0.0}
ok = True
for name, b in py.items():
    s = dw[name]
    got = {"ks": s["ks"]["statistic"], "ks_p": s["ks"]["p_value"], "psi": s["psi"]["value"],
           "wasserstein": s["wasserstein"]["value"]}
    for k, want in b.items():
        g = got[k]
        if k == "ks_p":
            err = 0.0 if (g < 1e-300 and want < 1e-300) else abs(g - want) / max(abs(want), 1e-300)
            bad = err > 1e-6
        elif k == "wasserstein":
            err = abs(g - want) / max(abs(want), 1.0)
            bad = err > 1e-9
        else:
            err = abs(g - want)
            bad = err > 1e-9
        worst[k] = max(worst[k], err)
        if bad:
            ok = False
            print(f"MISMATCH {name} {k}: driftwatch {g!r} scipy {want!r}")
print("max differences vs pandas+scipy: " + ", ".join(f"{k} {v:.2g}" for k, v in worst.items()))
sys.exit(0 if ok else 1)
