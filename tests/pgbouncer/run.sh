#!/usr/bin/env bash
# The conformance suite through PgBouncer in transaction mode, one command (issue 17, docs/scale-out.md):
# a throw-away PostgreSQL cluster with the fixtures, Debian's pgbouncer (1.18, pool_mode = transaction, loopback, a
# free port, the cluster's login roles as its auth file) in front of it, and Restgres with
#   db-uri = the pooler, db-listener-uri = PostgreSQL itself, db-prepared-statements = false.
# Installs pgbouncer when missing (scripts/ensure-deps.sh pgbouncer). Takes tests/conformance/run.sh's options
# (--only, --filter, -v, --no-publish, ...). A full run fails below tests/pgbouncer/floor. The cases that cannot
# pass through a transaction pooler, and why, are in docs/scale-out.md ("Through PgBouncer").
set -euo pipefail
exec "$(cd "$(dirname "${BASH_SOURCE[0]}")/../conformance" && pwd)/run.sh" --pgbouncer "$@"
