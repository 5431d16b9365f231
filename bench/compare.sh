#!/usr/bin/env bash
# Side-by-side speed and memory of atrest and Checkov on the shared corpus, measured in one run
# with alternating executions, so machine noise hits both tools alike.
#
#   bench/compare.sh [RUNS]        (default 5 runs per tool and corpus)
#
# Needs ../shared/corpus beside the repository, python3 (for the Checkov virtualenv),
# /usr/bin/time and hyperfine. Prints median wall time, median peak RSS and the ratio per
# corpus; the median for a generated 10,000-resource template; start-up time on one small
# template; and CloudTrail throughput beside its floor (cargo bench --bench cloudtrail).
#
#   bench/compare.sh scaling       (only the scaling check below)
#   bench/compare.sh trails ...    (only CloudTrail from S3 and peak RSS of firing rules; below)
#
# Scaling: cargo bench --bench scaling times single-line JSON, wide YAML maps and
# many-function templates at 1x, 4x and 16x; this fails when time grows worse than n log n.
set -euo pipefail
cd "$(dirname "$0")/.."

# check_scaling: each group's time at k times the elements may be at most k log(kn) / log(n)
# times its time at n elements, with 50 % for noise and caches (quadratic code is 4x to 16x
# over that).
check_scaling() {
  echo "== scaling: 1x, 4x, 16x (cargo bench --bench scaling)"
  local log
  if ! log=$(cargo bench --quiet --bench scaling 2>&1); then
    echo "$log" | tail -n 30
    return 1
  fi
  python3 - "${CARGO_TARGET_DIR:-target}/criterion" <<'PY'
import json, math, pathlib, sys
root = pathlib.Path(sys.argv[1])
failed = False
for group in sorted(root.glob("scaling_*")):
    runs = sorted(
        (int(d.name), json.loads((d / "new/estimates.json").read_text())["mean"]["point_estimate"])
        for d in group.iterdir() if d.name.isdigit() and (d / "new/estimates.json").exists())
    if len(runs) < 2:
        continue
    (n0, t0) = runs[0]
    for n, t in runs[1:]:
        k = n / n0
        allowed = 1.5 * k * math.log(n) / math.log(n0)
        ok = t / t0 <= allowed
        failed |= not ok
        print(f"{group.name:28} {n0:>7} -> {n:>7}: {t0 / 1e6:9.2f} -> {t / 1e6:9.2f} ms, x{t / t0:6.1f} "
              f"(n log n allows x{allowed:.1f}) {'ok' if ok else 'WORSE THAN N LOG N'}")
sys.exit(1 if failed else 0)
PY
}
if [ "${1:-}" = scaling ]; then
  check_scaling
  exit
