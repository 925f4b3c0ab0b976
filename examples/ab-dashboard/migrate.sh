#!/usr/bin/env bash
# Apply the A/B dashboard's migrations, in order, to a database. Every file is idempotent, so this is safe to re-run
# (`restgres dev` does the same on every start). Run as a superuser (it creates roles and, when available, pg_cron).
#
# Usage: examples/ab-dashboard/migrate.sh [PSQL CONNECTION ARGS...]
#   examples/ab-dashboard/migrate.sh "postgres://postgres@127.0.0.1:5432/app"
#   examples/ab-dashboard/migrate.sh -h 127.0.0.1 -p 5432 -U postgres -d app
set -euo pipefail
dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/migrations"
for f in "$dir"/[0-9][0-9][0-9]_*.sql; do
  echo "migrate: $(basename "$f")" >&2
  psql -X -q -v ON_ERROR_STOP=1 "$@" -f "$f"
done
