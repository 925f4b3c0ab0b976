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

# pg_ctl on the scratch cluster, as its owner (the durability test stops it with -m immediate and starts it again):
#   scratch_pg_ctl -m immediate stop;  scratch_pg_ctl -w -t 60 start
scratch_pg_ctl() {
  "${_scratch_as_pg[@]}" "$PGBIN/pg_ctl" -D "$SCRATCH_DIR/data" -l "$SCRATCH_DIR/server.log" "$@" >/dev/null
}

_stop_scratch_cluster() {
  "${_scratch_as_pg[@]}" "$PGBIN/pg_ctl" -D "$SCRATCH_DIR/data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$SCRATCH_DIR"
}

# An example app's database in the scratch cluster, as Restgres serves it: database DB, the authenticator role, the
# app's migrations applied once (APP_DIR/migrate.sh: `restgres migrate up`, recorded). Exports PGDATABASE. (The benchmarks and load tests use it as it is.) SQL_FILE (e.g.
# Restgres's own schema, which an app's migrations may use) runs before the migrations.
#   create_app_database APP_DIR DB [SQL_FILE]
create_app_database() {
  local app=$1
  export PGDATABASE=$2
  psql -X -q -d postgres -c "create database $PGDATABASE"
  psql -X -q -c 'create role authenticator login noinherit'
  if [ -n "${3:-}" ]; then
    psql -X -q -v ON_ERROR_STOP=1 -f "$3" >"$SCRATCH_DIR/pre-migrations.log" 2>&1 || { cat "$SCRATCH_DIR/pre-migrations.log" >&2; exit 1; }
  fi
  "$app/migrate.sh" 2>"$SCRATCH_DIR/migrate.log" >/dev/null || { cat "$SCRATCH_DIR/migrate.log" >&2; exit 1; }
}

# Every migration file of APP_DIR run once more with psql, outside the history `restgres migrate` keeps (which would
# apply nothing a second time): each file must be idempotent, so that a database migrated by hand, or half-way, can
# be taken over. The pgTAP suites then test a twice-migrated database.
#   reapply_migrations APP_DIR
reapply_migrations() {
  local dir=$1/migrations f
  [ -d "$1/supabase/migrations" ] && dir=$1/supabase/migrations
  for f in "$dir"/[0-9]*_*.sql; do
    psql -X -q -v ON_ERROR_STOP=1 -f "$f" >/dev/null 2>"$SCRATCH_DIR/reapply.log" \
      || { echo "$f is not idempotent:" >&2; cat "$SCRATCH_DIR/reapply.log" >&2; exit 1; }
  done
}

# An example app's database for its pgTAP suite, in the scratch cluster: database DB with the authenticator role, the
# app's migrations applied twice (by `restgres migrate`, then every file again: they must be idempotent),
# app.settings.jwt_secret set as Restgres sets it from its config (for the functions that sign tokens) and pgTAP
# installed. Exports PGDATABASE. SQL_FILE (e.g. Restgres's own schema, which an app's migrations may use) runs before
# the migrations.
#   prepare_app_database APP_DIR DB [SQL_FILE]
prepare_app_database() {
  command -v pg_prove >/dev/null || { echo "tests/run.sh: pg_prove not found (package postgresql-15-pgtap)" >&2; exit 1; }
  create_app_database "$@"
  reapply_migrations "$1"
  psql -X -q -c "alter database $PGDATABASE set app.settings.jwt_secret = 'pgtap-secret-pgtap-secret-pgtap-secret'"
  psql -X -q -c 'create extension if not exists pgtap'
}

# Runs the pgTAP files with pg_prove, then measures function coverage instead of assuming it: with track_functions =
# all (start_scratch_cluster ... "track_functions = all"), pg_stat_user_functions lists the functions of SCHEMAS the
# run called. Prints the share and returns non-zero when a test failed or a function was never called.
#   pgtap_with_coverage "auth api" FILE... [-- PG_PROVE OPTIONS...]
pgtap_with_coverage() {
  local schemas=$1; shift
  local files=() opts=() status=0
  while [ $# -gt 0 ] && [ "$1" != -- ]; do files+=("$1"); shift; done
  [ $# -gt 0 ] && shift && opts=("$@")
  psql -X -q -c 'select pg_stat_reset()' >/dev/null
  pg_prove "${opts[@]}" "${files[@]}" || status=$?
  # The statistics collector reports a backend's counts when it goes idle; the pg_prove sessions have ended.
  sleep 1
  psql -X -q -At -F ' ' -v schemas="{${schemas// /,}}" <<'SQL' >"$SCRATCH_DIR/coverage.txt"
select n.nspname || '.' || p.proname, coalesce(s.calls, 0)
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
left join pg_stat_user_functions s on s.funcid = p.oid
where n.nspname = any (:'schemas'::text[]) and p.prokind = 'f'
order by 1
SQL
  local total called
  total=$(wc -l <"$SCRATCH_DIR/coverage.txt")
  called=$(awk '$2 > 0' "$SCRATCH_DIR/coverage.txt" | wc -l)
  echo "function coverage: $called of $total functions of schemas ${schemas// /, } called ($((100 * called / (total > 0 ? total : 1))) %)"
  if [ "$called" -lt "$total" ] || [ "$total" -eq 0 ]; then
    echo "never called:" && awk '$2 == 0 { print "  " $1 }' "$SCRATCH_DIR/coverage.txt"
    status=1
  fi
  return $status
}

# This tree's Release build of restgres, built when missing (a published copy in artifacts/ may be older, and
# ./test.sh publishes only after the pgTAP stage): prints its path.
#   bin=$(scratch_restgres_bin)
scratch_restgres_bin() {
  local root bin
  root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  bin="$root/src/Restgres/bin/Release/net10.0/restgres"
  if [ ! -x "$bin" ]; then
    dotnet build "$root/src/Restgres/Restgres.csproj" -c Release --nologo -v quiet >&2 || return 1
  fi
  printf '%s\n' "$bin"
}

# `restgres check` on an example app's database (PGDATABASE, as prepare_app_database leaves it), against the app's
# committed expectations (APP_DIR/check.expect) and config (APP_DIR/restgres.conf, when there is one: db-schemas and
# db-anon-role decide what the lints call exposed; without one, PGRST_DB_SCHEMAS and PGRST_DB_ANON_ROLE). Run from
# the app's folder, as the server is, so that the config's relative paths resolve. Uses the Release build ./test.sh
# makes, building it when missing. Returns restgres check's exit status (0 clean, 1 findings, 2 could not check).
#   check_app_database APP_DIR
check_app_database() {
  local app=$1 bin conf=()
  bin=$(scratch_restgres_bin) || return 2
  [ -f "$app/restgres.conf" ] && conf=(restgres.conf)
  # The config's $(PGRST_DB_URI) and $(JWT_SECRET) must be set for it to be read; --db-uri decides the database and
  # nothing is signed.
  (cd "$app" && PGRST_DB_URI=${PGRST_DB_URI:-unused} JWT_SECRET=${JWT_SECRET:-restgres-check-signs-nothing-restgres-check} \
    "$bin" check --expect check.expect --db-uri "postgresql://$PGUSER@$PGHOST:$PGPORT/$PGDATABASE" "${conf[@]}")
}
