#!/usr/bin/env bash
# Kotlin on the JVM over the generated bindings, against a real server: builds the library
# and bindings (unless SKIP_BINDINGS=1), fetches kotlinc and JNA if missing, starts
# `siteproof serve`, compiles ffi/tests/kotlin and runs it. Exits non-zero on any failure;
# the last line is `N passed, M failed`.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
source "$here/kotlin-env.sh"
source "$here/server.sh"

ensure_jvm_tools
[[ "${SKIP_BINDINGS:-0}" == 1 ]] || "$root/ffi/build-bindings.sh" >/dev/null
lib_dir="$target_dir/${PROFILE:-debug}"
bindings="$(bindings_jar)"

scratch="$target_dir/ffi-tests/kotlin"
rm -rf "$scratch" && mkdir -p "$scratch"
start_server "$scratch/server"

tests_jar="$tools/siteproof-kotlin-tests.jar"
echo "==> kotlinc: ffi/tests/kotlin" >&2
"$KOTLINC" -nowarn -classpath "$bindings:$JNA_JAR:$KOTLIN_LIB/kotlin-test.jar" -d "$tests_jar" \
  "$here"/kotlin/*.kt

echo "==> running the Kotlin binding tests" >&2
cd "$root"
SITEPROOF_SCRATCH="$scratch/tmp" SITEPROOF_REPO="$root" \
  java -Djna.library.path="$lib_dir" \
  -cp "$tests_jar:$bindings:$JNA_JAR:$KOTLIN_LIB/kotlin-stdlib.jar:$KOTLIN_LIB/kotlin-test.jar" \
  org.siteproof.tests.MainKt
