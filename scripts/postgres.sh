#!/usr/bin/env bash
# PostgreSQL, the database the PostgreSQL backend's tests run against.
#
#   scripts/postgres.sh install     install Debian's `postgresql` when no server is installed
#   scripts/postgres.sh start [--durable] DIR
#                                   make a throwaway cluster in DIR (empty or absent; as root it
#                                   is given to the postgres user, since initdb refuses root)
#                                   and start it on a free 127.0.0.1 port; prints
#                                   `export SITEPROOF_TEST_DATABASE_URL=...`; with
#                                   DIR/server.crt and DIR/server.key present, it speaks TLS
#                                   with that certificate and refuses plaintext over TCP
#   scripts/postgres.sh restart DIR stop that cluster and start it again on the same port
#   scripts/postgres.sh stop DIR    stop that cluster and remove DIR
#   scripts/postgres.sh run [--durable] CMD...
#                                   start a cluster in a temporary folder, run CMD with the
#                                   variable set, then stop and remove it (also on failure)
#
# The cluster trusts every local connection and does not fsync: it is for tests only. With
# `--durable` it keeps PostgreSQL's durable defaults instead (fsync, synchronous_commit=on,
# full_page_writes: a commit is on disk when it is acknowledged, as docs/deploy.md asks of
# production and as the embedded SQLite does with synchronous=FULL), for benchmarks that
# compare the two (sync-bench --scale-out). Either way pg_stat_statements is loaded when
# installed, so a test or a benchmark can count the statements a workload runs.
# scripts/test-all.sh starts one for the whole run. By hand:
#   scripts/postgres.sh run cargo test -p siteproof-server --test storage_postgres
set -euo pipefail

# The newest installed server's programs (Debian keeps them out of PATH).
bindir() {
  local d
  d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)
  if [ -n "$d" ] && [ -x "$d/initdb" ]; then
    echo "$d"
  elif command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
    dirname "$(command -v initdb)"
  else
    return 1
  fi
}

install() {
  if bindir >/dev/null; then
    return 0
  fi
  echo "installing Debian's postgresql" >&2
  local sudo_=""
  [ "$(id -u)" -eq 0 ] || sudo_="sudo"
  $sudo_ apt-get update -qq
  $sudo_ env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  bindir >/dev/null || { echo "postgresql installed, but no initdb found" >&2; return 1; }
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Runs a server program as the cluster's owner: the postgres user when we are root.
as_owner() {
  local dir="$1"
  shift
  if [ "$(id -u)" -eq 0 ]; then
    # From inside DIR: the programs look at their working directory, which the postgres user
    # may not be allowed to read.
    (cd "$dir" && runuser -u postgres -- "$@")
  else
    (cd "$dir" && "$@")
  fi
}

start() {
  local durable=0
  if [ "${1:-}" = "--durable" ]; then
    durable=1
    shift
  fi
  local dir="$1"
  install
  local bin port
  bin=$(bindir)
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  [ "$(id -u)" -ne 0 ] || chown postgres: "$dir"
  if ! as_owner "$dir" "$bin/initdb" -D "$dir/data" -U postgres -A trust -E UTF8 \
      --locale=C --no-sync >"$dir/initdb.log" 2>&1; then
    cat "$dir/initdb.log" >&2
    return 1
  fi
  port=$(free_port)
  local tls=""
  if [ -f "$dir/server.crt" ] && [ -f "$dir/server.key" ]; then
    # PostgreSQL refuses a key that others may read.
    chmod 600 "$dir/server.key"
    [ "$(id -u)" -ne 0 ] || chown postgres: "$dir/server.crt" "$dir/server.key"
    tls="-c ssl=on -c ssl_cert_file=$dir/server.crt -c ssl_key_file=$dir/server.key"
    printf '%s\n' 'local all all trust' 'hostssl all all 127.0.0.1/32 trust' \
      'hostnossl all all 127.0.0.1/32 reject' >"$dir/data/pg_hba.conf"
  fi
  # No fsync, as nothing here must survive a crash; unless durable, for a fair benchmark.
  local sync="-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
  [ "$durable" -eq 0 ] || sync="-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
  local preload=""
  [ ! -f "$("$bin/pg_config" --pkglibdir 2>/dev/null || echo /nonexistent)/pg_stat_statements.so" ] ||
    preload="-c shared_preload_libraries=pg_stat_statements"
  # Sockets in DIR (Debian's default socket folder may be missing); enough connections for
  # the tests' pools.
  if ! as_owner "$dir" "$bin/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -w -t 60 \
      -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$dir \
          -c max_connections=300 $sync $preload $tls" start >/dev/null; then
    cat "$dir/postgres.log" >&2 || true
    return 1
  fi
  echo "export SITEPROOF_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:$port/postgres"
}

# pg_ctl restart starts the server with the options of its last start (postmaster.opts).
restart() {
  local dir="$1"
  dir=$(cd "$dir" && pwd)
  if ! as_owner "$dir" "$(bindir)/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" -m fast -w \
      -t 60 restart >/dev/null; then
    cat "$dir/postgres.log" >&2 || true
    return 1
  fi
}

stop() {
  local dir="$1"
  [ -d "$dir" ] || return 0
  if [ -f "$dir/data/postmaster.pid" ]; then
    as_owner "$dir" "$(bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null ||
      echo "stopping the cluster in $dir failed" >&2
  fi
  rm -rf "$dir"
}

run() {
  local durable=()
  if [ "${1:-}" = "--durable" ]; then
    durable=(--durable)
    shift
  fi
  [ $# -gt 0 ] || { echo "usage: postgres.sh run [--durable] CMD..." >&2; return 2; }
  local dir exports
  dir=$(mktemp -d -t siteproof-pg.XXXXXX)
  # shellcheck disable=SC2064 # the folder is fixed now
  trap "stop '$dir'" EXIT
  exports=$(start "${durable[@]}" "$dir")
  eval "$exports"
  "$@"
}

case "${1:-}" in
  install) install ;;
  start) shift; [ $# -gt 0 ] || { echo "usage: postgres.sh start [--durable] DIR" >&2; exit 2; }; start "$@" ;;
  restart) restart "${2:?usage: postgres.sh restart DIR}" ;;
  stop) stop "${2:?usage: postgres.sh stop DIR}" ;;
  run) shift; run "$@" ;;
  *) echo "usage: postgres.sh install | start [--durable] DIR | restart DIR | stop DIR | run [--durable] CMD..." >&2; exit 2 ;;
esac
