#!/usr/bin/env bash
# Apply the A/B dashboard's migrations (migrations/NNN_<name>.sql) to a database with `restgres migrate up`, which
# records them and applies only the pending ones (`restgres dev` applies them on every start); see scripts/migrate.sh.
#
# Usage: examples/ab-dashboard/migrate.sh [DATABASE_URI]      (without one: libpq's PGHOST, PGPORT, PGUSER, PGDATABASE)
#   examples/ab-dashboard/migrate.sh "postgres://postgres@127.0.0.1:5432/app"
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" "$(dirname "${BASH_SOURCE[0]}")" "$@"
