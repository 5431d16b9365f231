#!/usr/bin/env bash
# `pip install atrest-cli` as a user gets it: builds the wheel (pypi/pyproject.toml, maturin) from
# what the test step already compiled (same dev profile, same target directory: only the atrest
# crate is linked again), installs  it into a fresh venv without an index, and runs the installed
# `atrest`: --version, a scan of examples/, the completion script and the manual pages. Leaves
# target/wheels holding the wheel and the setuptools the pre-commit shim builds with, for the
# python hooks' test (ATREST_WHEELHOUSE).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
wheels=$root/target/wheels

tools=target/maturin-venv
if [ ! -x "$tools/bin/maturin" ]; then
  python3 -m venv "$tools"
  "$tools/bin/pip" install --quiet --disable-pip-version-check 'maturin==1.16.0'
fi
rm -rf "$wheels"
mkdir -p "$wheels"
# setuptools for the pre-commit shim (pyproject.toml), so that its test runs without an index.
"$tools/bin/pip" download --quiet --disable-pip-version-check --no-deps --dest "$wheels" 'setuptools==80.9.0'

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
start=$SECONDS
(cd pypi && CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}" "$root/$tools/bin/maturin" build --locked --profile dev --out "$wheels")
echo "wheel built in $((SECONDS - start)) s:"
ls -l "$wheels"/atrest_cli-*.whl

venv=target/wheel-venv
rm -rf "$venv"
start=$SECONDS
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-index --find-links "$wheels" "atrest-cli==$version"
echo "fresh venv with the wheel installed in $((SECONDS - start)) s"

atrest=$venv/bin/atrest
[ "$(command -v "$atrest")" = "$atrest" ] || { echo "the wheel installed no atrest executable"; exit 1; }
got=$("$atrest" --version)
[ "$got" = "atrest $version" ] || { echo "atrest --version printed '$got', expected 'atrest $version'"; exit 1; }
echo "$got"

# The README's scan: examples/ has findings (exit 1), and no input error (exit 2).
set +e
"$atrest" scan --format json examples/ >target/wheel-scan.json
status=$?
set -e
[ "$status" = 1 ] || { echo "the scan of examples/ exited $status, expected 1 (findings)"; exit 1; }
"$tools/bin/python" - target/wheel-scan.json <<'PY'
import json, sys
doc = json.load(open(sys.argv[1]))
assert doc["findings"], "no findings in examples/"
assert not doc["errors"], doc["errors"]
print(f"scan of examples/ from the wheel: {len(doc['findings'])} findings")
PY

# Completions and manual pages from the installed binary.
"$atrest" completions bash >target/atrest.bash
bash -n target/atrest.bash
rm -rf target/man
"$atrest" man --dir target/man/man1
for page in target/man/man1/*.1; do
  warnings=$(LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z "$page" 2>&1)
  [ -z "$warnings" ] || { echo "$page: $warnings"; exit 1; }
done
MANPAGER=cat MANWIDTH=100 man -l target/man/man1/atrest-scan.1 | grep -q -- '--fail-on'
echo "completions and $(find target/man/man1 -name "*.1" | wc -l) manual pages checked"
