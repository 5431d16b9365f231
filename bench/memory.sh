#!/usr/bin/env bash
# Peak memory of a scan of many-function templates, per report format, at 1x, 4x and 16x the
# number of functions. Prints the peak RSS, the report's size, and the memory each further
# function costs between the sizes: linear code costs the same per function at every size.
#
#   bench/memory.sh [BINARY] [BASE]   (default: target/release/atrest, 750 functions)
#
# Two templates: functions with nothing but code (findings from every built-in rule), and
# functions with three environment variables (ATR-L009 reads each one). Needs python3 and
# /usr/bin/time. Compare two builds by running it with each; a debug build is fine for ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-${CARGO_TARGET_DIR:-target}/release/atrest}
base=${2:-750}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

python3 - "$work" "$base" <<'PY'
import json, sys
work, base = sys.argv[1], int(sys.argv[2])
for k in (1, 4, 16):
    n = base * k
    bare = {f"Fn{i}": {"Type": "AWS::Lambda::Function",
                       "Properties": {"Code": {"ZipFile": "x"}, "Runtime": "python3.12"}}
            for i in range(n)}
    env = {f"Fn{i}": {"Type": "AWS::Lambda::Function",
                      "Properties": {"Code": {"ZipFile": "x"}, "Runtime": "python3.12",
                                     "Environment": {"Variables": {
                                         "TABLE_NAME": f"t{i}", "LOG_LEVEL": "info",
                                         "DB_PASSWORD": f"hunter{i}xyz"}}}}
           for i in range(n)}
    for name, res in (("bare", bare), ("env", env)):
        with open(f"{work}/{name}-{n}.json", "w") as f:
            json.dump({"Resources": res}, f, indent=1)
PY

printf '%-6s %-6s %7s %10s %9s %11s %9s %12s\n' \
  template format fns "input KB" "seconds" "peak RSS KB" "report KB" "KB/function"
for kind in bare env; do
  for format in json sarif text junit; do
    prev_n=0 prev_rss=0
    for k in 1 4 16; do
      n=$((base * k))
      input="$work/$kind-$n.json"
      # Exit 1 (findings) is expected; 2 (an input or policy failed) is shown by the report.
      /usr/bin/time -f '%e %M' -o "$work/time" \
        "$bin" scan --format "$format" --output "$work/out" "$input" 2>"$work/err" || true
      read -r secs rss < <(tail -n 1 "$work/time")
      per=-
      if [ "$prev_n" -gt 0 ]; then
        per=$(python3 -c "print(f'{($rss - $prev_rss) / ($n - $prev_n):.2f}')")
      fi
      printf '%-6s %-6s %7d %10d %9s %11d %9d %12s\n' "$kind" "$format" "$n" \
        $(($(wc -c <"$input") / 1024)) "$secs" "$rss" $(($(wc -c <"$work/out") / 1024)) "$per"
      grep -m1 '^error' "$work/err" || true
      prev_n=$n prev_rss=$rss
    done
  done
done
