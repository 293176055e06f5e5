#!/usr/bin/env bash
# Garage, the S3-compatible server the object-storage tests run against.
#
#   scripts/garage.sh install   build Garage 2.5.0 once into ~/.cache/siteproof-tools (about 6
#                               minutes on two cores); does nothing when the binary is there
#   scripts/garage.sh path      print the binary's path
#   scripts/garage.sh start DIR start a single node in DIR on free 127.0.0.1 ports, apply its
#                               layout, import a key and create bucket "siteproof"; prints
#                               `export AWS_...` lines and GARAGE_PID; stop with `kill $GARAGE_PID`
#
# The tests start their own nodes (server/tests/s3_fixture/garage.rs runs `start`);
# `start` is for trying the server by hand:
#   eval "$(scripts/garage.sh start /tmp/g)"; siteproof serve --blobs s3://siteproof/evidence
set -euo pipefail

VERSION=2.5.0
ROOT="${SITEPROOF_TOOLS:-$HOME/.cache/siteproof-tools}/garage-$VERSION"
BIN="$ROOT/bin/garage"

install() {
  if [ -x "$BIN" ]; then
    return 0
  fi
  echo "building Garage $VERSION into $ROOT (once; about 6 minutes)" >&2
  # Optimised a little: the tests need a working server, not the fastest one.
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_TARGET_DIR="$ROOT/build" \
    cargo install garage --version "$VERSION" --locked --no-default-features \
    --features lmdb,bundled-libs --root "$ROOT"
  rm -rf "$ROOT/build"
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

start() {
  local dir="$1"
  install
  mkdir -p "$dir/meta" "$dir/data"
  local rpc s3 admin
  rpc=$(free_port); s3=$(free_port); admin=$(free_port)
  cat >"$dir/garage.toml" <<EOF
metadata_dir = "$dir/meta"
data_dir = "$dir/data"
db_engine = "lmdb"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:$s3"
root_domain = ".s3.garage.localhost"
[admin]
api_bind_addr = "127.0.0.1:$admin"
EOF
  "$BIN" -c "$dir/garage.toml" server >"$dir/garage.log" 2>&1 &
  local pid=$!
  local g=("$BIN" -c "$dir/garage.toml")
  local tries=0
  until "${g[@]}" status >/dev/null 2>&1; do
    tries=$((tries + 1))
    if [ $tries -gt 100 ] || ! kill -0 $pid 2>/dev/null; then
      echo "Garage did not start; see $dir/garage.log" >&2
      kill $pid 2>/dev/null || true
      return 1
    fi
    sleep 0.1
  done
  local node
  node=$("${g[@]}" node id -q | cut -d@ -f1)
  "${g[@]}" layout assign -z dc1 -c 1G "$node" >/dev/null
  "${g[@]}" layout apply --version 1 >/dev/null
  local key_id="GK$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  local secret
  secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
  "${g[@]}" key import --yes -n siteproof "$key_id" "$secret" >/dev/null
  "${g[@]}" bucket create siteproof >/dev/null
  "${g[@]}" bucket allow --read --write --owner siteproof --key siteproof >/dev/null
  cat <<EOF
export AWS_ENDPOINT_URL=http://127.0.0.1:$s3
export AWS_REGION=garage
export AWS_ACCESS_KEY_ID=$key_id
export AWS_SECRET_ACCESS_KEY=$secret
export AWS_ALLOW_HTTP=true
export GARAGE_PID=$pid
EOF
}

case "${1:-}" in
  install) install ;;
  path) echo "$BIN" ;;
  start) start "${2:?usage: garage.sh start DIR}" ;;
  *) echo "usage: garage.sh install | path | start DIR" >&2; exit 2 ;;
esac
