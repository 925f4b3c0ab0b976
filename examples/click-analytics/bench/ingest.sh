#!/usr/bin/env bash
# Click ingest figures (issue 14 §3; results in docs/benchmarks.md, "Click ingest"). Not a timed test: it measures.
# A throw-away cluster with fsync and synchronous_commit ON, the app's database and 55 seed users, the published
# restgres serving the app's own restgres.conf (group commit on /track), and for each scenario:
#
#   single     wrk -t2 -cC (64) POST /track, one event per request, keep-alive: group commit ON and OFF
#              (PGRST_DB_GROUP_COMMIT unset), each on a fresh server, same run; then GET /feature_clicks?id=eq.N (one
#              row by primary key: the click app's get_event) on the group-commit server. Events/s, commits per
#              event (pg_stat_database), p50/p99. With --rounds N, N rounds, the order of ON and OFF flipped each
#              round (a shared machine's load drifts), and the summary takes the mean of each.
#   batch      wrk -t2 -cBC (16) POST /track/batch with B (100) events per request: events/s with the app's config
#              (batches not grouped: the bar) and with feature_clicks added to db-group-commit, same run (--rounds
#              too, order flipped each round).
#   sustained  ingest_client.py paced at R events/min (1,000,000) for S seconds (300), in requests of SB events (100;
#              1 = POST /track), 32 connections: events/s reached, p50/p99, errors (any non-2xx or timeout).
#   get_event  the shared A/B harness's get_event with the same binary (../shared/bench/run.sh, its own cluster with
#              synchronous_commit on, -cC): the bar "≥ 0.85 × get_event" of issue 14 (only with --get-event).
#
# Usage: examples/click-analytics/bench/ingest.sh [--scenarios "single batch sustained"] [--duration S] [--warmup S]
#          [--connections C] [--batch-size B] [--batch-connections BC] [--sustained-duration S]
#          [--sustained-rate EVENTS_PER_MIN] [--sustained-batch SB] [--get-event] [--setup-sql SQL] [--out FILE]
#          [--rounds N] [--server-env "NAME=VALUE ..."]
#   --duration   seconds each wrk measurement runs (after --warmup); --sustained-duration: the paced run's seconds
#                (300: the issue's 5 minutes; `ingest.sh` with no argument runs everything, ≈ 7 minutes)
#   --server-env settings for every group-commit server, e.g. "PGRST_DB_GROUP_COMMIT_MAX_INFLIGHT=2"
#   --setup-sql  run SQL on the database before the scenarios, to see what a part costs, e.g.
#                "drop index api.feature_clicks_tx_brin"
# Needs scripts/publish.sh first. Prints one line per measurement ("ingest: scenario=... key=value ...", each with the
# load average then), then one "ingest-summary:" line per figure of the issue (value, its bar, met or not) and, with
# --out, appends them all to FILE. Measure on a quiet machine: client, server and database share the cores.
set -euo pipefail
# shellcheck source=common.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/common.sh"

scenarios="single batch sustained" duration=10 warmup=3 connections=64 batch_size=100 batch_connections=16
sustained_duration=300 sustained_rate=1000000 sustained_batch=100 get_event=0 setup_sql="" out="" rounds=1 server_env=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scenarios) scenarios=$2; shift ;;
    --duration) duration=$2; shift ;;
    --warmup) warmup=$2; shift ;;
    --connections) connections=$2; shift ;;
    --batch-size) batch_size=$2; shift ;;
    --batch-connections) batch_connections=$2; shift ;;
    --sustained-duration) sustained_duration=$2; shift ;;
    --sustained-rate) sustained_rate=$2; shift ;;
    --sustained-batch) sustained_batch=$2; shift ;;
    --get-event) get_event=1 ;;
    --setup-sql) setup_sql=$2; shift ;;
    --out) out=$2; shift ;;
    --rounds) rounds=$2; shift ;;
    --server-env) server_env=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
command -v wrk >/dev/null || die "wrk not found (package wrk; scripts/ensure-deps.sh bench)"

setup_click_database click-ingest
while read -r id; do click_token "$id"; done <"$SCRATCH_DIR/users" >"$SCRATCH_DIR/tokens"
base="http://127.0.0.1:$CLICK_PORT"
[ -z "$setup_sql" ] || psql -X -q -v ON_ERROR_STOP=1 -c "$setup_sql"

