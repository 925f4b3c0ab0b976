#!/usr/bin/env bash
# pgTAP tests of the A/B dashboard (tests/*.sql), run with pg_prove against a throwaway PostgreSQL cluster: a fresh
# initdb in a temporary directory on a free port, pg_cron preloaded when installed, the migrations applied twice
# (restgres migrate, then every file again: they must be idempotent), small deterministic data. The cluster is stopped
# and deleted on exit, whatever happens.
#
# Usage: examples/ab-dashboard/tests/run.sh [pg_prove options]     (PGBIN overrides /usr/lib/postgresql/15/bin)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
# shellcheck source=../../../scripts/scratch-cluster.sh
source "$app/../../scripts/scratch-cluster.sh"
command -v pg_prove >/dev/null || { echo "tests/run.sh: pg_prove not found (package postgresql-15-pgtap)" >&2; exit 1; }
cron=()
have_pg_cron && cron=("shared_preload_libraries = 'pg_cron'" "cron.database_name = 'ab_test'" "cron.use_background_workers = on")
start_scratch_cluster ab-pgtap "${cron[@]}"
work=$SCRATCH_DIR

export PGDATABASE=ab_test
psql -X -q -c 'create database ab_test' -d postgres
# authenticator as `restgres dev` creates it, so that 001_roles.sql's membership grant is exercised too.
psql -X -q -c 'create role authenticator login noinherit'
"$app/migrate.sh" 2>"$work/migrate.log" >/dev/null || { cat "$work/migrate.log" >&2; exit 1; }
reapply_migrations "$app"
# The schema as the migrations leave it, against check.expect and the lints (docs/check.md): public is the exposed
# schema, as `restgres dev` serves it. Reported, and failing the run, after the pgTAP tests.
check_status=0
PGRST_DB_SCHEMAS=public PGRST_DB_ANON_ROLE=anon check_app_database "$app" || check_status=$?
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
[ "$check_status" = 0 ] || { echo "restgres check failed (exit $check_status)" >&2; exit 1; }
