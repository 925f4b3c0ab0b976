#!/usr/bin/env bash
# Build Restgres and start it in dev mode: a private PostgreSQL cluster in ./.restgres, the A/B dashboard
# (examples/ab-dashboard) loaded, its page on http://127.0.0.1:3000/ and its API there and under /rest/v1.
# Installs what is missing first. Extra arguments go to `restgres dev`
# (e.g. ./run.sh --port 3001, ./run.sh --events 1000000; see artifacts/restgres/restgres dev --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/ensure-deps.sh core
scripts/publish.sh
# The dashboard page (npm ci + vite build, only when dist/ is missing or stale); without Node.js the API still runs.
examples/ab-dashboard/web/build.sh || echo "run.sh: the dashboard page was not built; the API works without it" >&2
# exec: Ctrl-C and signals go straight to the server, which stops its cluster on the way out.
exec artifacts/restgres/restgres dev "$@"