report() {
  local line="ingest: $*"
  [ "${1#ingest-summary:}" = "$1" ] || line="$*"
  echo "$line"
  [ -z "$out" ] || echo "$line" >>"$out"
}
commits() { psql -X -q -At -c "select xact_commit from pg_stat_database where datname = current_database()"; }
clicks() { psql -X -q -At -c "select count(*) from api.feature_clicks"; }
cpu_load() { cut -d' ' -f1 /proc/loadavg; }

# CPU time (clock ticks) of a process, with its children that have ended (field 14-17 of /proc/PID/stat).
proc_ticks() { awk '{ print $14 + $15 + $16 + $17 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# Of the whole PostgreSQL cluster: the postmaster, the backends it has reaped and the ones still running.
pg_ticks() {
  local pm total child
  pm=$(head -1 "$SCRATCH_DIR/data/postmaster.pid")
  total=$(proc_ticks "$pm")
  for child in $(pgrep -P "$pm"); do total=$((total + $(proc_ticks "$child"))); done
  echo "$total"
}
# Busy and total ticks of the machine (all cores), from /proc/stat.
machine_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 }' /proc/stat; }

# wrk MODE CONNECTIONS ARG: a warm-up, then the measured run, with the CPU each side spent in it; prints
# "requests rps p50_ms p99_ms errors server_cpu_s postgres_cpu_s client_cpu_s machine_busy_pct".
run_wrk() {
  wrk -t2 -c"$2" -d"${warmup}s" --timeout 10s -s "$bench_dir/ingest.lua" "$base" -- "$1" "$SCRATCH_DIR/tokens" "$3" >/dev/null
  local s0 p0 m0 s1 p1 m1 result
  s0=$(proc_ticks "$CLICK_SERVER") p0=$(pg_ticks) m0=$(machine_ticks)
  result=$(/usr/bin/time -f "CLIENT_CPU %U %S" -o "$SCRATCH_DIR/wrk.time"     wrk -t2 -c"$2" -d"${duration}s" --timeout 10s -s "$bench_dir/ingest.lua" "$base" -- "$1" "$SCRATCH_DIR/tokens" "$3"     | grep '^INGEST_RESULT') || die "wrk printed no result"
  s1=$(proc_ticks "$CLICK_SERVER") p1=$(pg_ticks) m1=$(machine_ticks)
  python3 - "$result" "$(cat "$SCRATCH_DIR/wrk.time")" "$((s1 - s0))" "$((p1 - p0))" "$m0" "$m1" "$(getconf CLK_TCK)" <<'PY'
import sys
kv = dict(p.split("=") for p in sys.argv[1].split()[1:])
n, us = int(kv["requests"]), int(kv["duration_us"])
errors = sum(int(kv[k]) for k in ("non2xx", "connect", "read", "write", "timeout"))
client = sum(float(x) for x in sys.argv[2].split()[1:3])
tck = int(sys.argv[7])
(b0, t0), (b1, t1) = (map(int, sys.argv[i].split()) for i in (5, 6))
print(n, round(n / (us / 1e6)), round(int(kv["p50_us"]) / 1000, 1), round(int(kv["p99_us"]) / 1000, 1), errors,
      round(int(sys.argv[3]) / tck, 1), round(int(sys.argv[4]) / tck, 1), round(client, 1), round(100 * (b1 - b0) / max(1, t1 - t0)))
PY
}

# measure_ingest LABEL MODE CONNECTIONS EVENTS_PER_REQUEST: one wrk run of POSTs, with the commits and CPU it cost.
measure_ingest() {
  local c0 r0 c1 r1 requests rps p50 p99 errors server_s pg_s client_s busy events
  c0=$(commits) r0=$(clicks)
  read -r requests rps p50 p99 errors server_s pg_s client_s busy < <(run_wrk "$2" "$3" "$4")
  c1=$(commits) r1=$(clicks)
  events=$((r1 - r0))   # warm-up included, as in the commits
  report "scenario=$1 connections=$3 events_per_request=$4 requests=$requests req_per_s=$rps" \
    "events_per_s=$((rps * $4)) p50_ms=$p50 p99_ms=$p99 errors=$errors" \
    "events_per_commit=$(python3 -c "print(round($events / max(1, $c1 - $c0), 1))")" \
    "cpu_ms_per_1k_events: $(python3 -c "e = max(1, $requests * $4) / 1000; print(f'server={1000 * $server_s / e:.0f} postgres={1000 * $pg_s / e:.0f} client={1000 * $client_s / e:.0f}')")" \
    "machine_busy_pct=$busy load=$(cpu_load)"
  echo "$1 $((rps * $4)) $p50 $p99 $errors" >>"$SCRATCH_DIR/results"
}

