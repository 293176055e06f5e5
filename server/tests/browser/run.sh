#!/usr/bin/env bash
# Browser tests of the back office: installs what they need (Debian chromium, ffmpeg for the
# demo's video, a CJK font for the PDF notice, playwright-core, xlsx and pdfjs-dist from npm), starts
# `siteproof serve --demo` on 127.0.0.1, runs backoffice.test.mjs with `node --test`, stops
# the server.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)

need_apt=()
command -v chromium >/dev/null || need_apt+=(chromium)
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
[ -f /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf ] || need_apt+=(fonts-droid-fallback)
command -v node >/dev/null || need_apt+=(nodejs npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need_apt[@]}"
fi
if [ ! -d "$here/node_modules/playwright-core" ] || [ ! -d "$here/node_modules/xlsx" ] ||
  [ ! -d "$here/node_modules/pdfjs-dist" ]; then
  (cd "$here" && npm install --no-audit --no-fund --loglevel=error)
fi

(cd "$root" && cargo build -q -p siteproof-cli)
data=$(mktemp -d)
port=${SITEPROOF_TEST_PORT:-18931}
"$root/target/debug/siteproof" serve --demo --data "$data" --listen "127.0.0.1:$port" \
  --demo-templates "$root/content/templates" >"$data/server.log" 2>&1 &
pid=$!
cleanup() {
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  rm -rf "$data"
}
trap cleanup EXIT
for _ in $(seq 1 240); do
  grep -q '^ready:' "$data/server.log" && break
  kill -0 "$pid" 2>/dev/null || { cat "$data/server.log"; exit 1; }
  sleep 0.5
done
grep -q '^ready:' "$data/server.log" || { echo "demo server did not get ready"; tail -50 "$data/server.log"; exit 1; }

SITEPROOF_URL="http://127.0.0.1:$port" node --test --test-concurrency=1 "$here/backoffice.test.mjs"
