#!/usr/bin/env bash
# Apply the A/B dashboard's migrations, in order, to a database (`restgres dev` does the same on every start); see scripts/migrate.sh.
#
# Usage: examples/ab-dashboard/migrate.sh [PSQL CONNECTION ARGS...]
#   examples/ab-dashboard/migrate.sh "postgres://postgres@127.0.0.1:5432/app"
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" "$(dirname "${BASH_SOURCE[0]}")" "$@"
