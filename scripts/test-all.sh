#!/usr/bin/env bash
# Runs every test siteproof has, installing what they need first. This is the README's test
# command and what CI runs (.ci/run). Safe to run again: installs are skipped when present.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }
# A one-off build gains nothing from incremental artefacts; they would only fill the disk.
export CARGO_INCREMENTAL=0

step "System packages: libssl-dev (SQLCipher, the phone store's encryption, links libcrypto), fonts-droid-fallback (the CJK font of the office's PDF reports)"
missing=()
dpkg -s libssl-dev >/dev/null 2>&1 || missing+=(libssl-dev)
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || missing+=(fonts-droid-fallback)
if [ ${#missing[@]} -gt 0 ]; then
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

step "Test tools: tuspy (a standard tus client the media tests upload with)"
python3 -c "import tusclient" 2>/dev/null || python3 -m pip install --quiet tuspy

step "Schemathesis (PyPI), the API fuzzer the schemathesis test runs from /v1/openapi.json (a venv in ~/.cache/siteproof-tools)"
st_venv="$HOME/.cache/siteproof-tools/schemathesis"
[ -x "$st_venv/bin/schemathesis" ] || {
  python3 -m venv "$st_venv" 2>/dev/null || {
    sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
    $sudo_ apt-get update -qq
    $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv
    rm -rf "$st_venv"; python3 -m venv "$st_venv"
  }
  "$st_venv/bin/pip" install --quiet "schemathesis>=4.32,<5"
}

step "JavaScript sync client (tests/js-client: @automerge/automerge, cborg) for the js_client test"
command -v npm >/dev/null || {
  sudo_=""; [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs npm
}
[ -d tests/js-client/node_modules/@automerge/automerge ] && [ -d tests/js-client/node_modules/cborg ] ||
  (cd tests/js-client && npm ci --no-audit --no-fund --loglevel=error)

step "tus-js-client, the standard JavaScript tus client (tests/tus-js) for the tus_js_client test"
[ -d tests/tus-js/node_modules/tus-js-client ] ||
  (cd tests/tus-js && npm ci --no-audit --no-fund --loglevel=error)

step "Garage 2.5.0 (the S3-compatible server the object-storage tests start; built once, cached in ~/.cache/siteproof-tools)"
scripts/garage.sh install

step "PostgreSQL (Debian's postgresql): a throwaway cluster on a free 127.0.0.1 port for the PostgreSQL backend's tests, removed when this script ends"
scripts/postgres.sh install
pg_dir=$(mktemp -d -t siteproof-pg.XXXXXX)
# Set before the start, so that a cluster that half started is removed too.
trap 'scripts/postgres.sh stop "$pg_dir"' EXIT
pg_exports=$(scripts/postgres.sh start "$pg_dir")
eval "$pg_exports" # exports SITEPROOF_TEST_DATABASE_URL, which the PostgreSQL tests require

step "Rust workspace tests (core, server, cli, cross-crate scenarios)"
cargo test --workspace --exclude siteproof-ffi --exclude siteproof-uniffi-bindgen

step "The HTTP suites of sync, back office, evidence, uploads and content again, each test server (and the server processes of tus_resume and tus_s3) on a fresh PostgreSQL database"
SITEPROOF_TEST_BACKEND=postgres cargo test -p siteproof-server \
  --test sync_api --test sync_refusals --test hardening --test backoffice_http --test ledger \
  --test evidence --test visibility --test office_forms --test enterprises --test directory \
  --test admin --test login_limits --test tus_api --test tus_resume --test tus_s3 --test supervision

step "FFI crate (built on its own, so uniffi's command-line feature stays out of the library)"
cargo test -p siteproof-ffi

step "Mobile bindings: Kotlin and Python against a real server, Android demo logic, Swift symbols"
# The server binary the workspace tests just built serves these tests too (no second build).
if [ -x target/debug/siteproof ]; then export SITEPROOF_BIN="$PWD/target/debug/siteproof"; fi
ffi/tests/run-all.sh

step "Back office in a real browser (Debian chromium driven by playwright-core)"
server/tests/browser/run.sh

step "Format and lint"
cargo fmt --all -- --check
cargo clippy --workspace --exclude siteproof-ffi --exclude siteproof-uniffi-bindgen --all-targets -- -D warnings
cargo clippy -p siteproof-ffi -p siteproof-uniffi-bindgen --all-targets -- -D warnings
