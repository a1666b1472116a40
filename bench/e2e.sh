#!/usr/bin/env bash
# End-to-end benchmark: `driftwatch check` against pandas + scipy on the same
# two CSVs (1M reference + 1M current rows x 10 numeric features by default),
# both timed in the same run. The machine is shared and noisy, so the sides
# alternate within each round (the order flips every round) and the script
# reports medians and their ratio, not single runs.
#
#   bash bench/e2e.sh                 # from anywhere; ROUNDS=3 by default
#   ROUNDS=5 bash bench/e2e.sh
#
# Per round it times, as whole processes (date +%s.%N deltas; peak RSS from
# /usr/bin/time; dw and dwp DW_REPS times each):
#   dw     driftwatch check --reference reference.csv --current current.csv
#   py     /usr/bin/python3 bench/baseline.py  (pandas.read_csv, ks_2samp,
#          decile PSI, wasserstein_distance)
#   build  driftwatch profile build --input reference.csv --out ref.dwprof
#   dwp    driftwatch check --reference ref.dwprof --current current.csv
# then checks that both driftwatch reports agree with scipy
# (bench/compare.py) and exits non-zero if they do not.
#
# Env: ROUNDS (3), DW_REPS (3: driftwatch check runs of each kind per round),
# ROWS (1000000), FEATURES (10), DW_REV (build driftwatch from this commit
# instead of the working tree), DW_BIN (run this driftwatch binary instead of
# building one: to compare builds made elsewhere while others' uncommitted
# edits break the working tree's build). Needs Go and Debian's python3-pandas
# and python3-scipy under /usr/bin/python3. Data, binary and reports go to
# bench/data/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."

ROUNDS=${ROUNDS:-3}
DW_REPS=${DW_REPS:-3}
ROWS=${ROWS:-1000000}
FEATURES=${FEATURES:-10}
D=bench/data
DW=$D/driftwatch
PY=/usr/bin/python3
REF=$D/reference.csv
CUR=$D/current.csv
PROF=$D/ref.dwprof
mkdir -p "$D"

# Data: regenerate when missing or written by other flags or another version
# of the generator.
stamp="rows=$ROWS features=$FEATURES gen=$(sha256sum bench/gen/main.go | cut -c1-16)"
if [ ! -f "$REF" ] || [ ! -f "$CUR" ] || [ "$(cat "$D/gen.stamp" 2>/dev/null)" != "$stamp" ]; then
  echo "generating $ROWS + $ROWS rows x $FEATURES features ..."
  rm -f "$D/gen.stamp"
  go run ./bench/gen -rows "$ROWS" -features "$FEATURES" -out "$D"
  echo "$stamp" > "$D/gen.stamp"
fi

# The binary: DW_BIN as given, or with DW_REV=REV built from that commit
# exported to a temporary directory (uncommitted edits elsewhere in the repo
# left out; useful while others are editing), or from the working tree. The
# data generator, baseline and comparison always come from the working tree.
if [ -n "${DW_BIN:-}" ]; then
  DW=$DW_BIN
  echo "using $DW (DW_BIN, $(sha256sum "$DW" | cut -c1-12))"
elif [ -n "${DW_REV:-}" ]; then
  rev=$(git rev-parse --verify "$DW_REV^{commit}")
  echo "building $DW from commit $rev (git archive, uncommitted changes left out) ..."
  src=$(mktemp -d)
  git archive "$rev" | tar -x -C "$src"
  (cd "$src" && go build -o "$OLDPWD/$DW" ./cmd/driftwatch)
  rm -rf "$src"
else
  echo "building $DW from the working tree ($(git rev-parse --short HEAD)$(git diff --quiet HEAD -- . ':!bench' && [ -z "$(git ls-files --others --exclude-standard -- . ':!bench')" ] || echo ' + uncommitted changes')) ..."
  go build -o "$DW" ./cmd/driftwatch
fi

now() { date +%s.%N; }
sub() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# timed NAME CMD...: runs CMD under /usr/bin/time, leaves its wall time in
# T_NAME (seconds), user + system CPU time in CPU_NAME (seconds), peak RSS in
# RSS_NAME (MiB) and exit code in RC_NAME.
# Exit codes 0 and 1 pass (driftwatch check exits 1 when it finds drift);
# anything else stops the script.
timed() {
  local name=$1 t0 t1 rc=0
  shift
  t0=$(now)
  /usr/bin/time -f '%M %U %S' -o "$D/time.$name" "$@" 2> "$D/stderr.$name" || rc=$?
  t1=$(now)
  if [ "$rc" -gt 1 ]; then
    echo "FAILED ($name, exit $rc): $*" >&2
    cat "$D/stderr.$name" >&2
    exit 1
  fi
  printf -v "T_$name" '%s' "$(sub "$t1" "$t0")"
  printf -v "RSS_$name" '%s' "$(tail -n1 "$D/time.$name" | awk '{ printf "%.0f", $1 / 1024 }')"
  printf -v "CPU_$name" '%s' "$(tail -n1 "$D/time.$name" | awk '{ printf "%.2f", $2 + $3 }')"
  printf -v "RC_$name" '%s' "$rc"
}

