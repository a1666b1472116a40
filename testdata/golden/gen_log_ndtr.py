#!/usr/bin/python3
"""Golden values of log Phi(x) for stats.LogNormCDF, from scipy.special.log_ndtr.

Run with Debian's python3 (python3-scipy):
    cd testdata/golden && /usr/bin/python3 gen_log_ndtr.py
Writes log_ndtr.json: a grid from -1e4 to +40, dense where the branches of
the Go code meet (0, -20) and where Phi underflows to subnormals (-37.5).
"""
import json

import numpy as np
import scipy
from scipy import special

xs = set(np.linspace(-40, 40, 1601).tolist())
xs |= set((-np.logspace(np.log10(40), 4, 301)).tolist())
xs |= set(np.linspace(-39, -36, 301).tolist())
for c in (-20.0, 0.0, 6.0, -6.0, -37.5, -38.0):
    xs |= {c, np.nextafter(c, -np.inf), np.nextafter(c, np.inf)}
xs = sorted(xs)
out = {
    "versions": {"scipy": scipy.__version__, "numpy": np.__version__},
    "log_ndtr": [[x, float(special.log_ndtr(x))] for x in xs],
}
with open("log_ndtr.json", "w") as f:
    f.write('{"versions": %s,\n"log_ndtr": [\n' % json.dumps(out["versions"]))
    f.write(",\n".join("[%r, %r]" % (x, y) for x, y in out["log_ndtr"]))
    f.write("\n]}\n")
