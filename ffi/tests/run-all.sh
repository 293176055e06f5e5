#!/usr/bin/env bash
# Every mobile-binding check: builds the library and generates the bindings once, then runs
# the Kotlin suite (JVM, real server), the Python suite (real server), the Android demo's
# core-logic tests (JVM, real server) and the Swift symbol check of the iOS demo.
# Exits non-zero if any fails. (The ffi crate's own Rust tests run with `cargo test`.)
set -uo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }
failed=()

step "Build siteproof-ffi and generate Kotlin, Swift and Python bindings"
ffi/build-bindings.sh >/dev/null || { echo "bindings build failed"; exit 1; }
export SKIP_BINDINGS=1

step "Kotlin binding tests (JVM, real server)"
ffi/tests/run-kotlin.sh || failed+=(kotlin)

step "Python binding tests (real server)"
ffi/tests/run-python.sh || failed+=(python)

step "Android demo: core-logic tests (JVM, real server)"
android-demo/test-jvm.sh || failed+=(android-core-logic)

step "iOS demo: binding symbols exist in the generated Swift"
python3 ios-demo/check_symbols.py --self-test || failed+=(swift-symbols)

if ((${#failed[@]})); then
  printf '\nmobile bindings: FAILED: %s\n' "${failed[*]}"
  exit 1
fi
printf '\nmobile bindings: all passed\n'
