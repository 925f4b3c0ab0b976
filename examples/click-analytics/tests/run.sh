#!/usr/bin/env bash
# pgTAP tests of the click analytics database (tests/*.sql), run with pg_prove against a throw-away PostgreSQL cluster
# (scripts/scratch-cluster.sh): the migrations applied twice (they must be idempotent), the seed (55 users, 500
# clicks). Afterwards the function coverage is measured, not assumed: with track_functions = all,
# pg_stat_user_functions lists every function of the schemas auth, api and analytics that the run called; the share
# is printed, and the run fails if any function was never called.
#
# Usage: examples/click-analytics/tests/run.sh [pg_prove options]     (PGBIN overrides /usr/lib/postgresql/15/bin)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
# shellcheck source=../../../scripts/scratch-cluster.sh
source "$app/../../scripts/scratch-cluster.sh"
command -v pg_prove >/dev/null || { echo "tests/run.sh: pg_prove not found (package postgresql-15-pgtap)" >&2; exit 1; }
start_scratch_cluster clicks-pgtap "track_functions = all"

export PGDATABASE=clicks_test
psql -X -q -d postgres -c 'create database clicks_test'
psql -X -q -c 'create role authenticator login noinherit'
"$app/migrate.sh" 2>"$SCRATCH_DIR/migrate.log" >/dev/null || { cat "$SCRATCH_DIR/migrate.log" >&2; exit 1; }
"$app/migrate.sh" 2>"$SCRATCH_DIR/migrate.log" >/dev/null || { cat "$SCRATCH_DIR/migrate.log" >&2; exit 1; }
# What Restgres sets from its config (app.settings.jwt_secret = "$(JWT_SECRET)"), for the functions that sign tokens.
psql -X -q -c "alter database clicks_test set app.settings.jwt_secret = 'pgtap-secret-pgtap-secret-pgtap-secret'"
psql -X -q -c 'create extension if not exists pgtap'
psql -X -q -v ON_ERROR_STOP=1 -f "$app/dev.sql" >/dev/null
psql -X -q -c 'select pg_stat_reset()' >/dev/null

status=0
pg_prove "$@" "$here"/[0-9][0-9]_*.sql || status=$?

# The statistics collector reports a backend's counts when it goes idle; the pg_prove sessions have ended.
sleep 1
psql -X -q -At -F ' ' <<'SQL' >"$SCRATCH_DIR/coverage.txt"
select n.nspname || '.' || p.proname, coalesce(s.calls, 0)
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
left join pg_stat_user_functions s on s.funcid = p.oid
where n.nspname in ('auth', 'api', 'analytics') and p.prokind = 'f'
order by 1
SQL
total=$(wc -l <"$SCRATCH_DIR/coverage.txt")
called=$(awk '$2 > 0' "$SCRATCH_DIR/coverage.txt" | wc -l)
echo "function coverage: $called of $total functions of auth, api and analytics called ($((100 * called / total)) %)"
if [ "$called" -lt "$total" ]; then
  echo "never called:" && awk '$2 == 0 { print "  " $1 }' "$SCRATCH_DIR/coverage.txt"
  status=1
fi
exit $status
