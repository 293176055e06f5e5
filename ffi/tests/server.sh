# Sourced by the test scripts: a real siteproof server for the bindings to talk to.
#
#   start_server DIR   builds `siteproof` (unless SITEPROOF_BIN names a binary to use),
#                      creates group g1 in region hebei, publishes the templates in
#                      content/templates, starts `siteproof serve` on a free loopback port,
#                      and exports SITEPROOF_BIN, SITEPROOF_DATA, SITEPROOF_URL and
#                      SITEPROOF_GROUP. The server stops when the calling script exits.

server_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

start_server() {
  local data="$1"
  local target="${CARGO_TARGET_DIR:-$server_root/target}"
  if [[ -z "${SITEPROOF_BIN:-}" ]]; then
    echo "==> cargo build -p siteproof-cli" >&2
    (cd "$server_root" && cargo build -q -p siteproof-cli) >&2
    export SITEPROOF_BIN="$target/debug/siteproof"
  fi
  export SITEPROOF_DATA="$data"
  export SITEPROOF_GROUP=g1
  rm -rf "$data" && mkdir -p "$data"
  export NO_COLOR=1
  "$SITEPROOF_BIN" admin --data "$data" group create --region hebei --name "第一督导组" --id g1 \
    >/dev/null 2>>"$data/admin.log"
  "$SITEPROOF_BIN" admin --data "$data" template publish "$server_root"/content/templates/*.json \
    >/dev/null 2>>"$data/admin.log"
  NO_COLOR=1 SITEPROOF_LOG=info "$SITEPROOF_BIN" serve --data "$data" --listen 127.0.0.1:0 \
    2>"$data/server.log" &
  server_pid=$!
  trap 'kill "$server_pid" 2>/dev/null; wait "$server_pid" 2>/dev/null' EXIT
  local addr=""
  for _ in $(seq 1 300); do
    addr="$(grep -o 'listening.*addr=[0-9.]*:[0-9]*' "$data/server.log" 2>/dev/null | grep -o '[0-9.]*:[0-9]*$' || true)"
    [[ -n "$addr" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { cat "$data/server.log" >&2; echo "server exited" >&2; return 1; }
    sleep 0.1
  done
  [[ -n "$addr" ]] || { cat "$data/server.log" >&2; echo "server did not start" >&2; return 1; }
  export SITEPROOF_URL="http://$addr"
  echo "==> server at $SITEPROOF_URL (data $data)" >&2
}
