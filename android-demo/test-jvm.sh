#!/usr/bin/env bash
# Compiles the Android demo's non-UI module (android-demo/core-logic) with kotlinc against the
# generated Kotlin bindings and runs its tests on the JVM, against a real server. No Gradle or
# Android SDK needed. Builds the bindings first unless SKIP_BINDINGS=1.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
source "$root/ffi/tests/kotlin-env.sh"
source "$root/ffi/tests/server.sh"

ensure_jvm_tools
[[ "${SKIP_BINDINGS:-0}" == 1 ]] || "$root/ffi/build-bindings.sh" >/dev/null
bindings="$(bindings_jar)"
lib_dir="$target_dir/${PROFILE:-debug}"
coroutines="$KOTLIN_LIB/kotlinx-coroutines-core-jvm.jar"

scratch="$target_dir/ffi-tests/android-core-logic"
rm -rf "$scratch" && mkdir -p "$scratch"
start_server "$scratch/server"

jar="$tools/android-core-logic-tests.jar"
echo "==> kotlinc: android-demo/core-logic (main + test)" >&2
"$KOTLINC" -nowarn -classpath "$bindings:$JNA_JAR:$coroutines:$KOTLIN_LIB/kotlin-test.jar" -d "$jar" \
  $(find "$here/core-logic/src/main/kotlin" "$here/core-logic/src/test/kotlin" -name '*.kt')

echo "==> running the core-logic tests" >&2
SITEPROOF_SCRATCH="$scratch/tmp" SITEPROOF_REPO="$root" \
  java -Djna.library.path="$lib_dir" \
  -cp "$jar:$bindings:$JNA_JAR:$coroutines:$KOTLIN_LIB/kotlin-stdlib.jar:$KOTLIN_LIB/kotlin-test.jar" \
  org.siteproof.demo.logic.HarnessKt
