#!/usr/bin/env bash
# Load test of the glucose API's old URLs: a throw-away cluster with the app's migrations and DAYS days of readings
# (a reading every 5 minutes: 3,500 days is about 1 M), Restgres started from the app's own restgres.conf (routes,
# rate limits, response cache, ETag, compression all on), then wrk with CONNECTIONS clients for DURATION seconds, each
# request with the token of one of 200 users (role admin: 1,000 requests a minute each, so the rate limits stay out
# of the way of a capacity measurement; the limits themselves are tested in GlucoseApiTests).
#
# Usage: examples/glucose-api/bench/load.sh [--days N] [--duration S] [--connections C] [--scenario mixed|statistics]
#                                           [--no-cache] [--no-rate-limits] [--check]
#   --no-rate-limits   unset server-rate-limits: at cache-hit speeds (20,000 req/s and more) 200 users exceed their
#             1,000 a minute, and the run would measure the 429s
#   --check   fail (exit 1) on any error, non-2xx answer or timeout: the short run in ./test.sh (no latency bound:
#             performance is measured, not asserted)
# Prints one line per run: load: scenario=... requests=... rps=... p50_ms=... p95_ms=... p99_ms=... errors=...
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app="$(dirname "$here")"
root="$(cd "$app/../.." && pwd)"
# shellcheck source=../../../scripts/lib.sh
source "$root/scripts/lib.sh"
# shellcheck source=../../../scripts/scratch-cluster.sh
source "$root/scripts/scratch-cluster.sh"

days=90 duration=60 connections=50 scenario=mixed cache=1 limits=1 check=0
while [ $# -gt 0 ]; do
  case "$1" in
    --days) days=$2; shift ;;
    --duration) duration=$2; shift ;;
    --connections) connections=$2; shift ;;
    --scenario) scenario=$2; shift ;;
    --no-cache) cache=0 ;;
    --no-rate-limits) limits=0 ;;
    --check) check=1 ;;
    *) die "unknown argument '$1' (see the header of $0)" ;;
  esac
  shift
done
command -v wrk >/dev/null || die "wrk not found (package wrk; scripts/ensure-deps.sh bench)"
[ -x "$RESTGRES_BIN" ] || die "no server at $RESTGRES_BIN: run scripts/publish.sh first"

start_scratch_cluster glucose-load "max_connections = 200"
export PGDATABASE=glucose
psql -X -q -d postgres -c 'create database glucose'
psql -X -q -c 'create role authenticator login noinherit'
"$app/migrate.sh" >/dev/null 2>"$SCRATCH_DIR/migrate.log" || { cat "$SCRATCH_DIR/migrate.log" >&2; exit 1; }
log "generating $days days of readings"
readings=$(psql -X -q -At -c "select raw.generate_readings($days, 0.42, '2026-01-31 00:00:00+00')")
psql -X -q -c 'select marts.refresh()' >/dev/null
psql -X -q -c 'vacuum analyze' >/dev/null

secret="load-test-secret-load-test-secret-0123456789"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
env_cache=()
[ "$cache" = 1 ] || env_cache=(PGRST_SERVER_RESPONSE_CACHE=)
[ "$limits" = 1 ] || env_cache+=(PGRST_SERVER_RATE_LIMITS=)
(cd "$app" && exec env PGRST_DB_URI="postgresql://authenticator@127.0.0.1:$PGPORT/glucose" JWT_SECRET="$secret" \
  PGRST_SERVER_PORT="$port" PGRST_LOG_LEVEL=crit "${env_cache[@]}" "$RESTGRES_BIN" restgres.conf) >"$SCRATCH_DIR/restgres.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; _stop_scratch_cluster' EXIT
for _ in $(seq 1 100); do
  curl -fs -o /dev/null "http://127.0.0.1:$port/health" && break
  kill -0 $server 2>/dev/null || { cat "$SCRATCH_DIR/restgres.log" >&2; die "restgres did not start"; }
  sleep 0.2
done

# 200 users' tokens, HS256 with the old service's claims.
python3 - "$secret" >"$SCRATCH_DIR/tokens" <<'PY'
import base64, hashlib, hmac, json, sys, time
def b64(b): return base64.urlsafe_b64encode(b).rstrip(b"=").decode()
secret = sys.argv[1].encode()
for i in range(200):
    claims = {"sub": f"load-{i}", "user_id": f"00000000-0000-0000-0000-{i:012d}", "email": f"load-{i}@example.com",
              "role": "admin", "exp": int(time.time()) + 3600}
    signed = b64(b'{"alg":"HS256","typ":"JWT"}') + "." + b64(json.dumps(claims).encode())
    print(signed + "." + b64(hmac.new(secret, signed.encode(), hashlib.sha256).digest()))
PY
last=$(psql -X -q -At -c "select max(reading_date) from marts.mrt_glucose_overview")

out=$(wrk -t2 -c"$connections" -d"${duration}s" --timeout 10s -s "$here/load.lua" "http://127.0.0.1:$port" -- \
  "$scenario" "$SCRATCH_DIR/tokens" "$last")
line=$(grep '^LOAD_RESULT' <<<"$out") || { echo "$out" >&2; die "wrk printed no result"; }
mapfile -t result < <(python3 - "$line" "$scenario" "$days" "$readings" "$cache" "$connections" "$([ "$limits" = 1 ] && echo on || echo off)" <<'PY'
import sys
kv = dict(p.split("=") for p in sys.argv[1].split()[1:])
n, us = int(kv["requests"]), int(kv["duration_us"])
errors = sum(int(kv[k]) for k in ("non2xx", "connect", "read", "write", "timeout"))
ms = lambda k: "%.1f" % (int(kv[k]) / 1000)
print(f"load: scenario={sys.argv[2]} days={sys.argv[3]} readings={sys.argv[4]} cache={'on' if sys.argv[5] == '1' else 'off'} "
      f"rate_limits={sys.argv[7]} "
      f"connections={sys.argv[6]} requests={n} rps={n / (us / 1e6):.0f} p50_ms={ms('p50_us')} p95_ms={ms('p95_us')} "
      f"p99_ms={ms('p99_us')} max_ms={ms('max_us')} errors={errors} error_pct={100 * errors / max(n, 1):.2f}")
print(errors)
PY
)
echo "${result[0]}"
if [ "$check" = 1 ] && [ "${result[1]}" != 0 ]; then
  echo "load: ${result[1]} requests failed (non-2xx, timeouts or socket errors)" >&2
  exit 1
fi
