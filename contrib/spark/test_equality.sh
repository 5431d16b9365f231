#!/usr/bin/env bash
# The sharded scan on Spark gives the single scan's SARIF, byte for byte.
#
# Generates a multi-account CloudTrail corpus (with duplicate deliveries and an inventory),
# scans it once with `atrest scan`, once with the Spark driver (local[2], 4 partitions), and
# compares the two reports and exit codes. Installs PySpark into target/spark-venv; needs Java
# 17 or later (installed from Debian's packages when missing and apt-get is usable).
#
#   contrib/spark/test_equality.sh [ATREST_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../.."
repo=$PWD
if [ -n "${1:-}" ]; then
  atrest=$(realpath "$1")
else
  cargo build --quiet --locked
  atrest=$repo/target/debug/atrest
fi

if ! command -v java >/dev/null; then
  if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "== installing Java (Debian's openjdk-17-jre-headless) for Spark"
    apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null
  else
    echo "Spark needs Java 17 or later, and java is not on PATH" >&2
    exit 1
  fi
fi
java -version 2>&1 | head -n 1

venv=target/spark-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c 'import pyspark' 2>/dev/null; then
  echo "== installing PySpark into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'pyspark==4.3.0'
fi
python=$repo/$venv/bin/python
# Spark on one machine: loopback only.
export SPARK_LOCAL_IP=127.0.0.1

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 contrib/spark/make_corpus.py --fixtures fixtures/cloudtrail --out "$work/corpus"
cd "$work"
set +e
"$atrest" scan corpus --format sarif --output single.sarif 2>/dev/null
single=$?
"$python" "$repo/contrib/spark/atrest_spark.py" --atrest "$atrest" \
  --logs corpus/AWSLogs --inventory corpus/infra \
  --partitions 4 --master 'local[2]' --format sarif --output spark.sarif
spark=$?
set -e
results=$("$python" -c 'import json, sys; print(len(json.load(open(sys.argv[1]))["runs"][0]["results"]))' single.sarif)
if [ "$single" != "$spark" ]; then
  echo "FAIL: exit codes differ: single scan $single, Spark $spark" >&2
  exit 1
fi
if ! cmp -s single.sarif spark.sarif; then
  echo "FAIL: the Spark run's SARIF differs from the single scan's:" >&2
  diff single.sarif spark.sarif | head -n 20 >&2
  exit 1
fi
echo "ok: Spark (local[2], 4 partitions) and one scan give the same SARIF ($results results, exit $single)"