# A group-commit server (the app's restgres.conf, plus --server-env), or with "off" one without group commit.
start_server() {
  # shellcheck disable=SC2086
  if [ "$1" = on ]; then start_click_server $server_env; else start_click_server PGRST_DB_GROUP_COMMIT=; fi
}
: >"$SCRATCH_DIR/results"
report "start commit=$(git -C "$root_dir" rev-parse --short HEAD 2>/dev/null || echo unknown) load=$(cpu_load) cores=$(nproc)" \
  "synchronous_commit=$(psql -X -q -At -c 'show synchronous_commit') fsync=$(psql -X -q -At -c 'show fsync') server_env=\"$server_env\""

# interleaved FUNC: FUNC on, then off (or off, then on: flipped each round, as a shared machine's load drifts),
# --rounds times.
interleaved() {
  local round gc order
  for round in $(seq 1 "$rounds"); do
    order="on off"
    [ $((round % 2)) = 1 ] || order="off on"
    for gc in $order; do "$1" "$gc"; done
  done
}

# /track with group commit (then GET by id on that server) or without.
single_round() {
  start_server "$1"
  if [ "$1" = on ]; then
    measure_ingest track-group-commit track "$connections" 1
    read -r _ rps p50 p99 errors _ < <(run_wrk get "$connections" "$(psql -X -q -At -c 'select max(id) from api.feature_clicks')")
    report "scenario=get-by-id connections=$connections req_per_s=$rps p50_ms=$p50 p99_ms=$p99 errors=$errors load=$(cpu_load)" \
      "(GET /feature_clicks?id=eq.N on the group-commit server, after its track run)"
    echo "get-by-id $rps $p50 $p99 $errors" >>"$SCRATCH_DIR/results"
  else
    measure_ingest track-no-group-commit track "$connections" 1
  fi
  stop_click_server
}

# /track/batch with feature_clicks added to db-group-commit ("on"), or with the app's config (batches not grouped).
batch_round() {
  if [ "$1" = on ]; then
    # shellcheck disable=SC2086
    start_click_server $server_env "PGRST_DB_GROUP_COMMIT=rpc/track, feature_clicks"
    measure_ingest track-batch-group-commit "batch" "$batch_connections" "$batch_size"
  else
    start_server on
    measure_ingest track-batch "batch" "$batch_connections" "$batch_size"
  fi
  stop_click_server
}

for scenario in $scenarios; do
  case "$scenario" in
    single) interleaved single_round ;;
    batch) interleaved batch_round ;;
    sustained)
      start_server on
      mode=batch
      [ "$sustained_batch" != 1 ] || mode=track
      : >"$SCRATCH_DIR/sustained.acks"
      python3 "$bench_dir/ingest_client.py" load --port "$CLICK_PORT" --secret "$CLICK_SECRET" --users "$SCRATCH_DIR/users" \
        --acks "$SCRATCH_DIR/sustained.acks" --summary "$SCRATCH_DIR/sustained.json" --duration "$sustained_duration" \
        --connections 32 --mode "$mode" --batch-size "$sustained_batch" \
        --rate "$(python3 -c "print($sustained_rate / 60)")" >/dev/null
      stop_click_server
      report "scenario=sustained target_events_per_min=$sustained_rate events_per_request=$sustained_batch $(python3 - "$SCRATCH_DIR/sustained.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
errors = s.get("failures", 0) + s.get("unanswered", 0) + sum(v for k, v in s["statuses"].items() if not k.startswith("2"))
print(f"seconds={s['seconds']} events={s.get('acknowledged', 0)} events_per_min={round(60 * s.get('acknowledged', 0) / s['seconds'])} "
      f"p50_ms={s['p50_ms']} p99_ms={s['p99_ms']} max_ms={s['max_ms']} max_behind_schedule_ms={s.get('max_behind_schedule_ms')} "
      f"errors={errors}")
