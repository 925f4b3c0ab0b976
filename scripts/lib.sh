# shellcheck shell=bash
# Shared helpers for the repo's shell scripts. Source it; it is not executable on its own.
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"      (from scripts/)

# Repo root, whatever the caller's working directory.
RESTGRES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export RESTGRES_ROOT

# Where `dotnet publish` puts the server; run.sh, test.sh and the conformance harness all use this copy.
# RESTGRES_PUBLISH_DIR may be overridden for scripts/publish.sh (bench/ publishes to artifacts/restgres-bench).
RESTGRES_PUBLISH_DIR="${RESTGRES_PUBLISH_DIR:-$RESTGRES_ROOT/artifacts/restgres}"
# RESTGRES_BIN may be overridden, e.g. to score another build or PostgREST itself with the conformance harness.
RESTGRES_BIN="${RESTGRES_BIN:-$RESTGRES_PUBLISH_DIR/restgres}"
export RESTGRES_PUBLISH_DIR RESTGRES_BIN

# Quiet, non-interactive dotnet: no banner, no telemetry, no first-run prompts in CI logs.
export DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
export DOTNET_GENERATE_ASPNET_CERTIFICATE=false

# Prefix messages with the script's name so a CI log shows which step spoke.
_script_name="$(basename "${0:-restgres}")"
log() { printf '%s: %s\n' "$_script_name" "$*" >&2; }
die() { printf '%s: ERROR: %s\n' "$_script_name" "$*" >&2; exit 1; }

# The .NET SDK is not a Debian package, so we cannot install it; say exactly what is missing.
require_dotnet() {
  command -v dotnet >/dev/null 2>&1 \
    || die "the .NET 10 SDK ('dotnet') is not on PATH. Install it (https://learn.microsoft.com/dotnet/core/install/linux-debian) and re-run."
  dotnet --list-sdks 2>/dev/null | grep -q '^10\.' \
    || die "the .NET 10 SDK is required; 'dotnet --list-sdks' shows: $(dotnet --list-sdks 2>/dev/null | tr '\n' ' ')"
}

# Run a command as root: directly when we are root (CI), else through sudo.
as_root() {
  if [ "$(id -u)" = 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    die "need root to run '$*' and sudo is not installed; run it as root, then re-run"
  fi
}
