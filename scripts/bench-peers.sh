#!/usr/bin/env bash
# siteproof beside its peers, on this machine, in one run, on the same workload sizes.
#
#   scripts/bench-peers.sh sync    sync-bench beside the automerge-repo 2.5 sync server: a fresh
#                                  device pulling 1,000 visits (the peer with 50 finds in flight,
#                                  its best setting), one changed answer, 100 devices x 50 changes
#                                  each waiting for the server's acknowledgement (~10 minutes)
#   scripts/bench-peers.sh media   media_bench beside the tus peer: tus-js-client into siteproof
#                                  and into @tus/server, siteproof's own client, and the durable
#                                  limit (nginx PUT + fsync, dd conv=fsync) (~15 minutes at 2 GiB)
#   scripts/bench-peers.sh all     both, sync first
#
# Each prints a table `measure | siteproof | peer | ratio` (ratio = siteproof / peer).
# The peers are read from SITEPROOF_PEERS (default: ../shared/peers beside the project root),
# copied into a scratch folder (BENCH_PEERS_TMP, default /tmp) and installed there with
# `npm ci`; nginx comes from apt when missing. Every timed step holds /tmp/peer-bench.lock,
# so no two benchmarks share the machine. Everything binds 127.0.0.1; every process started
# here is stopped on exit and the scratch folder removed. docs/benchmarks.md says what each
# figure measures.
#
# BENCH_PEERS_NO_BUILD=1 runs the release binaries already in the target folder without
# building them first. Media options (environment): MEDIA_BENCH_BYTES (default 2 GiB),
# MEDIA_BENCH_ROUNDS (3), MEDIA_BENCH_SETTLE (seconds of quiet before each upload, 10). The
# scratch folder needs about 3 x MEDIA_BENCH_BYTES free.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
PEERS=${SITEPROOF_PEERS:-$ROOT/../shared/peers}
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
LOCK=/tmp/peer-bench.lock
export CARGO_INCREMENTAL=0

SCRATCH=$(mktemp -d "${BENCH_PEERS_TMP:-/tmp}/bench-peers.XXXXXX")
STEP_PID=
cleanup() {
  # Each step runs in its own process group (setsid): stop the whole group, servers included.
  if [ -n "$STEP_PID" ]; then
    kill -TERM -- "-$STEP_PID" 2>/dev/null || true
    sleep 1
    kill -KILL -- "-$STEP_PID" 2>/dev/null || true
  fi
  rm -rf "$SCRATCH"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# `step DIR CMD...`: runs CMD in DIR, in its own process group, under the benchmark lock, and
# waits for it.
step() {
  local dir=$1
  shift
  setsid env -C "$dir" flock "$LOCK" "$@" &
  STEP_PID=$!
  local rc=0
  wait "$STEP_PID" || rc=$?
  STEP_PID=
  return "$rc"
}

need() {
  command -v "$1" >/dev/null || { echo "bench-peers: $1 is needed ($2)" >&2; exit 1; }
}

build() {
  if [ "${BENCH_PEERS_NO_BUILD:-0}" != 1 ]; then
    (cd "$ROOT" && cargo build --release "$@")
  fi
}

# A writable copy of one peer's folder with its npm dependencies installed.
peer_copy() {
  local name=$1
  [ -d "$PEERS/$name" ] || { echo "bench-peers: no $PEERS/$name (set SITEPROOF_PEERS)" >&2; exit 1; }
  cp -r "$PEERS/$name" "$SCRATCH/$name"
  chmod -R u+w "$SCRATCH/$name"
  (cd "$SCRATCH/$name" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
}

bench_sync() {
  need node "Node.js 20 runs the automerge-repo peer"
  need flock "util-linux"
  [ -x /usr/bin/time ] || { echo "bench-peers: /usr/bin/time is needed (apt-get install time)" >&2; exit 1; }
  build -p siteproof-tests --bin sync-bench
  peer_copy automerge-repo
  local am=$SCRATCH/automerge-repo ours=$SCRATCH/sync-bench
  mkdir -p "$ours"
  # The peer's progress lines go to a log, shown when its seeding fails.
  local log=$SCRATCH/automerge-repo.log
  echo "== automerge-repo: seeding 1,000 and 100 visits (setup, not compared)" >&2
  step "$am" ./bench.sh seed n1000 1000 >/dev/null 2>>"$log" || { cat "$log" >&2; exit 1; }
  step "$am" ./bench.sh seed n100 100 >/dev/null 2>>"$log" || { cat "$log" >&2; exit 1; }
  # Interleaved: the peer's pull, siteproof's whole benchmark, then the peer's other stages.
  # A peer stage that fails leaves `"ok": false` in its JSON, which the table shows.
  echo "== automerge-repo: fresh device pulls 1,000 visits, 50 finds in flight" >&2
  step "$am" ./bench.sh pull n1000 requested 50 >/dev/null 2>>"$log" || true
  echo "== siteproof: sync-bench" >&2
  step "$ours" env TMPDIR="$ours" "$TARGET/release/sync-bench" --figures "$ours/figures.txt" \
    >"$ours/sync-bench.txt"
  cat "$ours/sync-bench.txt" >&2
  echo "== automerge-repo: one changed answer, 1,000 visits on both devices" >&2
  step "$am" ./bench.sh incremental n1000 requested 20 >/dev/null 2>>"$log" || true
  echo "== automerge-repo: 100 devices x 50 changes, each acknowledged before the next" >&2
  step "$am" ./bench.sh concurrent n100 100 50 requested 4 >/dev/null 2>>"$log" || true
  node "$ROOT/scripts/bench-peers-table.mjs" "$ours/figures.txt" "$am/out"
}

bench_media() {
  need node "Node.js 20 runs @tus/server and tus-js-client"
  need curl "curl -T is the nginx PUT client"
  need openssl "openssl speed is the SHA-256 reference"
  need flock "util-linux"
  if ! command -v nginx >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
      apt-get install -y nginx >/dev/null
    else
      echo "bench-peers: nginx is needed (apt-get install nginx)" >&2
      exit 1
    fi
  fi
  build -p siteproof-server --example media_bench --example tus_server --example tus_upload
  peer_copy tus
  # The same tus-js-client install drives both servers: siteproof's upload script beside the
  # peer's.
  cp "$ROOT/tests/tus-js/upload.mjs" "$SCRATCH/tus/siteproof-upload.mjs"
  # and the endpoint that keeps nothing: the client's own ceiling.
  cp "$ROOT/tests/tus-js/sink.mjs" "$SCRATCH/tus/sink.mjs"
  step "$SCRATCH" env MEDIA_BENCH_DIR="$SCRATCH" MEDIA_BENCH_TUS_PEER="$SCRATCH/tus" \
    "$TARGET/release/examples/media_bench"
}

case "${1:-}" in
  sync) bench_sync ;;
  media) bench_media ;;
  all) bench_sync; bench_media ;;
  *) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2 ;;
esac
