#!/usr/bin/env bash
# pgTAP tests of the A/B dashboard (tests/*.sql), run with pg_prove against a throwaway PostgreSQL cluster: a fresh
# initdb in a temporary directory on a free port, pg_cron preloaded when installed, the migrations applied twice (to
# prove they are idempotent), small deterministic data. The cluster is stopped and deleted on exit, whatever happens.
#
# Usage: examples/ab-dashboard/tests/run.sh [pg_prove options]     (PGBIN overrides /usr/lib/postgresql/15/bin)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
command -v pg_prove >/dev/null || { echo "tests/run.sh: pg_prove not found (package postgresql-15-pgtap)" >&2; exit 1; }
[ -x "$PGBIN/initdb" ] || { echo "tests/run.sh: no initdb in $PGBIN (package postgresql-15)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ab-pgtap.XXXXXX")
as_pg=()
if [ "$(id -u)" = 0 ]; then   # PostgreSQL refuses to run as root
  chown postgres "$work"
  as_pg=(runuser -u postgres --)
fi
cleanup() {
  "${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"${as_pg[@]}" "$PGBIN/initdb" -D "$work/data" -U postgres -A trust --no-sync -E UTF8 >"$work/initdb.log" 2>&1 \
  || { cat "$work/initdb.log" >&2; exit 1; }
{
  echo "listen_addresses = '127.0.0.1'"
  echo "port = $port"
  echo "unix_socket_directories = '$work'"
  echo "fsync = off"
  echo "synchronous_commit = off"
  echo "timezone = 'UTC'"
  if [ -f "$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/pg_cron.so" ]; then
    echo "shared_preload_libraries = 'pg_cron'"
    echo "cron.database_name = 'ab_test'"
    echo "cron.use_background_workers = on"
  fi
} >>"$work/data/postgresql.conf"
"${as_pg[@]}" "$PGBIN/pg_ctl" -D "$work/data" -l "$work/server.log" -w -t 60 start >/dev/null \
  || { cat "$work/server.log" >&2; exit 1; }

export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres PGDATABASE=ab_test
psql -X -q -c 'create database ab_test' -d postgres
# authenticator as `restgres dev` creates it, so that 001_roles.sql's membership grant is exercised too.
psql -X -q -c 'create role authenticator login noinherit'
"$app/migrate.sh" 2>"$work/migrate.log" >/dev/null || { cat "$work/migrate.log" >&2; exit 1; }
"$app/migrate.sh" 2>"$work/migrate.log" >/dev/null || { cat "$work/migrate.log" >&2; exit 1; }
psql -X -q -c 'create extension if not exists pgtap'
# Twice, with a checksum of the first run kept for 06_generator.sql: the same arguments must give the same rows.
gen=("$app/generate.sh" --events 20000 --seed 7 --anchor '2026-01-31 12:00:00+00')
checksum="md5((SELECT string_agg(u::text, ',' ORDER BY id) FROM users u)
              || (SELECT string_agg(e::text, ',' ORDER BY id) FROM events e)
              || (SELECT string_agg(c::text, ',' ORDER BY id) FROM completions c))"
"${gen[@]}" >/dev/null
psql -X -q -c "create table pgtap_first_generation as select $checksum as checksum"
"${gen[@]}" >/dev/null

pg_prove "$@" "$here"/[0-9][0-9]_*.sql
