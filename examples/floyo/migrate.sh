#!/usr/bin/env bash
# Apply the Floyo app's migrations (supabase/migrations/<timestamp>_<name>.sql, the Supabase CLI layout) to a
# database with `restgres migrate up --dir supabase/migrations`, which records them in
# supabase_migrations.schema_migrations (the Supabase CLI's history) and applies only the pending ones; see
# scripts/migrate.sh. Every file is idempotent too, so a database migrated by hand can be taken over.
#
# Usage: examples/floyo/migrate.sh [DATABASE_URI]             (without one: libpq's PGHOST, PGPORT, PGUSER, PGDATABASE)
#   examples/floyo/migrate.sh "postgres://postgres@127.0.0.1:5432/floyo"
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" "$(dirname "${BASH_SOURCE[0]}")" "$@"
