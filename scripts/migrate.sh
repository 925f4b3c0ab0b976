#!/usr/bin/env bash
# Apply an example app's migrations (APP_DIR/migrations/NNN_*.sql, or APP_DIR/supabase/migrations/<timestamp>_*.sql
# in the Supabase CLI layout), in order, to a database. Every migration is
# idempotent, so this is safe to re-run. Run as a superuser (the migrations create roles and extensions).
#
# Usage: scripts/migrate.sh APP_DIR [PSQL CONNECTION ARGS...]
#   scripts/migrate.sh examples/glucose-api "postgres://postgres@127.0.0.1:5432/app"
#   scripts/migrate.sh examples/ab-dashboard -h 127.0.0.1 -p 5432 -U postgres -d app
set -euo pipefail
[ $# -ge 1 ] && { [ -d "$1/migrations" ] || [ -d "$1/supabase/migrations" ]; } \
  || { echo "usage: scripts/migrate.sh APP_DIR [PSQL ARGS...]" >&2; exit 2; }
if [ -d "$1/supabase/migrations" ]; then dir="$(cd "$1/supabase/migrations" && pwd)"; else dir="$(cd "$1/migrations" && pwd)"; fi
shift
for f in "$dir"/[0-9][0-9][0-9]*_*.sql; do
  echo "migrate: $(basename "$f")" >&2
  psql -X -q -v ON_ERROR_STOP=1 "$@" -f "$f"
done
