#!/usr/bin/env bash
# Rolling restart under load with server-reuseport (issue 17 §3, docs/scale-out.md): instance A serves a port, a load
# client runs, B starts on the same port, A gets SIGTERM; then C starts and B gets SIGTERM. Every request the client
# sent must be answered 200: it prints the counts and exits 1 on any failed request.
#
#   bench/rolling-restart.sh [--connections N] [--settle S] [--no-publish]
#
# --connections  load client connections (keep-alive, one thread each; default 16)
# --settle       seconds of load before and between the steps (default 3)
# The client (python3, no retries) counts a refused or reset connection, a request without an answer and any status
# but 200 as failures, by kind. Each instance has its own admin port; a new one takes traffic once /ready says so.
# The database is a throw-away cluster (scripts/scratch-cluster.sh) with one table; the requests are reads and writes.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"
# shellcheck source=scripts/scratch-cluster.sh
source "$RESTGRES_ROOT/scripts/scratch-cluster.sh"

connections=16 settle=3 publish=1
while [ $# -gt 0 ]; do
  case "$1" in
    --connections) connections=$2; shift ;;
    --settle) settle=$2; shift ;;
    --no-publish) publish=0 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument '$1' (see --help)" ;;
  esac
  shift
done
"$RESTGRES_ROOT/scripts/ensure-deps.sh" core
[ "$publish" = 0 ] || "$RESTGRES_ROOT/scripts/publish.sh" >&2
[ -x "$RESTGRES_BIN" ] || die "$RESTGRES_BIN not found (drop --no-publish)"

start_scratch_cluster restgres-rolling "max_connections = 100"
psql -X -q -v ON_ERROR_STOP=1 -d postgres <<'SQL'
create role authenticator login noinherit;
create role anon nologin;
grant anon to authenticator;
create table items (id bigint generated always as identity primary key, name text not null);
insert into items (name) select 'item ' || g from generate_series(1, 100) g;
grant select, insert on items to anon;
SQL
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
pids=()
names=()

# start NAME: a server on the shared port with reuseport and an admin port of its own; waits for /ready.
start() {
  local name=$1 admin
  admin=$(free_port)
  env PGRST_DB_URI="postgres://authenticator@127.0.0.1:$PGPORT/postgres" PGRST_DB_SCHEMAS=public \
    PGRST_DB_ANON_ROLE=anon PGRST_SERVER_HOST=127.0.0.1 PGRST_SERVER_PORT="$port" PGRST_SERVER_REUSEPORT=true \
    PGRST_ADMIN_SERVER_PORT="$admin" PGRST_DB_POOL=5 PGRST_LOG_LEVEL=warn \
    "$RESTGRES_BIN" >"$SCRATCH_DIR/$name.log" 2>&1 &
  pids+=($!)
  names+=("$name")
  local _
  for _ in $(seq 1 300); do
    if curl -fs -o /dev/null "http://127.0.0.1:$admin/ready"; then log "$name ready (pid ${pids[-1]}, admin port $admin)"; return 0; fi
    sleep 0.1
  done
  tail -n 20 "$SCRATCH_DIR/$name.log" >&2
  die "$name did not become ready"
}

# stop INDEX: SIGTERM, wait for the exit (graceful: in-flight requests are answered).
stop() {
  local i=$1 t0=$SECONDS rc=0
  kill -TERM "${pids[$i]}"
  wait "${pids[$i]}" || rc=$?
  log "${names[$i]} exited with status $rc after SIGTERM ($((SECONDS - t0)) s)"
  pids[$i]=""
}

cleanup_servers() {
  local p
  for p in "${pids[@]}"; do [ -z "$p" ] || kill -KILL "$p" 2>/dev/null || true; done
  [ -z "${client:-}" ] || kill "$client" 2>/dev/null || true
  _stop_scratch_cluster
}
trap cleanup_servers EXIT

start A
stop_file="$SCRATCH_DIR/stop"
python3 - "$port" "$connections" "$stop_file" >"$SCRATCH_DIR/client.json" <<'PY' &
import http.client, json, os, sys, threading, collections
port, n, stop = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
counts = collections.Counter()
lock = threading.Lock()
def worker(i):
    conn, local = None, collections.Counter()
    k = 0
    while not os.path.exists(stop):
        k += 1
        try:
            if conn is None:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                local["connections"] += 1
            if k % 10 == 0:
                conn.request("POST", "/items", body=b'{"name":"rolling"}', headers={"Content-Type": "application/json"})
                want = 201
            else:
                conn.request("GET", f"/items?id=eq.{k % 100 + 1}")
                want = 200
            r = conn.getresponse()
            r.read()
            local["ok" if r.status == want else f"status {r.status}"] += 1
            if r.getheader("Connection", "").lower() == "close":
                conn.close(); conn = None
        except (ConnectionError, http.client.HTTPException, OSError) as e:
            local["failed: " + type(e).__name__] += 1
            if conn is not None: conn.close()
            conn = None
    with lock:
        counts.update(local)
threads = [threading.Thread(target=worker, args=(i,)) for i in range(n)]
for t in threads: t.start()
for t in threads: t.join()
print(json.dumps(counts))
PY
client=$!
sleep "$settle"
start B
sleep "$settle"
stop 0
sleep "$settle"
start C
sleep "$settle"
stop 1
sleep "$settle"
touch "$stop_file"
wait "$client"
client=""
python3 - "$SCRATCH_DIR/client.json" "$connections" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
ok = c.pop("ok", 0); conns = c.pop("connections", 0)
failed = sum(c.values())
print(f"rolling restart A -> B -> C on one port (server-reuseport), {sys.argv[2]} keep-alive connections: "
      f"{ok + failed} requests, {ok} answered as expected, {failed} failed; {conns} connections opened")
for k, v in sorted(c.items()): print(f"  {k}: {v}")
sys.exit(1 if failed else 0)
PY
