#!/usr/bin/env bash
# Load benchmark of a published restgres with the shared A/B-dashboard harness (../shared/bench).
#
#   bench/run.sh [--no-publish] [HARNESS OPTIONS] [TARGET...]
#
# Publishes src/Restgres in Release to artifacts/restgres-bench/ (not artifacts/restgres, which run.sh, test.sh and
# the conformance harness use), then runs
#   ../shared/bench/run.sh --name restgres --cmd '<repo>/artifacts/restgres-bench/restgres' server fastapi pgbench
# from the repository root and writes the markdown report to bench/results/<date>-<git short sha>.md
# ("-dirty" is added when src/ has uncommitted changes, "-2", "-3"... when the file exists).
#
#   --no-publish   reuse the last build in artifacts/restgres-bench/
#   --handwritten  benchmark bench/handwritten (the minimal hand-written ASP.NET Core + Npgsql server issue 2 names as
#                  the yardstick) as the server instead of restgres; it serves get_event, list_events and
#                  recent_completions only, which become the default scenarios
#   TARGET         server | fastapi | pgbench; default: all three. Ratios are only computed within one run,
#                  so keep pgbench in the list.
# Every other option goes to the harness unchanged (../shared/bench/run.sh --help), e.g.
#   --scenarios "get_event list_events"  --duration 5  --warmup 1  --connections 32  --out FILE
# and so do its environment variables, e.g.
#   BENCH_JWT=1 SERVER_PORT=3701 PG_PORT=55701 KEEP_WORK=1 bench/run.sh
# plus the server's own PGRST_* variables (PGRST_DB_POOL, PGRST_DB_PREPARED_STATEMENTS, PGRST_LOG_LEVEL, ...).
#
# SHARED_BENCH overrides where the harness is (default: ../shared/bench beside the repository).
# See bench/README.md for what is measured and how to read it.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

SHARED_BENCH=${SHARED_BENCH:-$(cd "$RESTGRES_ROOT/.." && pwd)/shared/bench}
BENCH_PUBLISH_DIR="$RESTGRES_ROOT/artifacts/restgres-bench"
BENCH_BIN="$BENCH_PUBLISH_DIR/restgres"

publish=1
handwritten=0
has_scenarios=0
targets=()
pass=()
has_out=0
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --no-publish) publish=0; shift ;;
    --handwritten) handwritten=1; shift ;;
    server|fastapi|pgbench) targets+=("$1"); shift ;;
    --cmd|--name) die "$1 is set by bench/run.sh (it benchmarks this repository's restgres); call $SHARED_BENCH/run.sh directly for another server" ;;
    --out) has_out=1; pass+=("$1" "${2:?--out needs a file}"); shift 2 ;;
    --style|--duration|--warmup|--connections|--threads|--scenarios)
      [ $# -ge 2 ] || die "$1 needs a value"
      [ "$1" != --scenarios ] || has_scenarios=1
      pass+=("$1" "$2"); shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=(server fastapi pgbench)
server_name=restgres
if [ "$handwritten" = 1 ]; then
  server_name=handwritten
  BENCH_PUBLISH_DIR="$RESTGRES_ROOT/artifacts/handwritten-bench"
  BENCH_BIN="$BENCH_PUBLISH_DIR/handwritten"
  export PUBLISH_PROJECT=bench/handwritten/HandWritten.csproj PUBLISH_EXE=handwritten   # for scripts/publish.sh
  [ "$has_scenarios" = 1 ] || pass+=(--scenarios "get_event list_events recent_completions")
fi

[ -x "$SHARED_BENCH/run.sh" ] || die "the shared benchmark harness is not at $SHARED_BENCH/run.sh.
  It lives in ../shared/bench beside the repository (CI's layout); check it out there, or set SHARED_BENCH=/path/to/bench."

# System packages: PostgreSQL 15 (the harness initdb's its own throwaway cluster) and wrk.
"$RESTGRES_ROOT/scripts/ensure-deps.sh" core bench

# The FastAPI baseline needs Debian's python3-fastapi, python3-uvicorn and python3-asyncpg (uvloop and httptools make
# it faster and are what the recorded baselines used). Fail here, before a 15-minute run dies at its start.
if [[ " ${targets[*]} " == *" fastapi "* ]]; then
  fastapi_ok=0
  for py in "${PYTHON:-}" python3 /usr/bin/python3; do
    [ -n "$py" ] && command -v "$py" >/dev/null 2>&1 && "$py" -c 'import fastapi, uvicorn, asyncpg' >/dev/null 2>&1 \
      && { fastapi_ok=1; break; }
  done
  [ "$fastapi_ok" = 1 ] || die "the fastapi target needs Debian's FastAPI packages:
  apt-get install -y python3-fastapi python3-uvicorn python3-asyncpg python3-uvloop python3-httptools
  (or leave it out: bench/run.sh server pgbench)"
  /usr/bin/python3 -c 'import uvloop, httptools' >/dev/null 2>&1 \
    || log "warning: python3-uvloop / python3-httptools missing: the FastAPI baseline will be slower than the recorded ones"
fi

cd "$RESTGRES_ROOT"
if [[ " ${targets[*]} " == *" server "* ]]; then
  if [ "$publish" = 1 ]; then
    RESTGRES_PUBLISH_DIR="$BENCH_PUBLISH_DIR" "$RESTGRES_ROOT/scripts/publish.sh"
  fi
  [ -x "$BENCH_BIN" ] || die "$BENCH_BIN is missing: run without --no-publish"
fi

if [ "$has_out" = 0 ]; then
  sha=$(git rev-parse --short HEAD 2>/dev/null || echo nogit)
  if [ "$sha" != nogit ] && [ -n "$(git status --porcelain -- src 2>/dev/null)" ]; then sha="$sha-dirty"; fi
  mkdir -p bench/results
  [ "$handwritten" = 0 ] || sha="$sha-handwritten"
  out="bench/results/$(date -u +%F)-$sha.md"
  n=2
  while [ -e "$out" ]; do out="bench/results/$(date -u +%F)-$sha-$n.md"; n=$((n + 1)); done
  pass+=(--out "$out")
fi

# --cmd implies the server target in the harness, so give it only when the server is benchmarked.
server_args=()
[[ " ${targets[*]} " != *" server "* ]] || server_args=(--name "$server_name" --cmd "$BENCH_BIN")
log "harness: $SHARED_BENCH/run.sh ${server_args[*]} ${targets[*]} ${pass[*]}"
exec "$SHARED_BENCH/run.sh" "${server_args[@]}" "${targets[@]}" "${pass[@]}"
