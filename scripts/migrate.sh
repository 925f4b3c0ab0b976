#!/usr/bin/env bash
# Apply an example app's migrations (APP_DIR/supabase/migrations/<timestamp>_<name>.sql in the Supabase CLI layout,
# else APP_DIR/migrations/NNN_<name>.sql) to a database with `restgres migrate up` (docs/migrations.md): the pending
# files in version order, each in its own transaction, recorded in supabase_migrations.schema_migrations, so a second
# run applies nothing. Uses this tree's Release build (built when missing). Run as a superuser (the migrations create
# roles and extensions).
#
# Usage: scripts/migrate.sh [--restgres-schema] APP_DIR [DATABASE_URI]
#   scripts/migrate.sh examples/glucose-api "postgres://postgres@127.0.0.1:5432/app"
#   PGHOST=127.0.0.1 PGPORT=5432 PGUSER=postgres PGDATABASE=app scripts/migrate.sh examples/ab-dashboard
# Without DATABASE_URI the database is libpq's (PGHOST, PGPORT, PGUSER, PGDATABASE, PGPASSWORD), as psql finds it.
# --restgres-schema first installs (or upgrades) Restgres's own schema (`restgres schema install`), for apps whose
# migrations use it.
set -euo pipefail
usage() { echo "usage: scripts/migrate.sh [--restgres-schema] APP_DIR [DATABASE_URI]" >&2; exit 2; }
schema=false
[ "${1:-}" = --restgres-schema ] && { schema=true; shift; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
if [ -d "$1/supabase/migrations" ]; then dir="$1/supabase/migrations"; elif [ -d "$1/migrations" ]; then dir="$1/migrations"; else usage; fi
# "postgresql://" alone: every part from libpq's environment (the server's default db-uri reads it the same way).
uri=${2:-postgresql://}
# shellcheck source=scratch-cluster.sh
source "$(dirname "${BASH_SOURCE[0]}")/scratch-cluster.sh"
bin=$(scratch_restgres_bin)
if $schema; then
  "$bin" schema install --db-uri "$uri"
fi
exec "$bin" migrate up --dir "$dir" --db-uri "$uri"
