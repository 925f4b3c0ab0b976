#!/usr/bin/env bash
# Publish the server to artifacts/restgres (executable: artifacts/restgres/restgres), or to $RESTGRES_PUBLISH_DIR.
# Incremental: when nothing changed, MSBuild skips the compile and this takes seconds.
# Usage: scripts/publish.sh [extra dotnet publish args]
# PUBLISH_PROJECT and PUBLISH_EXE publish another project the same way (bench/run.sh --handwritten uses them).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
require_dotnet

project=${PUBLISH_PROJECT:-src/Restgres/Restgres.csproj}
exe=${PUBLISH_EXE:-restgres}

cd "$RESTGRES_ROOT"
log "dotnet publish $project -> ${RESTGRES_PUBLISH_DIR#"$RESTGRES_ROOT"/}"
# ReadyToRun (precompiled code: the server is fast from its first requests instead of after the JIT's warm-up) needs
# the crossgen2 package from NuGet; without it, publish plain IL rather than fail.
if ! dotnet publish "$project" -c Release --use-current-runtime --self-contained false \
    -p:PublishReadyToRun=true -o "$RESTGRES_PUBLISH_DIR" --nologo -v quiet "$@"; then
  log "ReadyToRun publish failed; publishing without it"
  dotnet publish "$project" -c Release -o "$RESTGRES_PUBLISH_DIR" --nologo -v quiet "$@" \
    || die "dotnet publish failed (see the compiler output above)"
fi
[ -x "$RESTGRES_PUBLISH_DIR/$exe" ] || die "publish succeeded but $RESTGRES_PUBLISH_DIR/$exe is missing or not executable"
