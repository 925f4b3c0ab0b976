#!/usr/bin/env bash
# Runs a server command behind a PgBouncer of its own (scripts/pgbouncer.sh, pool_mode = transaction):
#   bench/via-pgbouncer.sh COMMAND [ARGS...]
# It reads PGRST_DB_URI (a postgres:// URI with user and password, as the bench harness gives), starts pgbouncer on a
# free port in front of that host:port with that user and password as its auth file (scram-sha-256), then runs
# COMMAND with PGRST_DB_URI = the pooler, PGRST_DB_LISTENER_URI = the original URI (LISTEN needs a session) and
# PGRST_DB_PREPARED_STATEMENTS = false. The pooler holds as many server connections as PGRST_DB_POOL (default 10),
# so that both sides of a comparison use the same number of PostgreSQL backends. The pooler stops with the command.
# bench/ab.sh --head-via uses it (bench/pgbouncer.sh).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"
# shellcheck source=scripts/pgbouncer.sh
source "$RESTGRES_ROOT/scripts/pgbouncer.sh"
[ $# -ge 1 ] || die "usage: bench/via-pgbouncer.sh COMMAND [ARGS...]"
direct=${PGRST_DB_URI:?PGRST_DB_URI is not set}
# postgres://user:password@host:port/db
[[ "$direct" =~ ^postgres(ql)?://([^:@/]+):([^@/]*)@([^:/]+):([0-9]+)/([^?]+) ]] \
  || die "PGRST_DB_URI must be postgres://user:password@host:port/db, got ${direct%%@*}@..."
user=${BASH_REMATCH[2]} password=${BASH_REMATCH[3]} pg_port=${BASH_REMATCH[5]} db=${BASH_REMATCH[6]}
dir=$(mktemp -d "${TMPDIR:-/tmp}/restgres-via-pgbouncer.XXXXXX")
[ "$(id -u)" != 0 ] || chmod 711 "$dir"
child=""
cleanup() {
  if [ -n "$child" ]; then kill -TERM "$child" 2>/dev/null || true; wait "$child" 2>/dev/null || true; fi
  stop_pgbouncer
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
PGBOUNCER_USERLIST="\"$user\" \"$password\"" \
  PGBOUNCER_PROBE_URI="postgresql://$user:$password@127.0.0.1/$db" \
  start_pgbouncer "$dir/pgbouncer" "$pg_port" "${PGRST_DB_POOL:-10}" || die "pgbouncer did not start"
log "pgbouncer (pool_mode = transaction, pool ${PGRST_DB_POOL:-10}) on port $PGBOUNCER_PORT in front of port $pg_port"
PGRST_DB_URI="postgres://$user:$password@127.0.0.1:$PGBOUNCER_PORT/$db" PGRST_DB_LISTENER_URI="$direct" \
  PGRST_DB_PREPARED_STATEMENTS=false "$@" &
child=$!
wait "$child"
