#!/usr/bin/env bash
# Run the PostgREST conformance corpus (../shared/conformance, see its README.md) against Restgres.
#
# For the default config (cases/) and then every cases-special/<config>/ directory: start
# artifacts/restgres/restgres with the spec's base PGRST_* environment plus that config's overrides, run
# run.py against it, stop it. The fixture database is (re)built with setup-db.sh before the first config, before
# every config that commits data, and after one that did (the README: "Re-run setup-db.sh before every full run").
# A server that does not start scores 0 for that config (its log tail is printed) and the run goes on.
#
# Usage: tests/conformance/run.sh [options]
#   --only NAME        run only this config: 'default' or a cases-special directory name (repeatable)
#   --filter SUBSTR    passed to run.py: only cases whose id/source/description contains SUBSTR (repeatable)
#   -v, --verbose      show run.py's output (every failure with its diff) instead of only its summary
#   --no-publish       reuse artifacts/restgres/restgres instead of running scripts/publish.sh first
#   --max-seconds N    cap for the whole run, setup included (default 1200; env CONFORMANCE_MAX_SECONDS)
#   --list             list the config names and exit
#   --replica          also start a streaming standby of the fixture cluster and serve reads from it
#                      (db-read-replicas; tests/conformance/replica.sh, docs/read-replicas.md)
#   --pgbouncer        through PgBouncer in transaction mode (scripts/pgbouncer.sh): db-uri names the pooler,
#                      db-listener-uri PostgreSQL itself, db-prepared-statements = false; results go to
#                      test-results/conformance-pgbouncer/ and the floor is tests/pgbouncer/floor
# Env: CONFORMANCE_DIR (default ../shared/conformance beside the repo), CONFORMANCE_START_TIMEOUT (default 60 s).
#
# Output: a per-config table, then 'conformance: N passed, M failed'. Files in test-results/conformance/:
# results.json (every config and case), <config>.json / <config>.txt (run.py report and output), logs/.
# A full run (no --only/--filter) exits 1 when N is below the number in tests/conformance/floor.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$HERE/../../scripts/lib.sh"
_script_name=conformance   # log() prefix; "run.sh" would be confused with the root run.sh
ROOT="$RESTGRES_ROOT"
HARNESS=(python3 "$HERE/harness.py")
RESULTS="$ROOT/test-results/conformance"
FLOOR_FILE="$HERE/floor"

only=()
filters=()
verbose=0
publish=1
list=0
replica=0
pgbouncer=0
max_seconds="${CONFORMANCE_MAX_SECONDS:-1200}"
start_timeout="${CONFORMANCE_START_TIMEOUT:-60}"
while [ $# -gt 0 ]; do
  case "$1" in
    --only) [ $# -ge 2 ] || die "--only needs a config name"; only+=("$2"); shift 2 ;;
    --only=*) only+=("${1#*=}"); shift ;;
    --filter) [ $# -ge 2 ] || die "--filter needs a substring"; filters+=("$2"); shift 2 ;;
    --filter=*) filters+=("${1#*=}"); shift ;;
    -v|--verbose) verbose=1; shift ;;
    --no-publish) publish=0; shift ;;
    --max-seconds) [ $# -ge 2 ] || die "--max-seconds needs a number"; max_seconds="$2"; shift 2 ;;
    --max-seconds=*) max_seconds="${1#*=}"; shift ;;
    --list) list=1; shift ;;
    --replica) replica=1; shift ;;
    --pgbouncer) pgbouncer=1; shift ;;
    -h|--help) sed -n '2,28p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
done
[[ "$max_seconds" =~ ^[0-9]+$ ]] || die "--max-seconds must be a whole number of seconds"

if [ "$pgbouncer" = 1 ]; then
  # shellcheck source=scripts/pgbouncer.sh
  source "$ROOT/scripts/pgbouncer.sh"
  RESULTS="$ROOT/test-results/conformance-pgbouncer"
  FLOOR_FILE="$ROOT/tests/pgbouncer/floor"
fi

CONF="${CONFORMANCE_DIR:-$ROOT/../shared/conformance}"
if [ ! -f "$CONF/run.py" ] || [ ! -f "$CONF/setup-db.sh" ]; then
  die "conformance corpus not found in $CONF (set CONFORMANCE_DIR; CI clones shared/ beside the repo)"
