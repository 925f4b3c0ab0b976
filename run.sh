#!/usr/bin/env bash
# Build Restgres and start it in dev mode: a private PostgreSQL cluster in ./.restgres, the demo app loaded,
# the API on http://127.0.0.1:3000. Installs what is missing first. Extra arguments go to `restgres dev`
# (e.g. ./run.sh --port 3001; see artifacts/restgres/restgres --help).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

scripts/ensure-deps.sh core
scripts/publish.sh
# exec: Ctrl-C and signals go straight to the server, which stops its cluster on the way out.
exec artifacts/restgres/restgres dev "$@"