run_dw() {
  for _ in $(seq "$DW_REPS"); do
    rm -f "$D/dw.json"
    timed dw "$DW" check --reference "$REF" --current "$CUR" --out "$D/dw.json"
    dw+=("$T_dw"); rdw+=("$T_dw"); cpudw+=("$CPU_dw")
  done
}
run_py() { rm -f "$D/py.json"; timed py "$PY" bench/baseline.py "$REF" "$CUR" > "$D/py.json"; }
run_build() { rm -f "$PROF"; timed build "$DW" profile build --input "$REF" --out "$PROF"; }
run_dwp() {
  for _ in $(seq "$DW_REPS"); do
    rm -f "$D/dwp.json"
    timed dwp "$DW" check --reference "$PROF" --current "$CUR" --out "$D/dwp.json"
    dwp+=("$T_dwp"); rdwp+=("$T_dwp")
  done
}

# Both sides read the CSVs from the page cache.
cat "$REF" "$CUR" > /dev/null

echo "go: $(go version | cut -d' ' -f3-), python: $($PY -c 'import sys, pandas, numpy, scipy; print(sys.version.split()[0], "pandas", pandas.__version__, "numpy", numpy.__version__, "scipy", scipy.__version__)')"
echo "cores: $(nproc), load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "rows: $ROWS + $ROWS x $FEATURES features, $(du -m "$REF" | cut -f1) + $(du -m "$CUR" | cut -f1) MiB CSV, rounds: $ROUNDS, driftwatch runs per round: $DW_REPS"
dw=() py=() build=() dwp=() cpudw=() cpupy=()
# run_dw and run_dwp run DW_REPS times each per round: a sub-second process
# samples the neighbours' load spikes where a 13 s one averages over them,
# so the driftwatch medians get more samples.
for r in $(seq "$ROUNDS"); do
  rdw=() rdwp=()
  if [ $((r % 2)) -eq 1 ]; then
    run_dw; run_py; run_build; run_dwp
  else
    run_py; run_build; run_dwp; run_dw
  fi
  py+=("$T_py"); build+=("$T_build"); cpupy+=("$CPU_py")
  printf 'round %d: driftwatch %s s (%s MiB, exit %s) | pandas+scipy %s s (%s MiB; %s) | profile build %s s | driftwatch from profile %s s (exit %s) | round ratio %sx\n' \
    "$r" "${rdw[*]}" "$RSS_dw" "$RC_dw" "$T_py" "$RSS_py" "$(tail -n1 "$D/stderr.py")" "$T_build" "${rdwp[*]}" "$RC_dwp" \
    "$(div "$T_py" "$(printf '%s\n' "${rdw[@]}" | median)")"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"

mdw=$(printf '%s\n' "${dw[@]}" | median)
mpy=$(printf '%s\n' "${py[@]}" | median)
mbuild=$(printf '%s\n' "${build[@]}" | median)
mdwp=$(printf '%s\n' "${dwp[@]}" | median)
ratio=$(div "$mpy" "$mdw")
echo
echo "== summary (medians of $ROUNDS pandas+scipy runs and $((ROUNDS * DW_REPS)) runs of each driftwatch check) =="
printf 'driftwatch check (CSV + CSV):          %7.3f s\n' "$mdw"
printf 'pandas + scipy:                        %7.3f s\n' "$mpy"
printf 'ratio pandas+scipy / driftwatch:       %7.1fx  (target >= 20x: %s)\n' "$ratio" \
  "$(awk -v r="$ratio" 'BEGIN { print (r >= 20 ? "met" : "NOT met") }')"
printf 'fastest runs: driftwatch %.3f s, pandas + scipy %.3f s, ratio %sx\n' \
  "$(printf '%s\n' "${dw[@]}" | sort -g | head -n1)" "$(printf '%s\n' "${py[@]}" | sort -g | head -n1)" \
  "$(div "$(printf '%s\n' "${py[@]}" | sort -g | head -n1)" "$(printf '%s\n' "${dw[@]}" | sort -g | head -n1)")"
printf 'CPU time (user + sys): driftwatch %.2f s, pandas + scipy %.2f s, ratio %sx\n' \
  "$(printf '%s\n' "${cpudw[@]}" | median)" "$(printf '%s\n' "${cpupy[@]}" | median)" \
  "$(div "$(printf '%s\n' "${cpupy[@]}" | median)" "$(printf '%s\n' "${cpudw[@]}" | median)")"
printf 'profile build (reference.csv):         %7.3f s\n' "$mbuild"
printf 'driftwatch check (profile + CSV):      %7.3f s  (%sx; %sx including the build)\n' "$mdwp" \
  "$(div "$mpy" "$mdwp")" "$(div "$mpy" "$(awk -v a="$mdwp" -v b="$mbuild" 'BEGIN { print a + b }')")"

echo
echo "== agreement with pandas + scipy (last round) =="
status=0
if cmp -s "$D/dw.json" "$D/dwp.json"; then
  echo "dw.json and dwp.json (profile reference) are byte-identical"
else
  echo "dw.json and dwp.json (profile reference) differ"
fi
echo "-- driftwatch check, CSV reference:"
$PY bench/compare.py "$D/dw.json" "$D/py.json" || status=1
echo "-- driftwatch check, profile reference:"
$PY bench/compare.py "$D/dwp.json" "$D/py.json" || status=1
exit $status
