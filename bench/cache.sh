#!/usr/bin/env bash
# The response cache's figures (issue 12): `GET /rpc/variant_overview` on the shared bench's plain schema
# (../shared/bench/schema: 1 M events, the function aggregates them on every call) with server-response-cache on and
# off, and get_event as the yardstick, in one run on one cluster, interleaved (ROUNDS rounds of the three).
#
#   bench/cache.sh [--rounds N] [--duration S] [--connections C] [--no-publish]
#
# Prints a table of req/s per round and the ratios cached / uncached and cached / get_event.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"
# shellcheck source=scripts/scratch-cluster.sh
source "$RESTGRES_ROOT/scripts/scratch-cluster.sh"

rounds=3 duration=10 connections=32 publish=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --no-publish) publish=0 ;;
    *) die "unknown argument '$1'" ;;
  esac
  shift
done
SHARED_BENCH=${SHARED_BENCH:-$(cd "$RESTGRES_ROOT/.." && pwd)/shared/bench}
[ -f "$SHARED_BENCH/schema/ab.sql" ] || die "the bench harness is not at $SHARED_BENCH (set SHARED_BENCH)"
command -v wrk >/dev/null || die "wrk not found (scripts/ensure-deps.sh bench)"
[ "$publish" = 0 ] || "$RESTGRES_ROOT/scripts/publish.sh" >&2

start_scratch_cluster restgres-cache-bench "shared_buffers = 512MB" "jit = off" "max_connections = 100"
psql -X -q -d postgres -c 'create database ab'
psql -X -q -v ON_ERROR_STOP=1 -d ab -v authenticator_password=authenticator -f "$SHARED_BENCH/schema/ab.sql" >/dev/null
log "seeding 1,000,000 events"
psql -X -q -v ON_ERROR_STOP=1 -d ab -f "$SHARED_BENCH/schema/seed.sql" >/dev/null
psql -X -q -d ab -c 'vacuum analyze' >/dev/null
max_id=$(psql -X -At -d ab -c 'select max(id) from events')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')

# run NAME CACHE PATH_OR_SCENARIO -> prints req/s
run() {
  local cache=$1 what=$2 server rps
  env PGRST_DB_URI="postgres://authenticator:authenticator@127.0.0.1:$PGPORT/ab" PGRST_DB_SCHEMAS=public \
    PGRST_DB_ANON_ROLE=anon PGRST_SERVER_HOST=127.0.0.1 PGRST_SERVER_PORT="$port" PGRST_DB_POOL=10 \
    PGRST_JWT_SECRET=bench-only-jwt-secret-0123456789abcdef PGRST_LOG_LEVEL=crit \
    PGRST_SERVER_RESPONSE_CACHE="$cache" "$RESTGRES_BIN" >"$SCRATCH_DIR/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/" && break; sleep 0.1; done
  if [ "$what" = get_event ]; then
    wrk -t2 -c"$connections" -d2s -s "$SHARED_BENCH/wrk/scenarios.lua" "http://127.0.0.1:$port" -- get_event postgrest "$max_id" >/dev/null
    rps=$(wrk -t2 -c"$connections" -d"${duration}s" -s "$SHARED_BENCH/wrk/scenarios.lua" "http://127.0.0.1:$port" -- get_event postgrest "$max_id" \
      | awk '/^Requests\/sec/ { print $2 }')
  else
    wrk -t2 -c"$connections" -d2s "http://127.0.0.1:$port$what" >/dev/null
    rps=$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 30s "http://127.0.0.1:$port$what" | awk '/^Requests\/sec/ { print $2 }')
  fi
  kill "$server"; wait "$server" 2>/dev/null || true
  echo "$rps"
}

results="$SCRATCH_DIR/results"
for ((r = 1; r <= rounds; r++)); do
  cached=$(run "rpc/variant_overview: 1h" /rpc/variant_overview)
  uncached=$(run "" /rpc/variant_overview)
  event=$(run "" get_event)
  log "round $r: cached $cached, uncached $uncached, get_event $event req/s"
  echo "$cached $uncached $event" >>"$results"
done
python3 - "$results" "$(nproc)" "$duration" "$connections" <<'PY'
import sys
rows = [list(map(float, l.split())) for l in open(sys.argv[1])]
mean = lambda i: sum(r[i] for r in rows) / len(rows)
fmt = lambda i: " / ".join(f"{r[i]:,.0f}" for r in rows) + f" (mean {mean(i):,.0f})"
print(f"\n{len(rows)} rounds, wrk -t2 -c{sys.argv[4]} -d{sys.argv[3]}s, {sys.argv[2]} cores, 1 M events\n")
print("| GET /rpc/variant_overview cached | uncached | get_event | cached / uncached | cached / get_event |")
print("|---|---|---|---|---|")
print(f"| {fmt(0)} | {fmt(1)} | {fmt(2)} | {mean(0) / mean(1):,.0f} | {mean(0) / mean(2):.2f} |")
PY