fi
# Trails: CloudTrail read from S3 (moto on loopback) against the same objects on disk, and the
# peak RSS of a large generated log where one rule fires on every event against none firing.
#
#   bench/compare.sh trails [BINARY] [EVENTS] [S3_EVENTS] [RUNS]
#
# BINARY is built with the `aws` feature (default: a release build of it); EVENTS (default 10
# million) for the memory runs, S3_EVENTS (default 1 million) for the S3 runs, in 100 objects.
# Needs moto_server (ATREST_MOTO_SERVER, default: on PATH), a python with boto3
# (ATREST_MOTO_PYTHON, default: python3) and /usr/bin/time.
# Goals: CPU time per event within 10 % of the local scan's; the firing scan's peak RSS under
# 150 MB and within 1.5x of the quiet one's.
if [ "${1:-}" = trails ]; then
  bin=${2:-}
  if [ -z "$bin" ]; then
    cargo build --release --quiet --locked --features aws
    bin=${CARGO_TARGET_DIR:-target}/release/atrest
  fi
  bin=$(realpath "$bin")
  events=${3:-10000000} s3_events=${4:-1000000} runs=${5:-3}
  moto_server=${ATREST_MOTO_SERVER:-$(command -v moto_server || true)}
  [ -x "$moto_server" ] || { echo "needs moto_server (pip install 'moto[server]')"; exit 1; }
  moto_python=${ATREST_MOTO_PYTHON:-python3}
  work=$(mktemp -d)
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "$moto_server" -H 127.0.0.1 -p "$port" >"$work/moto.log" 2>&1 &
  moto_pid=$!
  trap 'kill $moto_pid 2>/dev/null; rm -rf "$work"' EXIT
  endpoint=http://127.0.0.1:$port
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
    AWS_EC2_METADATA_DISABLED=true AWS_CONFIG_FILE="$work/none" AWS_SHARED_CREDENTIALS_FILE="$work/none"
  # run NAME ARGS...: one timed scan; appends "wall cpu kb events" to $work/NAME.
  run() {
    local name=$1
    shift
    /usr/bin/time -f '%e %U %S %M' -o "$work/time" "$bin" scan --quiet --format json \
      --output "$work/out.json" "$@" 2>"$work/err" || true
    if grep -q '^error' "$work/err"; then head -n 3 "$work/err"; exit 1; fi
    local ev
    ev=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["cloudtrail"]["events"])' "$work/out.json")
    tail -n 1 "$work/time" | awk -v ev="$ev" '{ print $1, $2 + $3, $4, ev }' >> "$work/times-$name"
  }
  # summary NAME: medians of wall s, CPU s, peak KB, and the events.
  summary() {
    python3 - "$work/times-$1" <<'PY'
import statistics, sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1]) if l.strip()]
print(*(statistics.median(c) for c in zip(*rows)))
PY
  }

  echo "== S3 (moto on loopback) against the same $s3_events events on disk, $runs runs each, alternating"
  mkdir -p "$work/s3"
  python3 bench/trail_logs.py "$work/s3" "$s3_events" 100
  for _ in $(seq 1 100); do
    curl -sf "$endpoint/moto-api/" >/dev/null && break
    sleep 0.2
  done
  "$moto_python" tests/moto/s3_upload.py "$endpoint" atrest-bench dir "$work/s3/logs" logs/ >/dev/null
  for _ in $(seq "$runs"); do
    run local "$work/s3/fire.yaml" "$work/s3/logs"
    run s3 "$work/s3/fire.yaml" s3://atrest-bench/logs/ --endpoint-url "$endpoint"
  done
  read -r lw lc _ le < <(summary local)
  read -r sw sc _ se < <(summary s3)
  awk -v lw="$lw" -v lc="$lc" -v le="$le" -v sw="$sw" -v sc="$sc" -v se="$se" 'BEGIN {
    printf "%-6s %10s %10s %14s\n", "", "wall s", "CPU s", "CPU us/event"
    printf "%-6s %10.2f %10.2f %14.3f\n", "local", lw, lc, lc / le * 1e6
    printf "%-6s %10.2f %10.2f %14.3f\n", "S3", sw, sc, sc / se * 1e6
    printf "S3/local: wall x%.2f, CPU per event x%.2f (goal: within x1.10)\n", sw / lw, (sc / se) / (lc / le)
  }'

  echo
  echo "== peak RSS: $events generated events, one rule firing on every one against none"
  mkdir -p "$work/big"
  python3 bench/trail_logs.py "$work/big" "$events" 100
  for _ in $(seq "$runs"); do
    run fire "$work/big/fire.yaml" "$work/big/logs"
    run quiet "$work/big/quiet.yaml" "$work/big/logs"
  done
  read -r fw _ fk fe < <(summary fire)
  read -r qw _ qk _ < <(summary quiet)
  awk -v fw="$fw" -v fk="$fk" -v fe="$fe" -v qw="$qw" -v qk="$qk" 'BEGIN {
    printf "%.0f events: firing %.1f MB (%.1f s), none firing %.1f MB (%.1f s): x%.2f (goal: under 150 MB, within x1.5)\n",
      fe, fk / 1024, fw, qk / 1024, qw, fk / qk
  }'
  exit
fi
runs=${1:-5}
corpus=../shared/corpus
[ -d "$corpus" ] || { echo "skipping: $corpus is absent"; exit 0; }
command -v /usr/bin/time >/dev/null || { echo "needs /usr/bin/time (Debian package 'time')"; exit 1; }
command -v hyperfine >/dev/null || { echo "needs hyperfine (Debian package 'hyperfine')"; exit 1; }

echo "== building atrest (release)"
cargo build --release --quiet
atrest=$PWD/target/release/atrest

venv=target/bench/checkov-venv
if [ ! -x "$venv/bin/checkov" ]; then
  echo "== installing Checkov into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check checkov
fi
checkov=$PWD/$venv/bin/checkov
echo "atrest $("$atrest" --version | cut -d' ' -f2), checkov $("$checkov" --version)"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# One directory per corpus, so each tool sees exactly the same files.
mkdir -p "$work/iac" "$work/terraform"
cp -r "$corpus/cfn" "$corpus/sam" "$work/iac/"
cp -r "$corpus/terraform" "$work/terraform/"

