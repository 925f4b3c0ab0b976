#!/usr/bin/env bash
# Durability of the click stream under crashes (issue 14 §3): a throw-away cluster (fsync and synchronous_commit on),
# the published restgres serving the app (group commit on /track), and ingest_client.py sending
# clicks with client-generated event ids over keep-alive connections, logging every acknowledged id. Under that load:
# `kill -9` of Restgres and a restart; separately `pg_ctl stop -m immediate` of PostgreSQL and a start, alternating,
# CRASHES times each. The client sends every unacknowledged request again with the same event ids (the app skips
# duplicates: on_conflict ignore-duplicates), so the check afterwards is exact:
#   - every acknowledged id is in the table exactly once;
#   - no answer other than 2xx or 503, every 503 with Retry-After (PostgreSQL down), no request without an answer
#     within its timeout (a refused or dropped connection while Restgres is down is sent again, and counted);
#   - Restgres did not exit on its own.
#
# Usage: examples/click-analytics/bench/durability.sh [--events N | --duration S] [--crashes K] [--full]
#          [--connections C] [--batch-size B] [--timeout T]
#   default (the short run in ./test.sh): 30,000 events, one crash of each kind, 32 connections (half POST /track,
#   half POST /track/batch with 10 events), 10 s timeout; about 30-60 s with the set-up
#   --full      300,000 events and three crashes of each kind
#   --duration  send for S seconds instead of a number of events (the crashes spread over it)
# Needs scripts/publish.sh first (artifacts/restgres/restgres). KEEP_LOGS=DIR copies the acks, the summary and the
# server logs there. Exits non-zero on any lost or duplicated acknowledged id, or any failed request.
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

events=30000 duration=0 crashes=1 connections=32 batch_size=10 timeout=10
while [ $# -gt 0 ]; do
  case "$1" in
    --events) events=$2; shift ;;
    --duration) duration=$2; shift ;;
    --crashes) crashes=$2; shift ;;
    --full) events=300000 crashes=3 ;;
    --connections) connections=$2; shift ;;
    --batch-size) batch_size=$2; shift ;;
    --timeout) timeout=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done

setup_click_database click-durability
start_click_server
log "cluster and server ready after $SECONDS s"
acks="$SCRATCH_DIR/acks" summary="$SCRATCH_DIR/summary.json"
: >"$acks"
keep_logs() {
  [ -n "${KEEP_LOGS:-}" ] || return 0
  mkdir -p "$KEEP_LOGS" && cp "$acks" "$summary" "$SCRATCH_DIR/restgres.log" "$SCRATCH_DIR/server.log" "$KEEP_LOGS/" 2>/dev/null || true
}
trap 'keep_logs; [ -z "${client:-}" ] || kill "$client" 2>/dev/null; stop_click_server; _stop_scratch_cluster' EXIT

amount=(--events "$events")
[ "$duration" = 0 ] || amount=(--duration "$duration")
python3 "$bench_dir/ingest_client.py" load --port "$CLICK_PORT" --secret "$CLICK_SECRET" --users "$SCRATCH_DIR/users" \
  --acks "$acks" --summary "$summary" "${amount[@]}" --connections "$connections" --batch-size "$batch_size" \
  --timeout "$timeout" &
client=$!
started=$SECONDS

# Crash j of 2K (alternating Restgres, PostgreSQL) comes when j/(2K+1) of the events are acknowledged (or of the
# duration has passed), so each crash hits a loaded server and there is load left after the last recovery.
reached() {
  if [ "$duration" = 0 ]; then [ "$(wc -l <"$acks")" -ge $((events * $1 / (2 * crashes + 1))) ]
  else [ $((SECONDS - started)) -ge $((duration * $1 / (2 * crashes + 1))) ]; fi
}
await() {
  until reached "$1"; do
    kill -0 "$client" 2>/dev/null || die "the client ended before crash $1 (see above)"
    sleep 0.05
  done
}
for j in $(seq 1 $((2 * crashes))); do
  await "$j"
  if [ $((j % 2)) = 1 ]; then
    log "crash $j: kill -9 restgres at $(wc -l <"$acks") acknowledged events"
    kill -9 "$CLICK_SERVER"
    wait "$CLICK_SERVER" 2>/dev/null || true
    sleep 0.5   # clients meet refused connections meanwhile
    start_click_server
    log "restgres is back after $((SECONDS - started)) s of the run"
  else
    log "crash $j: pg_ctl stop -m immediate at $(wc -l <"$acks") acknowledged events"
    scratch_pg_ctl -m immediate stop
    sleep 1     # clients get 503s meanwhile
    scratch_pg_ctl -w -t 60 start || { tail -20 "$SCRATCH_DIR/server.log" >&2; die "postgresql did not start again"; }
    log "postgresql is back after $((SECONDS - started)) s of the run"
  fi
done

status=0
wait "$client" || die "the load client failed"
client=""
log "load done after $((SECONDS - started)) s"
kill -0 "$CLICK_SERVER" 2>/dev/null || { tail -20 "$SCRATCH_DIR/restgres.log" >&2; status=1; log "FAILED: restgres exited on its own"; }
psql -X -q -c "\\copy (select event_id from api.feature_clicks where event_id is not null) to '$SCRATCH_DIR/table'"
python3 "$bench_dir/ingest_client.py" verify --acks "$acks" --table "$SCRATCH_DIR/table" --summary "$summary" || status=1
[ "$status" = 0 ] && log "OK: $crashes restgres kill(s) and $crashes postgresql immediate stop(s), nothing acknowledged lost or doubled"
exit $status
