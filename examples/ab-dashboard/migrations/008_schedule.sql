-- 008: the aggregates are refreshed every minute by the job in ../schedules.conf (Restgres's server-schedules-file,
-- docs/schedules.md): Restgres registers it with pg_cron when pg_cron is installed in this database, and otherwise runs
-- it itself (one instance at a time), logging every run in restgres.schedule_runs. This file prepares both:
--   * the role the job runs as, ab_scheduler, which may call refresh_dashboard_aggregates() and nothing else; the
--     server's authenticator must be a member (grant ab_scheduler to authenticator; `restgres dev` does it);
--   * pg_cron itself, when this database can have it: the library must be in shared_preload_libraries and
--     cron.database_name must name this database (pg_cron runs jobs from one database per cluster). The server's
--     authenticator then needs usage on schema cron to register the job (`restgres dev` grants it).
-- Earlier versions of this file scheduled the refresh with cron.schedule directly; that job is removed here, so the
-- refresh runs once a minute, not twice.

SET client_min_messages = notice;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ab_scheduler') THEN
    CREATE ROLE ab_scheduler NOLOGIN;
  END IF;
END
$$;
GRANT EXECUTE ON FUNCTION refresh_dashboard_aggregates() TO ab_scheduler;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_available_extensions WHERE name = 'pg_cron') THEN
    RAISE NOTICE 'pg_cron is not installed: Restgres runs the refresh itself (schedules.conf, docs/schedules.md)';
  ELSIF current_setting('shared_preload_libraries') !~ '(^|[\s,])pg_cron($|[\s,])'
        OR current_setting('cron.database_name', true) IS NULL THEN
    RAISE NOTICE 'pg_cron is installed but not in shared_preload_libraries: Restgres runs the refresh itself (docs/schedules.md)';
  ELSIF current_setting('cron.database_name', true) <> current_database() THEN
    RAISE NOTICE 'pg_cron runs jobs in database %, not %: Restgres runs the refresh itself (docs/schedules.md)',
      current_setting('cron.database_name', true), current_database();
  ELSE
    PERFORM set_config('client_min_messages', 'warning', true);
    CREATE EXTENSION IF NOT EXISTS pg_cron;
    -- The job earlier versions of this file created; schedules.conf's job is named restgres:refresh_dashboard_aggregates.
    PERFORM cron.unschedule(jobid) FROM cron.job WHERE jobname = 'refresh_dashboard_aggregates';
  END IF;
END
$$;