fi
CONF="$(cd "$CONF" && pwd)"

# Configs in a stable order: default first (it starts from the freshly built DB), then the special ones.
all_configs=(default)
for d in "$CONF"/cases-special/*/; do
  [ -f "$d/config.json" ] && all_configs+=("$(basename "$d")")
done
if [ "$list" = 1 ]; then printf '%s\n' "${all_configs[@]}"; exit 0; fi
configs=()
if [ ${#only[@]} -gt 0 ]; then
  for name in "${only[@]}"; do
    [[ " ${all_configs[*]} " == *" $name "* ]] || die "unknown config '$name' (see --list)"
    configs+=("$name")
  done
else
  configs=("${all_configs[@]}")
fi

"$ROOT/scripts/ensure-deps.sh" core
if [ "$pgbouncer" = 1 ]; then "$ROOT/scripts/ensure-deps.sh" pgbouncer; fi
if [ "$publish" = 1 ]; then "$ROOT/scripts/publish.sh"; fi
[ -x "$RESTGRES_BIN" ] || die "$RESTGRES_BIN not found; run scripts/publish.sh (or drop --no-publish)"

rm -rf "$RESULTS"
mkdir -p "$RESULTS/logs"

# Scratch space for the cluster. Run as root, setup-db.sh re-executes itself as the postgres user (PostgreSQL
# refuses root), so that user must be able to reach and write the data dir's parent.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/restgres-conformance.XXXXXX")"
mkdir "$WORK/pg"
if [ "$(id -u)" = 0 ]; then
  runas="${PGRST_CONF_RUNAS:-postgres}"
  id "$runas" >/dev/null 2>&1 || useradd -m "$runas" || die "cannot create the OS user $runas for PostgreSQL"
  chmod 711 "$WORK"
  chown "$runas" "$WORK/pg"
fi
# setup-db.sh runs as that user too; when the corpus sits under a directory it cannot enter (e.g. a 700 mktemp
# directory holding the clone and shared/), give it a readable copy of what the script reads.
SETUP="$CONF/setup-db.sh"
if [ "$(id -u)" = 0 ] && ! runuser -u "$runas" -- test -r "$SETUP"; then
  mkdir "$WORK/corpus"
  cp -r "$CONF/setup-db.sh" "$CONF/fixtures" "$CONF/tools" "$WORK/corpus/"
  chmod -R a+rX "$WORK/corpus"
  SETUP="$WORK/corpus/setup-db.sh"
fi
DATADIR="$WORK/pg/db"
if [ "$replica" = 1 ]; then
  # shellcheck source=tests/conformance/replica.sh
  source "$HERE/replica.sh"
fi
db_started=0
server_pid=""
runpy_pid=""

stop_server() {
  [ -n "$server_pid" ] || return 0
  if kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$server_pid" 2>/dev/null || true
  fi
  wait "$server_pid" 2>/dev/null || true
  server_pid=""
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$runpy_pid" ]; then kill -TERM "$runpy_pid" 2>/dev/null || true; wait "$runpy_pid" 2>/dev/null || true; fi
  stop_server
  if [ "$replica" = 1 ]; then replica_stop; fi
  if [ "$pgbouncer" = 1 ]; then stop_pgbouncer; fi
  if [ "$db_started" = 1 ]; then
    bash "$SETUP" --stop --datadir "$DATADIR" >/dev/null 2>&1 || log "warning: could not stop the cluster in $DATADIR"
  fi
  rm -rf "$WORK"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

setup_count=0
without_postgis=0
setup_db() {
  setup_count=$((setup_count + 1))
  local setup_log="$RESULTS/logs/setup-db-$setup_count.log" t0=$SECONDS
  stop_server   # it holds connections to the database being dropped
  if [ "$pgbouncer" = 1 ]; then stop_pgbouncer; fi   # and so does the pooler
  db_started=1
  if ! bash "$SETUP" --port "$pg_port" --datadir "$DATADIR" >"$setup_log" 2>&1; then
    tail -n 40 "$setup_log" >&2
    die "setup-db.sh failed (full log: ${setup_log#"$ROOT"/})"
  fi
  if grep -q '(postgis: no)' "$setup_log"; then
    [ "$without_postgis" = 1 ] || log "warning: PostGIS is not available; cases that require it are reported as skipped"
    without_postgis=1
  fi
  log "fixture database built on port $pg_port in $((SECONDS - t0))s"
  if [ "$replica" = 1 ]; then replica_setup; fi
  if [ "$pgbouncer" = 1 ]; then
    start_pgbouncer "$WORK/pgbouncer" "$pg_port" || die "pgbouncer did not start"
    log "pgbouncer (pool_mode = transaction) on port $PGBOUNCER_PORT in front of it"
  fi
}

# Prints the last lines of a server log, or a pointer to an identical earlier one (the stub fails the same way
# for all 29 configs; one copy is enough).
last_tail=""
last_tail_config=""   # empty until a tail was printed
show_log_tail() {
  local name="$1" file="$2" tail_text line
  tail_text="$(tail -n 20 "$file" 2>/dev/null || true)"
  if [ -n "$last_tail_config" ] && [ "$tail_text" = "$last_tail" ]; then
    log "  server log: same as for $last_tail_config (${file#"$ROOT"/})"
    return
  fi
  last_tail="$tail_text"
  last_tail_config="$name"
  log "  server log (${file#"$ROOT"/}, last 20 lines):"
  if [ -z "$tail_text" ]; then log "    (empty)"; return; fi
  while IFS= read -r line; do printf '    | %s\n' "$line" >&2; done <<<"$tail_text"
}

# Starts the server for one config; sets server_pid and http_port. Inherited PGRST_* variables are removed so a
# developer's shell cannot change what is tested.
start_server() {
  local env_file="$1" server_log="$2" cfg_env=() clear_env=() v
  mapfile -d '' cfg_env <"$env_file"
  [ ${#cfg_env[@]} -gt 0 ] || die "no server configuration in $env_file"
  if [ "$replica" = 1 ]; then cfg_env+=("$(replica_env)"); fi
  for v in $(compgen -e); do
    case "$v" in PGRST_*) clear_env+=(-u "$v") ;; esac
  done
  http_port="$("${HARNESS[@]}" free-port)"
  local direct="postgres://Postgrest_Test_Authenticator@127.0.0.1:$pg_port/postgres" db_env
  db_env=(PGRST_DB_URI="$direct")
  if [ "$pgbouncer" = 1 ]; then
    # Last, over the config's own db-prepared-statements: a transaction pooler cannot keep them.
    db_env=(PGRST_DB_URI="postgres://Postgrest_Test_Authenticator@127.0.0.1:$PGBOUNCER_PORT/postgres"
      PGRST_DB_LISTENER_URI="$direct" PGRST_DB_PREPARED_STATEMENTS=false)
  fi
  env "${clear_env[@]}" "${cfg_env[@]}" "${db_env[@]}" \
    PGRST_SERVER_HOST=127.0.0.1 PGRST_SERVER_PORT="$http_port" \
    "$RESTGRES_BIN" >"$server_log" 2>&1 </dev/null &
  server_pid=$!
}

# Waits until the server answers HTTP (any status but 503 "schema cache loading"). On failure prints why and
# returns 1; the caller still runs run.py, against a closed port, so every case is counted as failed.
wait_ready() {
  local deadline=$((SECONDS + start_timeout)) rc=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    if ! kill -0 "$server_pid" 2>/dev/null; then
      wait "$server_pid" 2>/dev/null || rc=$?
      server_pid=""
      note="server exited with code $rc at startup"
      return 1
    fi
    if "${HARNESS[@]}" probe "$http_port"; then return 0; fi
    sleep 0.2
  done
  note="server did not answer HTTP within ${start_timeout}s"
  stop_server
  return 1
}

started=$SECONDS
deadline=$((SECONDS + max_seconds))
pg_port="$("${HARNESS[@]}" free-port)"
# name, cases dir, stateful (0/1), case count per config; the server environment goes to $WORK/env/<name>.env
mkdir "$WORK/env"
mapfile -t plan < <("${HARNESS[@]}" prepare "$CONF" "$WORK/env" "${configs[@]}")
[ ${#plan[@]} -eq ${#configs[@]} ] || die "harness.py prepare failed"
rows="$WORK/rows.tsv"
: >"$rows"
dirty=1   # no database yet
i=0
for entry in "${plan[@]}"; do
  i=$((i + 1))
  IFS=$'\t' read -r name cases_dir stateful case_count <<<"$entry"
  report="$RESULTS/$name.json"
  output="$RESULTS/$name.txt"
  server_log="$RESULTS/logs/$name.server.log"
  note=""
  runpy=(python3 "$CONF/run.py" --cases "$cases_dir" --json-report "$report")
  for f in ${filters[@]+"${filters[@]}"}; do runpy+=(--filter "$f"); done
  if [ "$verbose" = 1 ]; then runpy+=(-v); fi

  if [ $((deadline - SECONDS)) -lt 15 ]; then
    # Out of time: still let run.py write a report, listing every case as not run.
    note="not run: the ${max_seconds}s cap was reached"
    runpy+=(--base-url "http://127.0.0.1:$pg_port" --max-seconds 0)
  else
    if [ "$dirty" = 1 ] || [ "$stateful" = 1 ]; then setup_db; dirty=0; fi
    if [ "$without_postgis" = 1 ]; then runpy+=(--without postgis); fi
    start_server "$WORK/env/$name.env" "$server_log"
    ready=0
    if wait_ready; then ready=1; else show_log_tail "$name" "$server_log"; fi
    left=$((deadline - SECONDS))
    [ "$left" -ge 1 ] || left=1
    runpy+=(--base-url "http://127.0.0.1:$http_port" --max-seconds "$left")
    # run.py (and thus requests) touched the database only if the server was up.
    if [ "$ready" = 1 ] && [ "$stateful" = 1 ]; then dirty=1; fi
  fi

  # timeout(1) backs up --max-seconds: run.py checks its clock only between requests (30 s timeout each).
  hard_limit=$((deadline - SECONDS + 60))
  [ "$hard_limit" -ge 60 ] || hard_limit=60
  # In the background + wait, so that Ctrl-C / SIGTERM reach our trap at once (timeout(1) runs in its own
  # process group, and bash runs traps only after a foreground child ends).
  PYTHONUNBUFFERED=1 timeout -k 10 "$hard_limit" "${runpy[@]}" >"$output" 2>&1 &
  runpy_pid=$!
  tail_pid=""
  if [ "$verbose" = 1 ]; then
    tail -n +1 -s 0.2 -f --pid="$runpy_pid" "$output" &
    tail_pid=$!
  fi
  rc=0
  wait "$runpy_pid" || rc=$?
  runpy_pid=""
  if [ -n "$tail_pid" ]; then wait "$tail_pid" || true; fi
  if [ "$rc" != 0 ]; then note="${note:+$note; }run.py exited with code $rc (see ${output#"$ROOT"/})"; fi

  if [ -n "$server_pid" ] && ! kill -0 "$server_pid" 2>/dev/null; then
    note="${note:+$note; }server exited during the run"
    show_log_tail "$name" "$server_log"
  fi
  stop_server
  printf '%s\t%s\t%s\t%s\n' "$name" "$report" "$case_count" "$note" >>"$rows"
  log "[$i/${#configs[@]}] $name: $(tail -n 1 "$output" 2>/dev/null || echo 'no output')${note:+ ($note)}"
done

echo
"${HARNESS[@]}" summarize "$rows" "$RESULTS/results.json"
read -r passed failed < <(python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print(r["passed"], r["failed"])' "$RESULTS/results.json")
log "took $((SECONDS - started))s; database built $setup_count time(s); results in ${RESULTS#"$ROOT"/}/"

floor=0
if [ -f "$FLOOR_FILE" ]; then
  floor="$(tr -d '[:space:]' <"$FLOOR_FILE")"
  [[ "$floor" =~ ^[0-9]+$ ]] || die "$FLOOR_FILE must hold one whole number, found '$floor'"
fi
echo "conformance: $passed passed, $failed failed"
if [ ${#only[@]} -gt 0 ] || [ ${#filters[@]} -gt 0 ]; then
  log "partial run (--only/--filter): floor ($floor) not checked"
elif [ "$passed" -lt "$floor" ]; then
  log "FAIL: $passed cases passed, below the floor of $floor in ${FLOOR_FILE#"$ROOT"/}"
  exit 1
else
  log "floor: $passed passed >= $floor (${FLOOR_FILE#"$ROOT"/}; raise it when the server improves)"
fi
