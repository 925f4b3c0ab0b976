#!/usr/bin/env bash
# pgTAP tests of the AI generations database (tests/*.sql), run with pg_prove against a throw-away PostgreSQL cluster
# (scripts/scratch-cluster.sh): Restgres's own schema (idempotency keys, the jobs engine: restgres --schema-sql of the
# built executable), the migrations applied twice (they must be idempotent), the demo user. Afterwards the function
# coverage of the schemas auth, api and ai is measured; the run fails if any function was never called.
#
# Usage: examples/ai-generations/tests/run.sh [pg_prove options]
#   Runs this tree's Release build (built when missing), as restgres check does.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
root="$(cd "$app/../.." && pwd)"
source "$root/scripts/scratch-cluster.sh"
bin=$(scratch_restgres_bin)
start_scratch_cluster aigen-pgtap "track_functions = all"
RESTGRES_SCHEMA_SQL_FILE="$SCRATCH_DIR/restgres-schema.sql"
"$bin" --schema-sql >"$RESTGRES_SCHEMA_SQL_FILE"
prepare_app_database "$app" aigen_test "$RESTGRES_SCHEMA_SQL_FILE"
check_status=0
check_app_database "$app" || check_status=$?
psql -X -q -v ON_ERROR_STOP=1 -f "$app/dev.sql" >/dev/null
pgtap_with_coverage "auth api ai" "$here"/[0-9][0-9]_*.sql -- "$@" || exit $?
[ "$check_status" = 0 ] || { echo "restgres check failed (exit $check_status)" >&2; exit 1; }
