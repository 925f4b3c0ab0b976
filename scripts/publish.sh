#!/usr/bin/env bash
# Publish the server to artifacts/restgres (executable: artifacts/restgres/restgres).
# Incremental: when nothing changed, MSBuild skips the compile and this takes seconds.
# Usage: scripts/publish.sh [extra dotnet publish args]
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_dotnet

cd "$RESTGRES_ROOT"
log "dotnet publish -> ${RESTGRES_PUBLISH_DIR#"$RESTGRES_ROOT"/}"
dotnet publish src/Restgres/Restgres.csproj -c Release -o "$RESTGRES_PUBLISH_DIR" --nologo -v quiet "$@" \
  || die "dotnet publish failed (see the compiler output above)"
[ -x "$RESTGRES_BIN" ] || die "publish succeeded but $RESTGRES_BIN is missing or not executable"
