#!/bin/sh
# End-to-end wall time of `driftwatch estimate` against the pandas +
# scikit-learn baseline on the same files (1M current rows, 100k reference
# rows), both runs' numbers compared. Run from the repository root:
#     sh bench/estimate/run.sh [DIR]
set -eu
dir=${1:-bench/estimate/data}
[ -f "$dir/current.csv" ] || /usr/bin/python3 bench/estimate/gen.py "$dir"
go build -o "$dir/driftwatch" ./cmd/driftwatch
best() { # best of three wall times in seconds of the command "$@"
	b=
	for _ in 1 2 3; do
		s=$(date +%s.%N); "$@" >"$dir/out.json"; e=$(date +%s.%N)
		t=$(echo "$e - $s" | bc)
		if [ -z "$b" ] || [ "$(echo "$t < $b" | bc)" = 1 ]; then b=$t; fi
	done
	echo "$b"
}
go_s=$(best "$dir/driftwatch" estimate --reference "$dir/reference.csv" --current "$dir/current.csv" \
	--label y --score score --prediction pred --calibration always)
cp "$dir/out.json" "$dir/go.json"
py_s=$(best /usr/bin/python3 bench/estimate/baseline.py "$dir/reference.csv" "$dir/current.csv")
cp "$dir/out.json" "$dir/py.json"
/usr/bin/python3 - "$dir/go.json" "$dir/py.json" <<'PY'
import json, sys
g = json.load(open(sys.argv[1]))["chunks"][0]["estimated"]
p = json.load(open(sys.argv[2]))
for k, v in p.items():
    assert abs(g[k] - v) <= 1e-9 * max(1, abs(v)), (k, g[k], v)
print("numbers agree to 1e-9:", ", ".join(sorted(p)))
PY
echo "driftwatch estimate: ${go_s} s   pandas+scikit-learn: ${py_s} s   ratio: $(echo "scale=1; $py_s / $go_s" | bc)x"
