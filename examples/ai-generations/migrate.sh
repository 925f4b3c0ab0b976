#!/usr/bin/env bash
# Apply the AI generations app's migrations, in order, to a database; see scripts/migrate.sh.
#
# Usage: examples/ai-generations/migrate.sh [PSQL CONNECTION ARGS...]
#   examples/ai-generations/migrate.sh "postgres://postgres@127.0.0.1:5432/app"
exec "$(dirname "${BASH_SOURCE[0]}")/../../scripts/migrate.sh" "$(dirname "${BASH_SOURCE[0]}")" "$@"
