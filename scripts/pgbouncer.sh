# shellcheck shell=bash
# PgBouncer in transaction mode on loopback, in front of a PostgreSQL on loopback (docs/scale-out.md). Source it, then
#   start_pgbouncer DIR PG_PORT [POOL_SIZE]
# writes DIR/pgbouncer.ini and DIR/userlist.txt, starts Debian's pgbouncer (scripts/ensure-deps.sh pgbouncer) on a
# free 127.0.0.1 port and waits until a query passes through it. Sets PGBOUNCER_PORT and PGBOUNCER_PID.
#   stop_pgbouncer                 SIGINT (its "safe shutdown"), then SIGKILL after 10 s
#   kill_pgbouncer                 SIGKILL: a crash, every client and server connection cut at once
#   restart_pgbouncer              start it again on the same port with the same files (after either of the above)
#
# Environment: PGBOUNCER_USERLIST (the auth file's lines, e.g. '"authenticator" "secret"'; then auth_type is
# scram-sha-256, for a cluster that checks passwords: PgBouncer logs in to PostgreSQL with that password) and
# PGBOUNCER_PROBE_URI (what the readiness check connects to; the port is added; default the postgres user's postgres
# database, trust).
#
# pool_mode = transaction: each transaction may run on another backend, so nothing that outlives a transaction
# works through it (LISTEN, session advisory locks, SET without LOCAL, prepared statements: PgBouncer 1.18 has no
# prepared-statement tracking). The auth file lists the cluster's own login roles (pg_authid), so the pooler accepts
# exactly the users PostgreSQL knows; auth_type = trust, because the throw-away clusters use trust (a cluster with
# passwords would use scram-sha-256 here, with the same file: pg_authid's secrets are what PgBouncer reads).
# Run as root, pgbouncer drops to the postgres user (it refuses to run as root); DIR is handed to that user.

_pgbouncer_dir=""
_pgbouncer_as=()

start_pgbouncer() {
  local dir=$1 pg_port=$2 pool_size=${3:-20}
  command -v pgbouncer >/dev/null 2>&1 || [ -x /usr/sbin/pgbouncer ] \
    || { echo "pgbouncer not installed: run scripts/ensure-deps.sh pgbouncer" >&2; return 1; }
  _pgbouncer_dir=$dir
  mkdir -p "$dir"
  _pgbouncer_as=()
  if [ "$(id -u)" = 0 ]; then
    chown postgres "$dir"
    _pgbouncer_as=(-u postgres)
  fi
  PGBOUNCER_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  local auth_type=trust
  if [ -n "${PGBOUNCER_USERLIST:-}" ]; then
    printf '%s\n' "$PGBOUNCER_USERLIST" >"$dir/userlist.txt"
    auth_type=scram-sha-256
  else
    # The cluster's login roles, in PgBouncer's auth_file format ("name" "secret", quotes doubled).
    psql -X -q -At -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c \
      "select '\"' || replace(rolname, '\"', '\"\"') || '\" \"' || coalesce(rolpassword, '') || '\"' from pg_authid where rolcanlogin" \
      >"$dir/userlist.txt" || { echo "cannot read the login roles from PostgreSQL on port $pg_port" >&2; return 1; }
  fi
  cat >"$dir/pgbouncer.ini" <<EOF
[databases]
* = host=127.0.0.1 port=$pg_port

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $PGBOUNCER_PORT
unix_socket_dir =
auth_type = $auth_type
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool_size
max_client_conn = 2000
admin_users = postgres
; Npgsql and other drivers send it in the startup packet; PgBouncer refuses unknown startup parameters.
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
EOF
  chmod a+r "$dir/pgbouncer.ini"
  [ "$(id -u)" != 0 ] || chown postgres "$dir/userlist.txt"
  restart_pgbouncer
}

restart_pgbouncer() {
  local pgb
  pgb=$(command -v pgbouncer || echo /usr/sbin/pgbouncer)
  rm -f "$_pgbouncer_dir/pgbouncer.pid"
  "$pgb" "${_pgbouncer_as[@]}" "$_pgbouncer_dir/pgbouncer.ini" >>"$_pgbouncer_dir/stdout.log" 2>&1 </dev/null &
  PGBOUNCER_PID=$!
  local _
  for _ in $(seq 100); do
    if psql -X -q -At "${PGBOUNCER_PROBE_URI:-postgresql://postgres@127.0.0.1/postgres}" -p "$PGBOUNCER_PORT" -c 'select 1' >/dev/null 2>&1; then return 0; fi
    kill -0 "$PGBOUNCER_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "pgbouncer did not start on port $PGBOUNCER_PORT:" >&2
  tail -n 20 "$_pgbouncer_dir/pgbouncer.log" "$_pgbouncer_dir/stdout.log" >&2 2>/dev/null || true
  return 1
}

stop_pgbouncer() {
  [ -n "${PGBOUNCER_PID:-}" ] || return 0
  kill -INT "$PGBOUNCER_PID" 2>/dev/null || true
  local _
  for _ in $(seq 100); do kill -0 "$PGBOUNCER_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$PGBOUNCER_PID" 2>/dev/null || true
  wait "$PGBOUNCER_PID" 2>/dev/null || true
  PGBOUNCER_PID=""
}

kill_pgbouncer() {
  [ -n "${PGBOUNCER_PID:-}" ] || return 0
  kill -KILL "$PGBOUNCER_PID" 2>/dev/null || true
  wait "$PGBOUNCER_PID" 2>/dev/null || true
  PGBOUNCER_PID=""
}
