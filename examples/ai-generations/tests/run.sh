#!/usr/bin/env bash
# pgTAP tests of the AI generations database (tests/*.sql), run with pg_prove against a throw-away PostgreSQL cluster
# (scripts/scratch-cluster.sh): Restgres's own schema (idempotency keys, the jobs engine: restgres --schema-sql of the
# built executable), the migrations applied twice (they must be idempotent), the demo user. Afterwards the function
# coverage of the schemas auth, api and ai is measured; the run fails if any function was never called.
#
# Usage: examples/ai-generations/tests/run.sh [pg_prove options]
#   Runs this tree's Release build, else RESTGRES_BIN, the published copy or the Debug build
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
root="$(cd "$app/../.." && pwd)"
bin=
# The build of this tree first (as check_app_database: a published copy in artifacts/ may be older), then RESTGRES_BIN
# when it is there (scripts/lib.sh names the published copy, which ./test.sh makes only after this stage).
for candidate in "$root/src/Restgres/bin/Release/net10.0/restgres" "${RESTGRES_BIN:-}" "$root/artifacts/restgres/restgres" "$root/src/Restgres/bin/Debug/net10.0/restgres"; do
  if [ -z "$bin" ] && [ -n "$candidate" ] && [ -x "$candidate" ]; then bin=$candidate; fi
done
[ -n "$bin" ] || { echo "tests/run.sh: no restgres executable (dotnet build, or set RESTGRES_BIN)" >&2; exit 1; }
# shellcheck source=../../../scripts/scratch-cluster.sh
source "$root/scripts/scratch-cluster.sh"
start_scratch_cluster aigen-pgtap "track_functions = all"
RESTGRES_SCHEMA_SQL_FILE="$SCRATCH_DIR/restgres-schema.sql"
"$bin" --schema-sql >"$RESTGRES_SCHEMA_SQL_FILE"
prepare_app_database "$app" aigen_test "$RESTGRES_SCHEMA_SQL_FILE"
check_status=0
check_app_database "$app" || check_status=$?
psql -X -q -v ON_ERROR_STOP=1 -f "$app/dev.sql" >/dev/null
pgtap_with_coverage "auth api ai" "$here"/[0-9][0-9]_*.sql -- "$@" || exit $?
[ "$check_status" = 0 ] || { echo "restgres check failed (exit $check_status)" >&2; exit 1; }