# measure TOOL DIR -> "seconds kilobytes" (exit codes for findings are expected)
measure() {
  local out
  out=$(/usr/bin/time -f "%e %M" "$@" 2>&1 >/dev/null | tail -n 1 || true)
  echo "$out"
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }

printf '\n%-10s %-8s %12s %12s\n' corpus tool "median s" "peak RSS MB"
for name in iac terraform; do
  dir="$work/$name"
  frameworks=cloudformation
  [ "$name" = terraform ] && frameworks="terraform terraform_plan"
  : > "$work/a.t"; : > "$work/a.m"; : > "$work/c.t"; : > "$work/c.m"
  for _ in $(seq "$runs"); do
    read -r t m < <(measure "$atrest" scan --quiet --format json --output /dev/null "$dir")
    echo "$t" >> "$work/a.t"; echo "$m" >> "$work/a.m"
    # shellcheck disable=SC2086
    read -r t m < <(measure "$checkov" --quiet --compact -o json --framework $frameworks -d "$dir")
    echo "$t" >> "$work/c.t"; echo "$m" >> "$work/c.m"
  done
  at=$(median < "$work/a.t"); am=$(median < "$work/a.m")
  ct=$(median < "$work/c.t"); cm=$(median < "$work/c.m")
  awk -v n="$name" -v at="$at" -v am="$am" -v ct="$ct" -v cm="$cm" 'BEGIN {
    printf "%-10s %-8s %12.3f %12.1f\n", n, "atrest", at, am / 1024
    printf "%-10s %-8s %12.3f %12.1f\n", n, "checkov", ct, cm / 1024
    printf "%-10s %-8s %11.1fx\n", n, "speed-up", ct / (at > 0 ? at : 0.005)
  }' 
done

echo
echo "== a 10,000-resource template (2,500 each of keys, functions, mappings, log groups)"
python3 - "$work/big.yaml" <<'PY'
import sys
out = ["AWSTemplateFormatVersion: '2010-09-09'", "Resources:"]
for i in range(2500):
    key = "alias/aws/lambda" if i % 2 == 0 else f"!GetAtt Key{i}.Arn"
    out += [
        f"  Key{i}:", "    Type: AWS::KMS::Key", "    Properties:", "      EnableKeyRotation: true",
        f"  Fn{i}:", "    Type: AWS::Lambda::Function", "    Properties:", "      Code: {ZipFile: x}",
        f"      KmsKeyArn: {key}", "      Environment:", "        Variables:", f"          TABLE: t{i}",
        f"  Map{i}:", "    Type: AWS::Lambda::EventSourceMapping", "    Properties:",
        f"      FunctionName: !Ref Fn{i}",
        f"      EventSourceArn: arn:aws:sqs:us-east-1:111122223333:q{i}",
        "      FilterCriteria:", "        Filters:", "          - Pattern: '{\"body\": [1]}'",
        f"  Logs{i}:", "    Type: AWS::Logs::LogGroup", "    Properties:",
        f"      LogGroupName: !Sub /aws/lambda/${{Fn{i}}}",
    ]
open(sys.argv[1], "w").write("\n".join(out) + "\n")
PY
: > "$work/b.t"; : > "$work/b.m"
for _ in $(seq "$runs"); do
  read -r t m < <(measure "$atrest" scan --quiet --format json --output /dev/null "$work/big.yaml")
  echo "$t" >> "$work/b.t"; echo "$m" >> "$work/b.m"
done
printf '%-24s median %.3f s, peak RSS %.1f MB (goal: under 1 s)\n' "10,000 resources" \
  "$(median < "$work/b.t")" "$(median < "$work/b.m" | awk '{ print $1 / 1024 }')"

echo
echo "== start-up: one small template, as a pre-commit hook runs it (goal: under 20 ms)"
small=fixtures/rules/ATR-L001/fail_cfn_no_key.yaml
hyperfine --warmup 5 --runs 50 --shell=none -i --style basic \
  "$atrest scan --quiet --format json --output /dev/null $small" 2>&1 | grep -E "Time|Range"

echo
check_scaling

echo
echo "== CloudTrail: atrest against the decompress+parse floor (cargo bench --bench cloudtrail)"
cargo bench --quiet --bench cloudtrail
