#!/usr/bin/env bash
# Bulk-insert benchmark (issue 3): rows/s of a 1,000-row JSON POST through restgres against COPY of the same rows.
#
#   bench/bulk.sh [--no-publish] [--rows N] [--connections N] [--duration S] [--events N] [--out FILE]
#
# Builds a throwaway PostgreSQL 15 cluster like ../shared/bench/run.sh does (same settings: shared_buffers=1GB,
# synchronous_commit=off, jit=off), loads the benchmark's schema (../shared/bench/schema/ab.sql) and seed
# (--events, default 1,000,000, so the table and its five indexes have the benchmark's size), starts the published
# restgres on it with the harness's PGRST_* settings, and then, for the same wall time each:
#   restgres  wrk -c N: POST /events with a JSON array of --rows objects (Prefer: return=minimal), role anon;
#   COPY      N psql sessions as authenticator with role anon, each repeating
#             \copy events (user_id, event_name, variant, properties, created_at) FROM rows.csv CSV
#             on the same rows (psql reads the file and streams COPY FROM STDIN, as a client would).
# Rows/s are counted in the table (count(*) before and after each measured window), so both sides are measured the
# same way; the report gives both and their ratio. Defaults: 1,000 rows, 4 connections, 10 s (+ 3 s warm-up).
# Everything is removed at the end (KEEP_WORK=1 keeps it). Needs root or the postgres user for initdb.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

SHARED_BENCH=${SHARED_BENCH:-$(cd "$RESTGRES_ROOT/.." && pwd)/shared/bench}
BENCH_PUBLISH_DIR="$RESTGRES_ROOT/artifacts/restgres-bench"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
publish=1 rows=1000 conns=4 duration=10 warmup=3 events=1000000 out=""
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --no-publish) publish=0; shift ;;
    --rows) rows=${2:?}; shift 2 ;;
    --connections) conns=${2:?}; shift 2 ;;
    --duration) duration=${2:?}; shift 2 ;;
    --events) events=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
[ -f "$SHARED_BENCH/schema/ab.sql" ] || die "the shared benchmark is not at $SHARED_BENCH (set SHARED_BENCH)"
"$RESTGRES_ROOT/scripts/ensure-deps.sh" core bench

if [ "$publish" = 1 ]; then
  RESTGRES_PUBLISH_DIR="$BENCH_PUBLISH_DIR" "$RESTGRES_ROOT/scripts/publish.sh"
