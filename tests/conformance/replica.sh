# Sourced by run.sh --replica: a streaming standby of the fixture cluster, made with pg_basebackup after every
# setup-db.sh (which runs initdb afresh), and PGRST_DB_READ_REPLICAS naming it, so that the suite's GET reads are
# served by the standby (docs/read-replicas.md). Uses run.sh's WORK, DATADIR, pg_port, runas and log/die.
#
# The standby is asynchronous, as most are: a case that writes and then reads in a separate request without the
# Restgres-LSN token may read from a standby that has not replayed the write yet. CONFORMANCE_REPLICA_COMMIT=remote_apply
# makes it synchronous instead (synchronous_standby_names = '*', synchronous_commit = remote_apply): every commit
# returns once the standby has applied it, PostgreSQL's own read-your-writes for clients that send no token.

REPLICA_DIR="$WORK/pg/replica"
replica_port=""
PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"

# Runs a PostgreSQL program as the cluster's OS user (PostgreSQL refuses root).
as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u "$runas" -- "$@"; else "$@"; fi
}

replica_stop() {
  if [ -f "$REPLICA_DIR/postmaster.pid" ]; then
    as_pg "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -m immediate -w stop >/dev/null 2>&1 || true
  fi
}

# After setup-db.sh: allow replication from loopback, copy the cluster, start the copy as a hot standby, and wait
# until it has replayed everything the fixture load wrote (so the first cases read the same data on both).
replica_setup() {
  local t0=$SECONDS
  replica_stop
  rm -rf "$REPLICA_DIR"
  if ! grep -q '^host *replication' "$DATADIR/pg_hba.conf"; then
    echo "host    replication  all   127.0.0.1/32  trust" >>"$DATADIR/pg_hba.conf"
    as_pg "$PGBIN/pg_ctl" -D "$DATADIR" reload >/dev/null
  fi
  replica_port="$("${HARNESS[@]}" free-port)"
  as_pg "$PGBIN/pg_basebackup" -h 127.0.0.1 -p "$pg_port" -U postgres -D "$REPLICA_DIR" -R -X stream -c fast --no-sync -w \
    || die "pg_basebackup of the fixture cluster failed"
  rm -f "$REPLICA_DIR/server.log"
  as_pg sh -c "printf '%s\n' \"port = $replica_port\" \"unix_socket_directories = '$REPLICA_DIR'\" >>'$REPLICA_DIR/postgresql.conf'"
  as_pg "$PGBIN/pg_ctl" -D "$REPLICA_DIR" -l "$REPLICA_DIR/server.log" -w -t 60 start >/dev/null \
    || { tail -n 30 "$REPLICA_DIR/server.log" >&2; die "the standby did not start"; }
  local target
  target="$(psql -X -At -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres -c 'select pg_current_wal_insert_lsn()')"
  for _ in $(seq 300); do
    [ "$(psql -X -At -h 127.0.0.1 -p "$replica_port" -U postgres -d postgres \
      -c "select pg_last_wal_replay_lsn() >= '$target'")" = t ] && break
    sleep 0.1
  done
  if [ "${CONFORMANCE_REPLICA_COMMIT:-}" = remote_apply ]; then
    psql -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
      -c "alter system set synchronous_standby_names = '*'" -c "alter system set synchronous_commit = remote_apply" \
      -c "select pg_reload_conf()" >/dev/null
  fi
  log "standby of the fixture cluster on port $replica_port in $((SECONDS - t0))s (commit: ${CONFORMANCE_REPLICA_COMMIT:-asynchronous})"
}

# The server's extra environment: the standby as its read replica.
replica_env() {
  printf '%s\n' "PGRST_DB_READ_REPLICAS=postgres://Postgrest_Test_Authenticator@127.0.0.1:$replica_port/postgres"
}
