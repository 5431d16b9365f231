#!/usr/bin/env bash
# External SARIF validation: Microsoft's SARIF Multitool (npm: @microsoft/sarif-multitool), with
# its SARIF and GitHub-ingestion rule sets, on the SARIF atrest produces for the fixtures and
# examples. Fails on any error or warning it reports (notes are style advice).
set -euo pipefail
cd "$(dirname "$0")/.."

tool_dir=target/sarif-multitool
if [ ! -x "$tool_dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool" ]; then
  mkdir -p "$tool_dir"
  npm install --prefix "$tool_dir" --no-audit --no-fund --silent @microsoft/sarif-multitool@5.7.0
fi
mt="$tool_dir/node_modules/@microsoft/sarif-multitool-linux/Sarif.Multitool"
chmod +x "$mt"

out=target/sarif-validation
rm -rf "$out" && mkdir -p "$out"
bin=target/debug/atrest
cargo build --quiet
for input in fixtures examples; do
  # Findings exit 1 and broken fixtures would exit 2: only a crash is a failure here.
  set +e
  "$bin" scan --format sarif --output "$out/$input.sarif" "$input"
  code=$?
  set -e
  if [ "$code" -gt 2 ]; then echo "atrest failed on $input (exit $code)"; exit 1; fi
done

status=0
for sarif in "$out"/*.sarif; do
  "$mt" validate --rule-kind "Sarif;Gh" --level "Error;Warning;Note" \
    -o "$sarif.validation" "$sarif" > "$sarif.log" 2>&1 || true
  python3 - "$sarif" "$sarif.validation" <<'PY' || status=1
import json, sys
sarif, report = sys.argv[1], sys.argv[2]
results = json.load(open(report))["runs"][0].get("results", [])
bad = [r for r in results if r.get("level", "warning") in ("error", "warning")]
notes = len(results) - len(bad)
for r in bad:
    msg = r["message"].get("text") or ", ".join(r["message"].get("arguments", []))
    print(f"{sarif}: {r['ruleId']} {r.get('level')}: {msg}")
print(f"{sarif}: {len(bad)} errors/warnings, {notes} notes from the SARIF Multitool")
sys.exit(1 if bad else 0)
PY
done
exit "$status"
