#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the test suite (`make services`), and the Redis server
# binary the multi-process tests start on loopback themselves (installed when missing).
#
# Installs PostgreSQL when initdb/pg_ctl are missing (apt-get; sudo when not root), initialises a
# cluster under $PG_ROOT if there is none, starts it on 127.0.0.1:$PG_PORT if it is not running,
# and creates the test role and database. Running it again changes nothing. The cluster runs as
# the `postgres` user when we are root (PostgreSQL refuses to run as root), else as ourselves.
# The tests read the URL from COPILOT_TEST_POSTGRES_URL (the Makefile sets it); nothing else
# uses this server.
#
#   scripts/test_services.sh          start (or check) the cluster
#   scripts/test_services.sh stop     stop it (the data folder stays)
#   scripts/test_services.sh url      print the SQLAlchemy URL of the test database
set -euo pipefail

PG_ROOT="${PG_ROOT:-/tmp/hotline-pg}"
PG_PORT="${PG_PORT:-55432}"
PG_USER="${PG_USER:-copilot_test}"
PG_PASSWORD="${PG_PASSWORD:-copilot_test}"
PG_DB="${PG_DB:-copilot_test}"
DATA="$PG_ROOT/data"
RUN="$PG_ROOT/run"
LOG="$PG_ROOT/server.log"

say() { printf 'services: %s\n' "$*"; }
die() { printf 'services: error: %s\n' "$*" >&2; exit 1; }

url() { printf 'postgresql+pg8000://%s:%s@127.0.0.1:%s/%s\n' \
  "$PG_USER" "$PG_PASSWORD" "$PG_PORT" "$PG_DB"; }

# The newest server binaries: Debian keeps them in /usr/lib/postgresql/<major>/bin.
find_bindir() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -n "$dir" ] && [ -x "$dir/initdb" ] && [ -x "$dir/pg_ctl" ]; then
    echo "$dir"
  elif command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    dirname "$(command -v pg_ctl)"
  fi
}

install_postgres() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  say "PostgreSQL server binaries not found: installing the postgresql package"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql
}

# Run a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

psql_admin() {
  as_owner psql -X -q -v ON_ERROR_STOP=1 -h "$RUN" -p "$PG_PORT" -d postgres "$@"
}

is_running() {
  [ -f "$DATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" status -D "$DATA" >/dev/null 2>&1
}

case "${1:-start}" in
  url) url; exit 0 ;;
  stop|start) ;;
  *) die "usage: $0 [start|stop|url]" ;;
esac

BIN=$(find_bindir)
if [ "${1:-start}" = stop ]; then
  if [ -n "$BIN" ] && is_running; then
    as_owner "$BIN/pg_ctl" stop -D "$DATA" -m fast -w >/dev/null
    say "stopped the cluster in $DATA"
  else
    say "no cluster running in $DATA"
  fi
  exit 0
fi

if ! command -v redis-server >/dev/null; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  say "redis-server not found: installing the redis-server package"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq redis-server
  # the tests start their own server; the package's system service is not needed
  $sudo systemctl disable --now redis-server >/dev/null 2>&1 || true
fi

if [ -z "$BIN" ]; then
  install_postgres
  BIN=$(find_bindir)
  [ -n "$BIN" ] || die "initdb/pg_ctl still not found after installing postgresql"
fi
if [ "$(id -u)" = 0 ]; then
  id postgres >/dev/null 2>&1 || die "no 'postgres' user to run the cluster as (install postgresql)"
fi

if [ ! -f "$DATA/PG_VERSION" ]; then
  say "initialising a throwaway cluster in $DATA ($("$BIN/postgres" --version))"
  mkdir -p "$PG_ROOT"
  if [ "$(id -u)" = 0 ]; then chown postgres: "$PG_ROOT"; fi
  chmod 700 "$PG_ROOT"
  as_owner mkdir -p "$RUN"
  as_owner "$BIN/initdb" -D "$DATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >"$PG_ROOT/initdb.log" 2>&1 \
    || { cat "$PG_ROOT/initdb.log" >&2; die "initdb failed"; }
fi

if is_running; then
  say "cluster already running on 127.0.0.1:$PG_PORT"
else
  say "starting the cluster on 127.0.0.1:$PG_PORT (log: $LOG)"
  as_owner mkdir -p "$RUN"
  as_owner "$BIN/pg_ctl" start -D "$DATA" -l "$LOG" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -c unix_socket_directories=$RUN -c fsync=off" \
    >/dev/null || { tail -n 20 "$LOG" >&2 || true; die "the cluster did not start"; }
fi

if [ "$(psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != 1 ]; then
  say "creating role $PG_USER"
  psql_admin -c "CREATE ROLE $PG_USER LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
fi
if [ "$(psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != 1 ]; then
  say "creating database $PG_DB"
  psql_admin -c "CREATE DATABASE $PG_DB OWNER $PG_USER"
fi
say "ready: COPILOT_TEST_POSTGRES_URL=$(url)"
