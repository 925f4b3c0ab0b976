#!/usr/bin/env bash
# pgTAP tests of the Floyo database (tests/*.sql), run with pg_prove against a throw-away PostgreSQL cluster
# (scripts/scratch-cluster.sh): the migrations applied twice (a fresh, then an already-migrated database: they must be
# idempotent), the seed (dev.sql), then the master migration once more over the seeded data (tests/01 checks nothing
# was lost). Function coverage is measured: every function of auth, api and app must be called by the run.
#
# Usage: examples/floyo/tests/run.sh [pg_prove options]     (PGBIN overrides /usr/lib/postgresql/15/bin)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
# shellcheck source=../../../scripts/scratch-cluster.sh
source "$app/../../scripts/scratch-cluster.sh"
start_scratch_cluster floyo-pgtap "track_functions = all"
prepare_app_database "$app" floyo_test
# The schema as the migrations leave it, against check.expect and the lints (docs/check.md); reported, and failing
# the run, after the pgTAP tests.
check_status=0
check_app_database "$app" || check_status=$?
psql -X -q -v ON_ERROR_STOP=1 -f "$app/dev.sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -f "$app/dev.sql" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -c "create table public.seed_counts as select (select count(*) from api.file_events) as file_events,
  (select count(*) from api.telemetry_events) as telemetry, (select count(*) from api.privacy_settings) as settings"
for f in "$app"/supabase/migrations/*_master.sql; do
  psql -X -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null
done
pgtap_with_coverage "auth api app" "$here"/[0-9][0-9]_*.sql -- "$@" || exit $?
[ "$check_status" = 0 ] || { echo "restgres check failed (exit $check_status)" >&2; exit 1; }
