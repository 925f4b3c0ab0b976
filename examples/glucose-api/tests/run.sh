#!/usr/bin/env bash
# pgTAP tests of the glucose API's database (tests/*.sql), run with pg_prove against a throw-away PostgreSQL cluster
# (scripts/scratch-cluster.sh): the migrations applied twice (they must be idempotent), 30 days of generated readings,
# the marts refreshed. Afterwards the function coverage is measured, not assumed: with track_functions = all,
# pg_stat_user_functions lists every function of the schemas auth, api, raw, marts and sandbox that the run called; the share
# is printed, and the run fails if any function was never called.
#
# Usage: examples/glucose-api/tests/run.sh [pg_prove options]     (PGBIN overrides /usr/lib/postgresql/15/bin)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
# shellcheck source=../../../scripts/scratch-cluster.sh
source "$app/../../scripts/scratch-cluster.sh"
start_scratch_cluster glucose-pgtap "track_functions = all"
prepare_app_database "$app" glucose_test
# The schema as the migrations leave it, against check.expect and the lints (docs/check.md); reported, and
# failing the run, after the pgTAP tests.
check_status=0
check_app_database "$app" || check_status=$?
psql -X -q -c "select raw.generate_readings(30, 0.42, '2026-01-31 00:00:00+00')" >/dev/null
psql -X -q -c 'select marts.refresh()' >/dev/null
pgtap_with_coverage "auth api raw marts sandbox" "$here"/[0-9][0-9]_*.sql -- "$@" || exit $?
[ "$check_status" = 0 ] || { echo "restgres check failed (exit $check_status)" >&2; exit 1; }
