#!/usr/bin/env bash
# Runs test binaries again and again to find tests that fail one run in N (outside CI: it takes
# long). Usage: scripts/flake-hunt.sh RUNS TEST... where TEST is a test target name such as
# sync_http or tus_resume. Each failing run's output is kept under target/flake-hunt/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:?usage: scripts/flake-hunt.sh RUNS TEST...}"
shift
out="$PWD/target/flake-hunt"
mkdir -p "$out"
args=()
for t in "$@"; do args+=(--test "$t"); done
# Build once, then run the binaries directly (cargo's own start-up is not what we test).
mapfile -t bins < <(cargo test --workspace --exclude siteproof-ffi --exclude siteproof-uniffi-bindgen \
  "${args[@]}" --no-run --message-format=json 2>/dev/null |
  python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        print(m["target"]["name"] + " " + m["executable"] + " " + m["manifest_path"])')
total_fail=0
for entry in "${bins[@]}"; do
  read -r name bin manifest <<<"$entry"
  fails=0
  start=$(date +%s)
  for i in $(seq 1 "$runs"); do
    # Tests find their fixtures relative to their crate, as under cargo test.
    if ! (cd "$(dirname "$manifest")" && "$bin" -q >"$out/$name.$i.log" 2>&1); then
      fails=$((fails + 1))
      echo "FAIL $name run $i: $out/$name.$i.log"
    else
      rm -f "$out/$name.$i.log"
    fi
  done
  echo "$name: $((runs - fails))/$runs passed in $(( $(date +%s) - start )) s"
  total_fail=$((total_fail + fails))
done
[ "$total_fail" -eq 0 ]
