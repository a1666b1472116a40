#!/usr/bin/python3
"""Checks a driftwatch check report against the pandas + scipy baseline.

    /usr/bin/python3 bench/compare.py DW.json PY.json

DW.json is `driftwatch check --out` (features[].name, features[].statistics.
ks.statistic, .ks.p_value, .psi.value, .wasserstein.value); PY.json is
bench/baseline.py's output. Tolerances:

  ks, psi       |dw - py| <= 1e-9
  wasserstein   |dw - py| / |py| <= 1e-9
  ks_p          |dw - py| / |py| <= 1e-6; both < 1e-300 count as equal

Prints one line per feature and the largest differences; exits 1 when any
value is outside its tolerance or a feature is missing on either side.
"""
import json
import math
import sys

TINY = 1e-300


def diff(kind, got, want):
    """Returns (difference, tolerance) for one value."""
    if kind == "ks_p":
        if got < TINY and want < TINY:
            return 0.0, 1e-6
        return abs(got - want) / max(abs(want), TINY), 1e-6
    if kind == "wasserstein":
        return abs(got - want) / max(abs(want), TINY), 1e-9
    return abs(got - want), 1e-9


def main():
    with open(sys.argv[1]) as f:
        dw = {x["name"]: x.get("statistics", {}) for x in json.load(f)["features"]}
    with open(sys.argv[2]) as f:
        py = json.load(f)
    worst = {"ks": 0.0, "ks_p": 0.0, "psi": 0.0, "wasserstein": 0.0}
    ok = True
    for name in sorted(set(dw) - set(py)):
        print(f"MISSING in baseline: {name}")
        ok = False
    print(f"{'feature':8} {'ks':>10} {'ks_p':>11} {'psi':>11} {'wasserstein':>12}   "
          "(driftwatch values; max |diff| per feature below)")
    for name in sorted(py, key=lambda n: (len(n), n)):
        if name not in dw:
            print(f"MISSING in driftwatch report: {name}")
            ok = False
            continue
        s = dw[name]
        try:
            got = {"ks": s["ks"]["statistic"], "ks_p": s["ks"]["p_value"],
                   "psi": s["psi"]["value"], "wasserstein": s["wasserstein"]["value"]}
        except (KeyError, TypeError) as e:
            print(f"MISSING statistic for {name}: {e!r}")
            ok = False
            continue
        diffs = []
        for kind, want in py[name].items():
            g = got[kind]
            if g is None or not math.isfinite(g):
                d, tol = math.inf, 0.0
            else:
                d, tol = diff(kind, g, want)
            worst[kind] = max(worst[kind], d)
            diffs.append(d)
            if not d <= tol:
                ok = False
                print(f"MISMATCH {name} {kind}: driftwatch {g!r} scipy {want!r} (diff {d:.3g} > {tol:g})")
        print(f"{name:8} {got['ks']:10.6f} {got['ks_p']:11.4g} {got['psi']:11.6f} {got['wasserstein']:12.6f}"
              f"   {max(diffs):.2g}")
    print("max differences vs pandas+scipy: ks {ks:.2g} (abs), ks_p {ks_p:.2g} (rel), "
          "psi {psi:.2g} (abs), wasserstein {wasserstein:.2g} (rel)".format(**worst))
    print("agreement: OK" if ok else "agreement: FAILED")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
