#!/usr/bin/env bash
# Apply the Floyo app's migrations (supabase/migrations/<timestamp>_<name>.sql, the Supabase CLI layout), in order,
# to a database; see scripts/migrate.sh. Every migration is idempotent, so this is safe to re-run. (`restgres migrate
# up --dir supabase/migrations` does the same and records the history.)
#
# Usage: examples/floyo/migrate.sh [PSQL CONNECTION ARGS...]
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" "$(dirname "${BASH_SOURCE[0]}")" "$@"
