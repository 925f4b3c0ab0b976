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
start_scratch_cluster clicks-pgtap "track_functions = all"
prepare_app_database "$app" clicks_test
# The schema as the migrations leave it, against check.expect and the lints (docs/check.md); reported, and
# failing the run, after the pgTAP tests.
check_status=0
check_app_database "$app" || check_status=$?
psql -X -q -v ON_ERROR_STOP=1 -f "$app/dev.sql" >/dev/null
pgtap_with_coverage "auth api analytics" "$here"/[0-9][0-9]_*.sql -- "$@" || exit $?
[ "$check_status" = 0 ] || { echo "restgres check failed (exit $check_status)" >&2; exit 1; }
