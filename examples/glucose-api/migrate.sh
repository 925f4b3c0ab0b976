#!/usr/bin/env bash
# Apply the glucose API's migrations (migrations/NNN_<name>.sql) to a database with `restgres migrate up`; see
# scripts/migrate.sh.
#
# Usage: examples/glucose-api/migrate.sh [DATABASE_URI]       (without one: libpq's PGHOST, PGPORT, PGUSER, PGDATABASE)
#   examples/glucose-api/migrate.sh "postgres://postgres@127.0.0.1:5432/app"
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" "$(dirname "${BASH_SOURCE[0]}")" "$@"
