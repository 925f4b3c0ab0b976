# shellcheck shell=bash
# What the click analytics app's ingest benchmarks and durability test share: a throw-away cluster with
# synchronous_commit ON and fsync ON (an acknowledged click must survive a crash, and the figures must pay for the
# WAL flush they claim to save), the app's database with its 55 seed users, and the published restgres serving the
# app's own restgres.conf (routes, group commit on /track). Source it from a script in this folder.
#
#   setup_click_database NAME          cluster + database; writes $SCRATCH_DIR/users (the seed users' ids)
#   start_click_server [ENV=VALUE...]  restgres on $CLICK_PORT (PID in $CLICK_SERVER); waits until it answers
#   stop_click_server
#   click_token USER_ID                a token as register/login sign it (role authenticated)

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
app_dir="$(dirname "$bench_dir")"
root_dir="$(cd "$app_dir/../.." && pwd)"
# shellcheck source=../../../scripts/lib.sh
source "$root_dir/scripts/lib.sh"
# shellcheck source=../../../scripts/scratch-cluster.sh
source "$root_dir/scripts/scratch-cluster.sh"

CLICK_SECRET="click-ingest-secret-click-ingest-secret-0123"
CLICK_SERVER=""

setup_click_database() {
  [ -x "$RESTGRES_BIN" ] || die "no server at $RESTGRES_BIN: run scripts/publish.sh first"
  start_scratch_cluster "$1" "fsync = on" "synchronous_commit = on" "max_connections = 200"
  trap 'stop_click_server; _stop_scratch_cluster' EXIT
  create_app_database "$app_dir" clicks
  psql -X -q -At -c 'select analytics.seed_users(55)' >/dev/null
  psql -X -q -At -c 'select id from api.profiles order by id' >"$SCRATCH_DIR/users"
  [ "$(psql -X -q -At -c 'show synchronous_commit')" = on ] || die "synchronous_commit is not on"
  CLICK_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
}

start_click_server() {
  (cd "$app_dir" && exec env PGRST_DB_URI="postgresql://authenticator@127.0.0.1:$PGPORT/clicks" \
    JWT_SECRET="$CLICK_SECRET" PGRST_SERVER_PORT="$CLICK_PORT" PGRST_LOG_LEVEL=crit "$@" "$RESTGRES_BIN" restgres.conf) \
    >>"$SCRATCH_DIR/restgres.log" 2>&1 &
  CLICK_SERVER=$!
  local _
  for _ in $(seq 1 150); do
    curl -fs -o /dev/null "http://127.0.0.1:$CLICK_PORT/health" && return 0
    kill -0 "$CLICK_SERVER" 2>/dev/null || { tail -20 "$SCRATCH_DIR/restgres.log" >&2; die "restgres did not start"; }
    sleep 0.1
  done
  die "restgres did not answer /health within 15 s"
}

stop_click_server() {
  [ -n "$CLICK_SERVER" ] || return 0
  kill "$CLICK_SERVER" 2>/dev/null || true
  wait "$CLICK_SERVER" 2>/dev/null || true
  CLICK_SERVER=""
}

click_token() {
  python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import ingest_client; print(ingest_client.token(sys.argv[2], int(sys.argv[3])))' \
    "$bench_dir" "$CLICK_SECRET" "$1"
}
