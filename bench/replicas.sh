#!/usr/bin/env bash
# Read replicas measured on one machine (docs/read-replicas.md): a primary and a streaming standby made with
# pg_basebackup on loopback, the published restgres twice on the primary (with the standby as db-read-replicas, and
# without), then:
#   - the cost of Restgres-LSN on writes: sequential POST latency with replicas vs without;
#   - replication lag: from a write's response to the standby having replayed its Restgres-LSN;
#   - read-your-writes: latency of a read sending the token right after the write, vs a read without it;
#   - wrk throughput of a read (served by the standby vs the primary) and of a write (with vs without the token).
#
#   bench/replicas.sh [--requests N] [--duration SECONDS]
#
# Needs PostgreSQL 15 (PGBIN), wrk and python3; publishes restgres first unless RESTGRES_BIN exists.
# Prints a markdown report, also written to bench/results/<date>-replicas.md.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/scripts/lib.sh"
_script_name=replicas

requests=300
duration=10
while [ $# -gt 0 ]; do
  case "$1" in
    --requests) requests=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) die "unknown argument '$1'" ;;
  esac
done

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}
command -v wrk >/dev/null || die "wrk not found"
[ -x "$RESTGRES_BIN" ] || "$RESTGRES_ROOT/scripts/publish.sh"

work=$(mktemp -d /tmp/restgres-replicas.XXXXXX)
chmod 711 "$work"
runas=""
if [ "$(id -u)" = 0 ]; then runas=postgres; id postgres >/dev/null 2>&1 || useradd --system postgres; chown postgres "$work"; fi
as_pg() { if [ -n "$runas" ]; then runuser -u "$runas" -- "$@"; else "$@"; fi; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for d in standby primary; do
    [ -f "$work/$d/postmaster.pid" ] && as_pg "$PGBIN/pg_ctl" -D "$work/$d" -m immediate -w stop >/dev/null 2>&1
  done
  rm -rf "$work"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
pport=$(free_port); sport=$(free_port)
as_pg "$PGBIN/initdb" -D "$work/primary" -U postgres --auth=trust --no-locale -E UTF8 --no-sync >/dev/null
# The defaults that matter for lag stay (synchronous_commit on, wal_level replica); fsync off keeps a shared
# machine's disk out of the figures.
as_pg sh -c "printf '%s\n' \"port = $pport\" \"listen_addresses = '127.0.0.1'\" \"unix_socket_directories = '$work/primary'\" 'fsync = off' >>'$work/primary/postgresql.conf'"
as_pg "$PGBIN/pg_ctl" -D "$work/primary" -l "$work/primary/server.log" -w start >/dev/null
psql -X -q -h 127.0.0.1 -p "$pport" -U postgres -d postgres -v ON_ERROR_STOP=1 <<'SQL'
create role authenticator login noinherit;
create role anon nologin;
grant anon to authenticator;
create schema api;
grant usage on schema api to anon;
create table api.notes (id bigint generated always as identity primary key, body text not null);
insert into api.notes (body) select 'note ' || i from generate_series(1, 1000) i;
grant select, insert on api.notes to anon;
create function api.replay_lsn() returns text stable language sql as $$ select pg_last_wal_replay_lsn()::text $$;
SQL
as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$work/standby" -R -X stream -c fast --no-sync -w
rm -f "$work/standby/server.log"
as_pg sh -c "printf '%s\n' \"port = $sport\" \"unix_socket_directories = '$work/standby'\" >>'$work/standby/postgresql.conf'"
as_pg "$PGBIN/pg_ctl" -D "$work/standby" -l "$work/standby/server.log" -w start >/dev/null

start_restgres() { # port, replicas
  env -u PGRST_DB_READ_REPLICAS PGRST_DB_URI="postgres://authenticator@127.0.0.1:$pport/postgres" PGRST_DB_SCHEMAS=api \
    PGRST_DB_ANON_ROLE=anon PGRST_SERVER_HOST=127.0.0.1 PGRST_SERVER_PORT="$1" PGRST_ADMIN_SERVER_PORT="$3" \
    ${2:+PGRST_DB_READ_REPLICAS="$2"} "$RESTGRES_BIN" >"$work/restgres-$1.log" 2>&1 &
  pids+=($!)
}
with=$(free_port); without=$(free_port); admin=$(free_port); admin2=$(free_port)
start_restgres "$with" "postgres://authenticator@127.0.0.1:$sport/postgres" "$admin"
start_restgres "$without" "" "$admin2"
for p in "$with" "$without"; do
  for _ in $(seq 300); do curl -sf "http://127.0.0.1:$p/notes?limit=1" >/dev/null && break; sleep 0.1; done
done
# Until the standby is in (its first health check).
for _ in $(seq 100); do curl -s "http://127.0.0.1:$admin/metrics" | grep -q 'restgres_db_replica_healthy{.*} 1' && break; sleep 0.1; done

report=$(python3 - "$with" "$without" "$requests" "$admin" <<'PY'
import json, statistics, sys, time, urllib.request
w, wo, n, admin = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def req(port, method, path, body=None, headers={}):
    r = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, method=method,
                               headers={"Content-Type": "application/json", **headers})
    t = time.perf_counter()
    with urllib.request.urlopen(r) as resp:
        data = resp.read(); hs = resp.headers
    return (time.perf_counter() - t) * 1000, data, hs
def lsn(s):
    hi, lo = s.split("/"); return (int(hi, 16) << 32) + int(lo, 16)
def metric(name):
    text = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics").read().decode()
    return {l.split("{")[1].split("}")[0]: float(l.split()[-1]) for l in text.splitlines() if l.startswith(name + "{")}
def stats(xs):
    xs = sorted(xs); return f"{statistics.mean(xs):.2f} / {xs[len(xs)//2]:.2f} / {xs[int(len(xs)*0.95)]:.2f}"
out = []
for port in (w, wo):  # warm-up
    for _ in range(50): req(port, "POST", "/notes", b'{"body":"warm"}'); req(port, "GET", "/notes?limit=1")
post_with, post_without, lags, tok, notok = [], [], [], [], []
for i in range(n):
    post_without.append(req(wo, "POST", "/notes", b'{"body":"x"}')[0])
    ms, _, hs = req(w, "POST", "/notes", b'{"body":"x"}', {"Prefer": "return=representation"})
    post_with.append(ms)
    token = hs["Restgres-LSN"]
    notok.append(req(w, "GET", "/notes?select=id&order=id.desc&limit=1")[0])
    tok.append(req(w, "GET", "/notes?select=id&order=id.desc&limit=1", headers={"Restgres-LSN": token})[0])
before = metric("restgres_db_pool_requests_total")
for i in range(n):
    _, _, hs = req(w, "POST", "/notes", b'{"body":"x"}')
    target, t0 = lsn(hs["Restgres-LSN"]), time.perf_counter()
    while lsn(json.loads(req(w, "GET", "/rpc/replay_lsn")[1])) < target: pass
    lags.append((time.perf_counter() - t0) * 1000)
served = {k: v - before.get(k, 0) for k, v in metric("restgres_db_pool_requests_total").items()}
out.append(f"| POST /notes, db-read-replicas set (Restgres-LSN read after COMMIT) | {stats(post_with)} |")
out.append(f"| POST /notes, no replicas | {stats(post_without)} |")
out.append(f"| GET right after the write, no token (standby, may miss the write) | {stats(notok)} |")
out.append(f"| GET right after the write, with its Restgres-LSN | {stats(tok)} |")
out.append(f"| write response → standby has replayed its Restgres-LSN (polled over HTTP) | {stats(lags)} |")
print("\n".join(out))
print(f"\n{n} of each, sequential, one client. Pools during the lag loop: {served}")
PY
)

