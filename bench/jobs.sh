#!/usr/bin/env bash
# Durable-jobs benchmark (issue 15): throughput of a no-op sql handler (claim, run, complete) and pickup latency
# (enqueue to start) with LISTEN/NOTIFY, measured by `restgres worker` on a throw-away PostgreSQL 15 cluster.
#
#   bench/jobs.sh [--no-publish] [--bin PATH] [--jobs N] [--latency-jobs N] [--concurrency N] [--batch N] [--out FILE]
#
# Throughput: --jobs (default 20,000) jobs are enqueued in one transaction while no worker runs; a worker with
# --concurrency slots (default 2) then drains them; jobs/s = jobs / (last finished_at - first started_at), read from
# restgres.jobs. It runs once with batch_size 1 (one transaction per job, the default) and once with --batch (default
# 20: jobs per transaction). Pickup latency: with the worker idle, --latency-jobs (default 500) jobs are enqueued one
# per transaction 10 ms apart; latency = started_at - created_at (both clock_timestamp(), so enqueue commit, NOTIFY,
# wake-up and claim are inside it), p50 and p99. Cluster settings as bench/bulk.sh (synchronous_commit=off, jit=off).
# Everything is removed at the end (KEEP_WORK=1 keeps it). Needs root or the postgres user for initdb.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'; }

BENCH_PUBLISH_DIR="$RESTGRES_ROOT/artifacts/restgres-bench"
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
publish=1 bin="" jobs=20000 latency_jobs=500 concurrency=2 batch=20 out=""
while [ $# -gt 0 ]; do
  case $1 in
    -h|--help) usage; exit 0 ;;
    --no-publish) publish=0; shift ;;
    --bin) bin=${2:?}; publish=0; shift 2 ;;
    --jobs) jobs=${2:?}; shift 2 ;;
    --latency-jobs) latency_jobs=${2:?}; shift 2 ;;
    --concurrency) concurrency=${2:?}; shift 2 ;;
    --batch) batch=${2:?}; shift 2 ;;
    --out) out=${2:?}; shift 2 ;;
    *) usage >&2; die "unknown argument: $1" ;;
  esac
done
if [ "$publish" = 1 ]; then
  RESTGRES_PUBLISH_DIR="$BENCH_PUBLISH_DIR" "$RESTGRES_ROOT/scripts/publish.sh"
fi
BIN=${bin:-$BENCH_PUBLISH_DIR/restgres}
[ -x "$BIN" ] || die "$BIN is missing: run without --no-publish, or give --bin"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
WORK=$(mktemp -d /tmp/rg-jobs.XXXXXX)
chmod 755 "$WORK"
AS_PG=()
if [ "$(id -u)" = 0 ]; then AS_PG=(runuser -u postgres --); chown postgres "$WORK"; fi
PG_PORT=$(free_port)
WORKER_PID=""
stop_worker() {
  [ -z "$WORKER_PID" ] || { kill "$WORKER_PID" 2>/dev/null || true; wait "$WORKER_PID" 2>/dev/null || true; }
  WORKER_PID=""
}
cleanup() {
  stop_worker
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  if [ "${KEEP_WORK:-0}" = 1 ]; then log "work files kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log "initdb on 127.0.0.1:$PG_PORT in $WORK"
"${AS_PG[@]}" "$PG_BIN/initdb" -D "$WORK/data" -U postgres -E UTF8 --locale=C --auth-local=trust --auth-host=trust >/dev/null
"${AS_PG[@]}" tee -a "$WORK/data/postgresql.conf" >/dev/null <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$WORK'
max_connections = 200
shared_buffers = 256MB
synchronous_commit = off
jit = off
CONF
"${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$WORK/data" -l "$WORK/postgres.log" -w -t 60 start >/dev/null
DB_URI="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
sql() { "${AS_PG[@]}" "$PG_BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$WORK" -p "$PG_PORT" -U postgres -d postgres "$@"; }

"$BIN" schema install --db-uri "$DB_URI" >/dev/null
sql -c "create function bench_noop(payload jsonb) returns void language sql as 'select'"

start_worker() {
  PGRST_DB_URI="$DB_URI" PGRST_JOBS_POLL_INTERVAL=1000 "$BIN" worker >>"$WORK/worker.log" 2>&1 &
  WORKER_PID=$!
}
wait_drained() {
  for _ in $(seq 1 1200); do
    [ "$(sql -c "select count(*) from restgres.jobs where state in ('available', 'running')")" = 0 ] && return 0
    sleep 0.1
  done
  die "jobs not drained after 120 s (see $WORK/worker.log)"
}

throughput() {  # batch_size -> jobs/s
  local b=$1
  sql -c "truncate restgres.job_attempts, restgres.jobs" -c "select restgres.define_queue('bench', 'sql', 'bench_noop', '{\"concurrency\": $concurrency, \"batch_size\": $b}')" >/dev/null
  sql -c "select count(restgres.enqueue('bench', jsonb_build_object('n', g))) from generate_series(1, $jobs) g" >/dev/null
  start_worker
  wait_drained
  stop_worker
  sql -c "select round($jobs / extract(epoch from max(finished_at) - min(started_at)))
            from restgres.jobs where state = 'completed'"
}

latency() {  # -> "p50 p99" in ms
  sql -c "truncate restgres.job_attempts, restgres.jobs" -c "select restgres.define_queue('bench', 'sql', 'bench_noop', '{\"concurrency\": $concurrency}')" >/dev/null
  start_worker
  sleep 2   # the worker has read its queues and is listening
  for _ in $(seq 1 "$latency_jobs"); do
    echo "select restgres.enqueue('bench', '{}');"
    echo "select pg_sleep(0.01);"
  done | sql >/dev/null
  wait_drained
  stop_worker
  sql -F ' ' -c "select round((percentile_cont(0.5) within group (order by ms))::numeric, 1),
                        round((percentile_cont(0.99) within group (order by ms))::numeric, 1)
                   from (select extract(epoch from started_at - created_at) * 1000 as ms from restgres.jobs) t"
}

log "throughput: $jobs jobs, concurrency $concurrency, batch_size 1"
tp1=$(throughput 1)
log "throughput: $jobs jobs, concurrency $concurrency, batch_size $batch"
tpb=$(throughput "$batch")
log "pickup latency: $latency_jobs jobs, one per transaction, 10 ms apart"
read -r p50 p99 <<<"$(latency)"

report=$(cat <<REPORT
jobs benchmark ($(date -u +%Y-%m-%dT%H:%MZ), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg))
  throughput, no-op sql handler, concurrency $concurrency, batch_size 1:      $tp1 jobs/s
  throughput, no-op sql handler, concurrency $concurrency, batch_size $batch:     $tpb jobs/s
  pickup latency enqueue -> start (NOTIFY), $latency_jobs jobs:  p50 $p50 ms, p99 $p99 ms
REPORT
)
echo "$report"
[ -z "$out" ] || echo "$report" >"$out"