fi
BIN="$BENCH_PUBLISH_DIR/restgres"
[ -x "$BIN" ] || die "$BIN is missing: run without --no-publish"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d /tmp/rg-bulk.XXXXXX)
chmod 755 "$WORK"
AS_PG=()
if [ "$(id -u)" = 0 ]; then AS_PG=(runuser -u postgres --); chown postgres "$WORK"; fi
PG_PORT=$(free_port)
HTTP_PORT=$(free_port)
SERVER_PID=""
cleanup() {
  [ -z "$SERVER_PID" ] || kill "$SERVER_PID" 2>/dev/null || true
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "initdb on 127.0.0.1:$PG_PORT in $WORK"
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/data" -U postgres -E UTF8 --locale=C --auth-local=trust --auth-host=scram-sha-256 >/dev/null
"${AS_PG[@]}" tee -a "$WORK/data/postgresql.conf" >/dev/null <<EOF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK'
max_connections = 200
shared_buffers = 1GB
work_mem = 16MB
synchronous_commit = off
jit = off
max_wal_size = 4GB
checkpoint_timeout = 30min
EOF
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w -t 60 start >/dev/null
admin() { "${AS_PG[@]}" "$PG_BIN/psql" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PG_PORT" -U postgres "$@"; }
admin -d postgres -c "CREATE DATABASE ab"
admin -d ab -v authenticator_password=authenticator -f "$SHARED_BENCH/schema/ab.sql" >/dev/null
log "seeding $events events"
admin -d ab -v events="$events" -f "$SHARED_BENCH/schema/seed.sql" >/dev/null
count() { admin -d ab -Atc "SELECT count(*) FROM events"; }

# The same rows as JSON (restgres) and CSV (COPY): deterministic, shaped like the harness's `track` events.
python3 - "$rows" "$WORK/rows.json" "$WORK/rows.csv" <<'EOF'
import json, sys
n, jpath, cpath = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rows = []
for i in range(n):
    u = 1 + (i * 7919) % 10000
    rows.append({"user_id": u, "event_name": "button_click", "variant": "A" if u % 2 else "B",
                 "properties": {"button": "cta", "page": "/test", "x": (i * 37) % 1280, "y": (i * 53) % 800},
                 "created_at": "2026-11-22T12:00:%02dZ" % (i % 60)})
with open(jpath, "w") as f:
    json.dump(rows, f, separators=(",", ":"))
with open(cpath, "w") as f:
    for r in rows:
        props = json.dumps(r["properties"], separators=(",", ":")).replace('"', '""')
        f.write('%d,%s,%s,"%s",%s\n' % (r["user_id"], r["event_name"], r["variant"], props, r["created_at"]))
EOF
chmod 644 "$WORK/rows.json" "$WORK/rows.csv"

log "starting restgres on 127.0.0.1:$HTTP_PORT"
PGRST_DB_URI="postgres://authenticator:authenticator@127.0.0.1:$PG_PORT/ab" PGRST_DB_SCHEMAS=public \
PGRST_DB_ANON_ROLE=anon PGRST_SERVER_HOST=127.0.0.1 PGRST_SERVER_PORT="$HTTP_PORT" PGRST_DB_POOL=10 \
PGRST_LOG_LEVEL=crit "$BIN" >"$WORK/restgres.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/" && break; sleep 0.2; done
status=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -H 'Prefer: return=minimal' \
  --data-binary @"$WORK/rows.json" "http://127.0.0.1:$HTTP_PORT/events")
[ "$status" = 201 ] || die "POST /events with $rows rows answered $status (see $WORK/restgres.log)"

cat >"$WORK/post.lua" <<EOF
local f = io.open("$WORK/rows.json", "rb"); local body = f:read("*a"); f:close()
wrk.method = "POST"
wrk.body = body
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Prefer"] = "return=minimal"
EOF
url="http://127.0.0.1:$HTTP_PORT/events"
threads=$(( conns < 2 ? conns : 2 ))
wrk -t"$threads" -c"$conns" -d"${warmup}s" -s "$WORK/post.lua" "$url" >/dev/null
before=$(count)
wrk -t"$threads" -c"$conns" -d"${duration}s" --timeout 30s -s "$WORK/post.lua" "$url" >"$WORK/wrk.txt"
after=$(count)
http_rows=$(( (after - before) / duration ))
non2xx=$(grep -Eo 'Non-2xx or 3xx responses: [0-9]+' "$WORK/wrk.txt" | grep -Eo '[0-9]+$' || echo 0)
http_req=$(awk '/Requests\/sec/{print $2}' "$WORK/wrk.txt")
log "restgres: $http_rows rows/s ($http_req req/s, non-2xx $non2xx)"

# COPY: each session repeats \copy until it is stopped; only committed rows count.
for _ in $(seq 20000); do echo "\\copy events (user_id, event_name, variant, properties, created_at) FROM '$WORK/rows.csv' CSV"; done >"$WORK/copy.sql"
copy_run() {
  local secs=$1 pids=()
  for _ in $(seq "$conns"); do
    PGPASSWORD=authenticator PGOPTIONS="-c role=anon" "$PG_BIN/psql" -X -q -h 127.0.0.1 -p "$PG_PORT" -U authenticator \
      -d ab -f "$WORK/copy.sql" >/dev/null 2>"$WORK/copy.err" &
    pids+=($!)
  done
  sleep "$secs"
  kill "${pids[@]}" 2>/dev/null || true
  wait "${pids[@]}" 2>/dev/null || true
}
copy_run "$warmup"
before=$(count)
copy_run "$duration"
after=$(count)
copy_rows=$(( (after - before) / duration ))
log "COPY: $copy_rows rows/s"
ratio=$(python3 -c "print(f'{$copy_rows / max($http_rows, 1):.2f}')")

report=$(cat <<EOF
## Bulk insert: ${rows}-row JSON POST vs COPY ($(date -u '+%F %H:%M') UTC, $(git -C "$RESTGRES_ROOT" rev-parse --short HEAD))

\`bench/bulk.sh --rows $rows --connections $conns --duration $duration --events $events\`; ${warmup} s warm-up each;
rows counted in the table. Machine: $(nproc) cores, $(awk '/MemTotal/{printf "%.1f GiB", $2/1048576}' /proc/meminfo),
PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') (shared_buffers=1GB, synchronous_commit=off).

| path | rows/s | requests/s | errors |
|---|---:|---:|---:|
| restgres \`POST /events\` (JSON array, return=minimal), wrk -c$conns | $http_rows | $http_req | $non2xx |
| \`COPY events FROM STDIN\` (CSV, psql \\copy), $conns sessions | $copy_rows | — | — |

COPY ÷ restgres: **$ratio** (issue 3's target: within 2 ×).
EOF
)
echo "$report"
[ -z "$out" ] || { mkdir -p "$(dirname "$out")"; echo "$report" >"$out"; log "report written to $out"; }
