# shellcheck shell=bash
# A throw-away PostgreSQL cluster for the example apps' pgTAP suites and benchmarks. Source it, then call
#   start_scratch_cluster NAME [postgresql.conf lines...]
# It creates a fresh cluster in a temporary directory on a free loopback port (fsync off, UTC), exports PGHOST,
# PGPORT and PGUSER=postgres, and stops and deletes it on exit, whatever happens. PGBIN overrides
# /usr/lib/postgresql/15/bin. Sets SCRATCH_DIR (logs may go there).

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# Whether the pg_cron library is installed (so that a suite can preload it).
have_pg_cron() {
  [ -f "$("$PGBIN/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/pg_cron.so" ]
}

start_scratch_cluster() {
  local name=$1; shift
  [ -x "$PGBIN/initdb" ] || { echo "$name: no initdb in $PGBIN (package postgresql-15)" >&2; exit 1; }
  SCRATCH_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$name.XXXXXX")
  _scratch_as_pg=()
  if [ "$(id -u)" = 0 ]; then   # PostgreSQL refuses to run as root
    chown postgres "$SCRATCH_DIR"
    _scratch_as_pg=(runuser -u postgres --)
  fi
  trap _stop_scratch_cluster EXIT
  local port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  "${_scratch_as_pg[@]}" "$PGBIN/initdb" -D "$SCRATCH_DIR/data" -U postgres -A trust --no-sync -E UTF8 >"$SCRATCH_DIR/initdb.log" 2>&1 \
    || { cat "$SCRATCH_DIR/initdb.log" >&2; exit 1; }
  {
    echo "listen_addresses = '127.0.0.1'"
    echo "port = $port"
    echo "unix_socket_directories = '$SCRATCH_DIR'"
    echo "fsync = off"
    echo "synchronous_commit = off"
    echo "timezone = 'UTC'"
    local line
    for line in "$@"; do echo "$line"; done
  } >>"$SCRATCH_DIR/data/postgresql.conf"
  "${_scratch_as_pg[@]}" "$PGBIN/pg_ctl" -D "$SCRATCH_DIR/data" -l "$SCRATCH_DIR/server.log" -w -t 60 start >/dev/null \
    || { cat "$SCRATCH_DIR/server.log" >&2; exit 1; }
  export PGHOST=127.0.0.1 PGPORT=$port PGUSER=postgres
}

_stop_scratch_cluster() {
  "${_scratch_as_pg[@]}" "$PGBIN/pg_ctl" -D "$SCRATCH_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$SCRATCH_DIR"
}
