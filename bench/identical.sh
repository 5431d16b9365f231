#!/usr/bin/env bash
# Old versus new binary: byte-identical reports, or the differences.
#
#   bench/identical.sh OLD_BIN NEW_BIN
#
# Scans fixtures/*, examples/ and ../shared/corpus/* (where present) with both binaries, one
# scan per directory and format: text, json, sarif, junit and jsonl; a sharded scan (two
# shards as jsonl, then `merge` to text, json and sarif); `atrest model`, `atrest rules`,
# `atrest facts`, the baseline each writes and a scan against it, policies that fail to load,
# and every command's --help. Standard output, standard error and the exit
# code are compared. Prints one line per difference and a summary; exits 1 when anything
# differs. A refactoring that claims "behaviour unchanged" runs this against the commit it
# started from.
set -uo pipefail
if [ $# -ne 2 ]; then
  echo "usage: bench/identical.sh OLD_BIN NEW_BIN" >&2
  exit 2
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Both named `atrest`: usage lines show the program's name.
mkdir "$work/old-bin" "$work/new-bin"
cp "$1" "$work/old-bin/atrest" && cp "$2" "$work/new-bin/atrest" || exit 2
old=$work/old-bin/atrest
new=$work/new-bin/atrest
cd "$(dirname "$0")/.."

targets=()
for d in fixtures/* examples ../shared/corpus/*; do
  [ -d "$d" ] && targets+=("$d")
done

runs=0
diffs=0
# run NAME ARGS...: the same command with both binaries; stdout, stderr and status compared.
run() {
  local name=$1
  shift
  local which
  for which in old new; do
    local bin=$old
    [ "$which" = new ] && bin=$new
    "$bin" "$@" >"$work/$which.out" 2>"$work/$which.err"
    echo $? >"$work/$which.rc"
  done
  runs=$((runs + 1))
  local part
  for part in out err rc; do
    if ! cmp -s "$work/old.$part" "$work/new.$part"; then
      diffs=$((diffs + 1))
      echo "DIFF $name ($part): $*"
      diff "$work/old.$part" "$work/new.$part" | head -n 6 | sed 's/^/    /'
    fi
  done
}

for t in "${targets[@]}"; do
  for f in text json sarif junit jsonl; do
    run "scan $f" scan --color never --format "$f" "$t"
  done
  run "scan verbose" scan --color never --verbose --show-suppressed "$t"
  # A sharded scan and its merge. Parts name paths relative to here, like the scans above.
  for i in 1 2; do
    "$old" scan --shard "$i/2" --format jsonl -o "$work/old-part-$i.jsonl" "$t" 2>/dev/null
    "$new" scan --shard "$i/2" --format jsonl -o "$work/new-part-$i.jsonl" "$t" 2>/dev/null
    runs=$((runs + 1))
    if ! cmp -s "$work/old-part-$i.jsonl" "$work/new-part-$i.jsonl"; then
      diffs=$((diffs + 1))
      echo "DIFF shard $i/2 (jsonl): $t"
    fi
  done
  for f in text json sarif; do
    run "merge $f" merge --color never --format "$f" "$work/old-part-1.jsonl" "$work/old-part-2.jsonl"
  done
  run model model "$t"
  run facts facts "$t"
  # Baselines: the file each binary writes, and the old one's file read by both.
  rm -f "$work/old-baseline.json" "$work/new-baseline.json"
  "$old" scan --write-baseline "$work/old-baseline.json" "$t" >/dev/null 2>&1
  "$new" scan --write-baseline "$work/new-baseline.json" "$t" >/dev/null 2>&1
  runs=$((runs + 1))
  if ! cmp -s "$work/old-baseline.json" "$work/new-baseline.json"; then
    diffs=$((diffs + 1))
    echo "DIFF baseline written: $t"
  fi
  run "scan baseline" scan --color never --format json --report-unused-suppressions \
    --baseline "$work/old-baseline.json" "$t"
done
# Policies that do not load: each is an error naming its file and line, the rest load.
mkdir "$work/policies"
printf 'package bad\n\ndeny contains msg if {\n  msg := \n}\n' >"$work/policies/syntax.rego"
printf 'package bare\n\ndeny contains "x" if { true }\n' >"$work/policies/bare.rego"
printf '# METADATA\n# custom:\n#   id: [\npackage meta\n' >"$work/policies/meta.rego"
run "broken policies" scan --color never --policy "$work/policies" examples
for c in "" scan facts merge collect rules model test "policy new"; do
  run "help $c" $c --help
done
run rules rules
run "rules markdown" rules --format markdown
run "rules show" rules show ATR-L001

echo "identical.sh: $runs comparisons over ${#targets[@]} directories, $diffs differences"
[ "$diffs" -eq 0 ]
