#!/usr/bin/env bash
# Install the Debian packages Restgres needs, only those that are missing, and check the .NET SDK.
#
# Usage: scripts/ensure-deps.sh [GROUP...]      (default: core)
#   core     PostgreSQL 15 (+ contrib, PostGIS, pgTAP with pg_prove, pg_cron), python3 and Node.js: build, tests,
#            conformance, ./run.sh (pg_cron refreshes the A/B dashboard's aggregates); and the npm packages the
#            generated-types tests compile with (tsc, postgrest-js: tests/typegen, from its package-lock.json)
#   bench    load generator for bench/
#   reliability  load generator for the fault and soak parts of tests/reliability/
#   pgrst-io PostgREST's process-level pytest suite (tests/pgrst-io/run.sh, ../shared/pgrst-io)
#   pgbouncer  PgBouncer (Debian's, 1.18) for the transaction-pooler runs (tests/pgbouncer/run.sh, bench/pgbouncer.sh)
#   browser  headless browser for the web-page tests (tests/e2e: Playwright drives /usr/bin/chromium)
#   all      every group
#
# Idempotent: when everything is installed it only runs dpkg-query (milliseconds), so every entry
# script calls it. `apt-get update` runs only when something is missing; sudo only when not root.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The one list of system packages, as GROUP:PACKAGE. Add new needs here.
PACKAGES=(
  core:postgresql-15
  core:postgresql-contrib
  core:postgresql-15-postgis-3
  core:postgresql-15-pgtap
  core:libtap-parser-sourcehandler-pgtap-perl
  core:postgresql-15-cron
  core:python3
  core:nodejs
  bench:wrk
  bench:python3-fastapi
  bench:python3-uvicorn
  bench:python3-asyncpg
  bench:python3-uvloop
  bench:python3-httptools
  reliability:wrk
  pgrst-io:python3-pytest
  pgrst-io:python3-pytest-timeout
  pgrst-io:python3-requests
  pgrst-io:python3-requests-unixsocket
  pgrst-io:python3-yaml
  pgrst-io:python3-jwt
  pgrst-io:python3-psycopg2
  pgrst-io:python3-dateutil
  pgbouncer:pgbouncer
  browser:chromium
)

groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(core)

wanted=()
for g in "${groups[@]}"; do
  found=0
  for entry in "${PACKAGES[@]}"; do
    if [ "$g" = all ] || [ "${entry%%:*}" = "$g" ]; then
      wanted+=("${entry#*:}")
      found=1
    fi
  done
  [ "$found" = 1 ] || die "unknown package group '$g' (known: $(printf '%s\n' "${PACKAGES[@]%%:*}" | sort -u | tr '\n' ' ')all)"
done

is_installed() {
  [ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)" = installed ]
}

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for p in "${wanted[@]}"; do
    is_installed "$p" || missing+=("$p")
  done
else
  die "dpkg-query not found: this script supports Debian 12 (apt). Install these yourself: ${wanted[*]}"
fi

if [ ${#missing[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install these packages yourself: ${missing[*]}"
  log "installing missing packages: ${missing[*]}"
  # Wait for a concurrent apt/dpkg (e.g. unattended-upgrades) instead of failing at once.
  apt_opts=(-o DPkg::Lock::Timeout=300 -q)
  as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update \
    || die "apt-get update failed; check the network/apt sources, then re-run"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
  still=()
  for p in "${missing[@]}"; do is_installed "$p" || still+=("$p"); done
  [ ${#still[@]} -eq 0 ] || die "packages still not installed after apt-get: ${still[*]}"
fi

# Tools the scripts call directly: catch a broken install early with a plain message.
if [[ " ${wanted[*]} " == *" postgresql-15 "* ]]; then
  [ -x /usr/lib/postgresql/15/bin/initdb ] || die "PostgreSQL 15 server binaries missing in /usr/lib/postgresql/15/bin (package postgresql-15)"
  command -v psql >/dev/null 2>&1 || die "psql not on PATH (package postgresql-client-15)"
  command -v python3 >/dev/null 2>&1 || die "python3 not on PATH (package python3)"
  command -v pg_prove >/dev/null 2>&1 || die "pg_prove not on PATH (package libtap-parser-sourcehandler-pgtap-perl)"
fi
if [[ " ${wanted[*]} " == *" chromium "* ]]; then
  [ -x /usr/bin/chromium ] || die "/usr/bin/chromium missing (package chromium)"
fi
require_dotnet
# npm packages (not Debian's): tests/typegen's TypeScript compiler and postgrest-js, at its lock file's versions.
if [[ " ${wanted[*]} " == *" nodejs "* ]] && [ ! -x "$RESTGRES_ROOT/tests/typegen/node_modules/.bin/tsc" ]; then
  command -v npm >/dev/null 2>&1 || die "npm not on PATH (it comes with Node.js; Debian's package is npm)"
  log "npm ci in tests/typegen (typescript, @supabase/postgrest-js)"
  (cd "$RESTGRES_ROOT/tests/typegen" && npm ci --no-audit --no-fund --loglevel=error) \
    || die "npm ci failed in tests/typegen; check the npm registry, then re-run"
fi
