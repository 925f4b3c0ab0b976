#!/usr/bin/env bash
# Apply the click analytics app's migrations (migrations/NNN_<name>.sql) to a database with `restgres migrate up`,
# after Restgres's own schema (the run log of the fold schedule, schedules.conf);
# see scripts/migrate.sh.
#
# Usage: examples/click-analytics/migrate.sh [DATABASE_URI]   (without one: libpq's PGHOST, PGPORT, PGUSER, PGDATABASE)
#   examples/click-analytics/migrate.sh "postgres://postgres@127.0.0.1:5432/app"
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" --restgres-schema "$(dirname "${BASH_SOURCE[0]}")" "$@"
