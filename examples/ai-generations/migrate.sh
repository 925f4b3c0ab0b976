#!/usr/bin/env bash
# Apply the AI generations app's migrations (migrations/NNN_<name>.sql) to a database with `restgres migrate up`,
# after installing Restgres's own schema, which they use (`restgres schema install`: idempotency keys, the jobs
# engine); see scripts/migrate.sh.
#
# Usage: examples/ai-generations/migrate.sh [DATABASE_URI]    (without one: libpq's PGHOST, PGPORT, PGUSER, PGDATABASE)
#   examples/ai-generations/migrate.sh "postgres://postgres@127.0.0.1:5432/app"
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" --restgres-schema "$(dirname "${BASH_SOURCE[0]}")" "$@"
