#!/usr/bin/env bash
# The sharded scan on Spark gives the single scan's SARIF, byte for byte.
#
# Generates a multi-account CloudTrail corpus (with duplicate deliveries and an inventory),
# scans it once with `atrest scan`, once with the Spark driver (local[2], 4 partitions), and
# compares the two reports and exit codes. Installs PySpark into target/spark-venv; needs Java
# 17 or later (installed from Debian's packages when missing and apt-get is usable).
#
# With ATREST_MOTO_ENDPOINT (a moto server's URL) and ATREST_MOTO_PYTHON (a Python with boto3),
# as .ci/run sets them, the same logs are also uploaded to a bucket there and read in place, by
# `atrest scan s3://...` and by the Spark driver given the s3:// prefix (the binary must be
# built with the `aws` feature). The two S3 reports must be the same byte for byte, and say what
# the local scan says, result for result, once the objects' `s3://BUCKET/` is taken out
# (contrib/spark/sarif_same.py). ATREST_REQUIRE_MOTO=1 makes the S3 run's absence a failure.
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

if [ -z "${ATREST_MOTO_ENDPOINT:-}" ] || [ -z "${ATREST_MOTO_PYTHON:-}" ]; then
  if [ "${ATREST_REQUIRE_MOTO:-}" = 1 ]; then
    echo "FAIL: ATREST_MOTO_ENDPOINT and ATREST_MOTO_PYTHON are not set: the S3 run cannot run" >&2
    exit 1
  fi
  echo "skipped: the run on S3 (ATREST_MOTO_ENDPOINT and ATREST_MOTO_PYTHON are not set)"
  exit 0
fi
# Test credentials, and nothing from the user's AWS configuration.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 \
  AWS_CONFIG_FILE="$work/no-config" AWS_SHARED_CREDENTIALS_FILE="$work/no-credentials" \
  AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_REGION
# Unique per run: the server outlives the test. The keys are the local paths, so the S3
# reports name corpus/AWSLogs/... as s3://BUCKET/corpus/AWSLogs/...
bucket="atrest-spark-$$-$(date +%s%N)"
"$ATREST_MOTO_PYTHON" "$repo/tests/moto/s3_upload.py" "$ATREST_MOTO_ENDPOINT" "$bucket" \
  dir corpus/AWSLogs corpus/AWSLogs/ >/dev/null
set +e
"$atrest" scan corpus/infra "s3://$bucket/corpus/" --endpoint-url "$ATREST_MOTO_ENDPOINT" \
  --format sarif --output s3.sarif 2>/dev/null
s3=$?
"$python" "$repo/contrib/spark/atrest_spark.py" --atrest "$atrest" \
  --logs "s3://$bucket/corpus/" --inventory corpus/infra --endpoint-url "$ATREST_MOTO_ENDPOINT" \
  --partitions 4 --master 'local[2]' --format sarif --output spark-s3.sarif
spark_s3=$?
set -e
if [ "$single" != "$s3" ] || [ "$single" != "$spark_s3" ]; then
  echo "FAIL: exit codes differ: single scan $single, scan of S3 $s3, Spark on S3 $spark_s3" >&2
  exit 1
fi
if ! cmp -s s3.sarif spark-s3.sarif; then
  echo "FAIL: Spark on S3 gives another SARIF than atrest scan s3://:" >&2
  diff s3.sarif spark-s3.sarif | head -n 20 >&2
  exit 1
fi
if ! "$python" "$repo/contrib/spark/sarif_same.py" "s3://$bucket/" single.sarif s3.sarif; then
  echo "FAIL: the scan of S3 says other than the local scan (see above)" >&2
  exit 1
fi
echo "ok: atrest scan s3:// and Spark on S3 (moto) give the local scan's SARIF ($results results, exit $single)"