with open(sys.argv[1] + ".line", "w") as f:
    f.write(f"sustained {round(s.get('acknowledged', 0) / s['seconds'])} {s['p50_ms']} {s['p99_ms']} {errors} {round(60 * s.get('acknowledged', 0) / s['seconds'])}\n")
PY
) load=$(cpu_load)"
      cat "$SCRATCH_DIR/sustained.json.line" >>"$SCRATCH_DIR/results"
      ;;
    *) die "unknown scenario '$scenario' (single, batch, sustained)" ;;
  esac
done

if [ "$get_event" = 1 ]; then
  shared="${SHARED_BENCH:-$root_dir/../shared/bench}"
  [ -x "$shared/run.sh" ] || die "--get-event needs the shared harness at $shared (SHARED_BENCH)"
  log "get_event with the shared A/B harness (its own cluster, synchronous_commit on)"
  result=$(cd "$root_dir" && PG_SYNC_COMMIT=on "$shared/run.sh" --name restgres --cmd "$RESTGRES_BIN" --scenarios get_event \
    --duration "$duration" --warmup "$warmup" --connections "$connections" server 2>&1 | tee "$SCRATCH_DIR/get_event.txt" \
    | grep -E '^\| *get_event' | head -1) || true
  report "scenario=ab-get_event connections=$connections harness_row=\"$result\" load=$(cpu_load)"
fi

# One line per figure of issue 14 §3, from the means over the rounds: the value, its bar, and whether it is met.
python3 - "$SCRATCH_DIR/results" "$(cpu_load)" "$sustained_rate" <<'PY' | while read -r line; do report "$line"; done
import sys
rows = {}
for line in open(sys.argv[1]):
    name, *values = line.split()
    rows.setdefault(name, []).append([float(v) for v in values])
mean = lambda name, i=0: sum(r[i] for r in rows[name]) / len(rows[name]) if name in rows else None
def line(figure, value, unit, bar=None, met=None, extra=""):
    text = f"ingest-summary: {figure}={value:,.0f} {unit}" if value is not None else f"ingest-summary: {figure}=not measured"
    if bar: text += f" bar={bar} met={'yes' if met else 'no'}"
    print(text + (" " + extra if extra else ""))
n = lambda name: f"rounds={len(rows.get(name, []))}"
pct = lambda name: f"p50_ms={mean(name, 1):.1f} p99_ms={mean(name, 2):.1f} errors={sum(r[3] for r in rows[name]):.0f}" if name in rows else ""
gc, off, get = mean("track-group-commit"), mean("track-no-group-commit"), mean("get-by-id")
line("track_group_commit", gc, "events/s", extra=f"{n('track-group-commit')} {pct('track-group-commit')}")
line("track_no_group_commit", off, "events/s", extra=f"{n('track-no-group-commit')} {pct('track-no-group-commit')}")
line("get_by_id", get, "req/s", extra=pct("get-by-id"))
if gc and off: print(f"ingest-summary: group_commit_vs_none={gc / off:.2f}x bar=2.00x met={'yes' if gc >= 2 * off else 'no'}")
if gc and get: print(f"ingest-summary: group_commit_vs_get_by_id={gc / get:.2f}x bar=0.85x met={'yes' if gc >= 0.85 * get else 'no'}")
batch = mean("track-batch")
line("batch", batch, "events/s", "50,000 events/s", batch is not None and batch >= 50000,
     f"{n('track-batch')} {pct('track-batch')} (the app's config: batches not grouped)")
line("batch_group_commit", mean("track-batch-group-commit"), "events/s",
     extra=pct("track-batch-group-commit") + " (feature_clicks added to db-group-commit)")
if "sustained" in rows:
    r = rows["sustained"][-1]
    target = float(sys.argv[3])
    print(f"ingest-summary: sustained={r[4]:,.0f} events/min target={target:,.0f} met={'yes' if r[4] >= 0.99 * target and r[3] == 0 else 'no'} "
          f"p50_ms={r[1]} p99_ms={r[2]} errors={r[3]:.0f}")
print(f"ingest-summary: load_average_at_end={sys.argv[2]}")
PY
