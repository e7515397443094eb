#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on loopback for the tests: `.ci/postgres.sh start|stop|url`.
set -euo pipefail

# Port and folder derived from this checkout's path, so two checkouts on one machine each get
# their own cluster; REPORTCYCLE_TEST_PGPORT / REPORTCYCLE_TEST_PGDATA override them.
CHECKOUT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)"
HASH="$(printf '%s' "$CHECKOUT" | cksum | cut -d' ' -f1)"
PGPORT="${REPORTCYCLE_TEST_PGPORT:-$((55400 + HASH % 500))}"
PGDATA="${REPORTCYCLE_TEST_PGDATA:-/tmp/reportcycle-test-pg-$((HASH % 100000))}"
BIN="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
URL="postgresql+psycopg://postgres@127.0.0.1:${PGPORT}/postgres"

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
  start)
    [ -n "$BIN" ] || { echo "PostgreSQL is not installed (.ci/system-deps.sh)" >&2; exit 1; }
    if ! [ -f "$PGDATA/PG_VERSION" ]; then
      mkdir -p "$PGDATA"
      [ "$(id -u)" -eq 0 ] && chown postgres:postgres "$PGDATA"
      as_owner "$BIN/initdb" -D "$PGDATA" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 >/dev/null
    fi
    if ! as_owner "$BIN/pg_ctl" -D "$PGDATA" status >/dev/null 2>&1; then
      as_owner "$BIN/pg_ctl" -D "$PGDATA" -w -l "$PGDATA/server.log" \
        -o "-p $PGPORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start >/dev/null
    fi
    echo "$URL"
    ;;
  stop)
    [ -f "$PGDATA/PG_VERSION" ] && as_owner "$BIN/pg_ctl" -D "$PGDATA" -m fast stop >/dev/null || true
    ;;
  url)
    echo "$URL"
    ;;
  *)
    echo "usage: $0 start|stop|url" >&2
    exit 2
    ;;
esac
