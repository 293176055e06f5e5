# Sourced by the JVM test scripts: provides a Kotlin compiler, JNA, and the generated Kotlin
# bindings compiled once into a jar (recompiled only when the bindings change).
#
# After sourcing: KOTLIN_HOME, KOTLINC, JNA_JAR, KOTLIN_LIB; `bindings_jar` prints the jar.

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
target_dir="${CARGO_TARGET_DIR:-$repo_root/target}"
tools="$target_dir/ffi-tools"
kotlin_version=2.4.20
KOTLIN_HOME="$tools/kotlin-compiler-$kotlin_version/package"
KOTLINC="$KOTLIN_HOME/bin/kotlinc-jvm"
KOTLIN_LIB="$KOTLIN_HOME/lib"
JNA_JAR=/usr/share/java/jna.jar

ensure_jvm_tools() {
  command -v java >/dev/null || { echo "a JDK (17+) is needed: apt-get install -y openjdk-17-jdk-headless" >&2; return 1; }
  if [[ ! -x "$KOTLINC" ]]; then
    echo "==> fetching kotlin-compiler@$kotlin_version (npm) into $tools" >&2
    mkdir -p "$tools/kotlin-compiler-$kotlin_version"
    (cd "$tools/kotlin-compiler-$kotlin_version" \
      && npm pack --silent "kotlin-compiler@$kotlin_version" >/dev/null \
      && tar xzf "kotlin-compiler-$kotlin_version.tgz")
    chmod +x "$KOTLIN_HOME"/bin/*
  fi
  if [[ ! -f "$JNA_JAR" ]]; then
    echo "==> installing JNA (apt: libjna-java)" >&2
    apt-get install -y libjna-java >/dev/null 2>&1 || { apt-get update >/dev/null && apt-get install -y libjna-java >/dev/null; }
  fi
}

# Compiles target/bindings/kotlin into a jar, reusing the last one if the sources are unchanged.
bindings_jar() {
  local src="$target_dir/bindings/kotlin" jar="$tools/siteproof-bindings.jar"
  local stamp="$jar.sha256" sum
  sum="$(find "$src" -name '*.kt' -print0 | sort -z | xargs -0 sha256sum | sha256sum | cut -d' ' -f1)"
  if [[ ! -f "$jar" || "$(cat "$stamp" 2>/dev/null)" != "$sum" ]]; then
    echo "==> kotlinc: generated bindings -> $jar" >&2
    "$KOTLINC" -nowarn -classpath "$JNA_JAR" -d "$jar" $(find "$src" -name '*.kt') >&2
    echo "$sum" >"$stamp"
  fi
  echo "$jar"
}
