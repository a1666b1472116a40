#!/usr/bin/env bash
# End-to-end: `driftwatch check` vs pandas + scipy on the same CSVs, both
# timed in the same run, alternating, ROUNDS times (default 3); prints the
# medians and the ratio, then checks that the numbers agree.
# Needs Debian's python3-pandas and python3-scipy. Usage: bash bench/e2e.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-3}
ROWS=${ROWS:-1000000}
D=bench/data
mkdir -p $D
if [ ! -f $D/reference.csv ] || [ "$(($(wc -l < $D/reference.csv) - 1))" != "$ROWS" ]; then
  go run ./bench/gen -rows "$ROWS" -features 10 -out $D
fi
go build -o $D/driftwatch ./cmd/driftwatch

now() { date +%s.%N; }
median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
dw=() py=() prof=()
$D/driftwatch profile build --input $D/reference.csv --out $D/ref.dwprof 2>/dev/null
for r in $(seq "$ROUNDS"); do
  t0=$(now)
  $D/driftwatch check --reference $D/reference.csv --current $D/current.csv --out $D/dw.json || [ $? -eq 1 ]
  t1=$(now)
  /usr/bin/python3 bench/baseline.py $D/reference.csv $D/current.csv > $D/py.json
  t2=$(now)
  $D/driftwatch check --reference $D/ref.dwprof --current $D/current.csv --out $D/dwp.json || [ $? -eq 1 ]
  t3=$(now)
  dw+=("$(echo "$t1 - $t0" | bc -l)"); py+=("$(echo "$t2 - $t1" | bc -l)"); prof+=("$(echo "$t3 - $t2" | bc -l)")
  echo "round $r: driftwatch ${dw[-1]} s, pandas+scipy ${py[-1]} s, driftwatch with profile ${prof[-1]} s"
done
mdw=$(printf '%s\n' "${dw[@]}" | median)
mpy=$(printf '%s\n' "${py[@]}" | median)
mprof=$(printf '%s\n' "${prof[@]}" | median)
t0=$(now); $D/driftwatch profile build --input $D/reference.csv --out $D/ref.dwprof 2>/dev/null; t1=$(now)
echo "rows: $ROWS + $ROWS x 10 features, $(nproc) cores"
printf 'median driftwatch check (CSV + CSV):      %.3f s\n' "$mdw"
printf 'median pandas + scipy:                    %.3f s\n' "$mpy"
printf 'ratio:                                    %.1fx\n' "$(echo "$mpy / $mdw" | bc -l)"
printf 'median driftwatch check (profile + CSV):  %.3f s (%.1fx); profile build %.3f s\n' "$mprof" "$(echo "$mpy / $mprof" | bc -l)" "$(echo "$t1 - $t0" | bc -l)"
cmp -s $D/dw.json $D/dwp.json && echo "profile and raw reference reports are identical" || { echo "profile and raw reports differ"; exit 1; }
/usr/bin/python3 bench/compare.py $D/dw.json $D/py.json