wrk_rps() { wrk -t2 -c8 -d"${duration}s" "$@" 2>/dev/null | awk '/Requests\/sec/ {print $2}'; }
cat >"$work/post.lua" <<'LUA'
wrk.method = "POST"
wrk.body = '{"body":"wrk"}'
wrk.headers["Content-Type"] = "application/json"
LUA
# A B B A: the side that runs first in a pair tends to win it on a shared machine.
read_with=$(wrk_rps "http://127.0.0.1:$with/notes?limit=10")
read_without=$(wrk_rps "http://127.0.0.1:$without/notes?limit=10")
read_without="$read_without, $(wrk_rps "http://127.0.0.1:$without/notes?limit=10")"
read_with="$read_with, $(wrk_rps "http://127.0.0.1:$with/notes?limit=10")"
write_with=$(wrk_rps -s "$work/post.lua" "http://127.0.0.1:$with/notes")
write_without=$(wrk_rps -s "$work/post.lua" "http://127.0.0.1:$without/notes")
write_without="$write_without, $(wrk_rps -s "$work/post.lua" "http://127.0.0.1:$without/notes")"
write_with="$write_with, $(wrk_rps -s "$work/post.lua" "http://127.0.0.1:$with/notes")"

out="$RESTGRES_ROOT/bench/results/$(date -u +%Y-%m-%d)-replicas.md"
{
  echo "# Read replicas on one machine ($(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$RESTGRES_ROOT" rev-parse --short HEAD), load average $(cut -d' ' -f1 /proc/loadavg))"
  echo
  echo "| measurement | ms: mean / p50 / p95 |"
  echo "|---|---|"
  echo "$report"
  echo
  echo "| wrk, 2 threads, 8 connections, ${duration} s, run A B B A | req/s (each run) |"
  echo "|---|---|"
  echo "| GET /notes?limit=10 via the standby | $read_with |"
  echo "| GET /notes?limit=10 on the primary (no replicas) | $read_without |"
  echo "| POST /notes with replicas (token) | $write_with |"
  echo "| POST /notes without replicas | $write_without |"
} | tee "$out"
