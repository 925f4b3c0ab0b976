-- 008: refresh the aggregates every minute with pg_cron (Debian package postgresql-15-cron), when this database can
-- have it: the library must be in shared_preload_libraries and cron.database_name must name this database (pg_cron
-- runs jobs from one database per cluster). `restgres dev` sets both for its own cluster.
--
-- Without pg_cron this file only says so, and the aggregates are as fresh as the last call of
-- refresh_dashboard_aggregates(): run it from any scheduler as a role that may (the owner or a superuser), e.g.
--   * * * * *  psql "$DATABASE_URL" -c 'select refresh_dashboard_aggregates()'
-- (docs/ab-dashboard.md, "Keeping the aggregates fresh"). `restgres dev` also refreshes on every start.

SET client_min_messages = notice;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_cron') THEN
    RAISE NOTICE 'pg_cron is not installed: schedule select refresh_dashboard_aggregates() elsewhere (docs/ab-dashboard.md)';
  ELSIF current_setting('shared_preload_libraries') !~ '(^|[\s,])pg_cron($|[\s,])'
        OR current_setting('cron.database_name', true) IS NULL THEN
    RAISE NOTICE 'pg_cron is installed but not in shared_preload_libraries: schedule select refresh_dashboard_aggregates() elsewhere (docs/ab-dashboard.md)';
  ELSIF current_setting('cron.database_name', true) <> current_database() THEN
    RAISE NOTICE 'pg_cron runs jobs in database %, not %: schedule select refresh_dashboard_aggregates() elsewhere (docs/ab-dashboard.md)',
      current_setting('cron.database_name', true), current_database();
  ELSE
    PERFORM set_config('client_min_messages', 'warning', true);
    CREATE EXTENSION IF NOT EXISTS pg_cron;
    -- cron.schedule replaces the job of the same name, so re-running keeps one job.
    PERFORM cron.schedule('refresh_dashboard_aggregates', '* * * * *', 'select refresh_dashboard_aggregates()');
  END IF;
END
$$;
