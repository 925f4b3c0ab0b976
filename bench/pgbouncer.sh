#!/usr/bin/env bash
# Throughput through PgBouncer (transaction mode) against direct, one build, same run, interleaved (bench/ab.sh):
#   bench/pgbouncer.sh [--rounds N] [HARNESS OPTIONS]
# base = Restgres straight to PostgreSQL (prepared statements on, the default); head = the same build through
# bench/via-pgbouncer.sh (db-uri the pooler, db-listener-uri PostgreSQL, db-prepared-statements = false), with as many
# pooler-to-PostgreSQL connections as Restgres's pool. Scenarios: get_event (a read by key) and track (an insert), or
# --scenarios. Installs pgbouncer and wrk when missing. Results: docs/benchmarks.md ("PgBouncer").
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"
"$RESTGRES_ROOT/scripts/ensure-deps.sh" core bench pgbouncer
args=("$@")
[[ " ${args[*]-} " == *" --scenarios"* ]] || args+=(--scenarios "get_event track")
exec "$RESTGRES_ROOT/bench/ab.sh" HEAD --head-via "$RESTGRES_ROOT/bench/via-pgbouncer.sh" "${args[@]}"
