-- The aggregates are snapshots: new rows show up after refresh_dashboard_aggregates(), which logs every run, and
-- the schedule in ../schedules.conf runs it every minute.
BEGIN;
SELECT plan(11);

CREATE TEMP TABLE before AS SELECT * FROM completion_time_distribution();
INSERT INTO completions (username, variant, completion_time_ms, created_at)
SELECT username, 'A', 400, now() FROM users WHERE variant = 'A' ORDER BY id LIMIT 3;

SELECT results_eq('SELECT variant, completions FROM completion_time_distribution()',
  'SELECT variant, completions FROM before ORDER BY variant',
  'new completions are not in the aggregates before a refresh');
SELECT is((SELECT count(*)::int FROM recent_completions(3) WHERE completion_time_ms = 400), 3,
  'but the live feed (recent_completions) shows them at once');

SELECT matches(refresh_dashboard_aggregates(), '^ok: 5 materialized views refreshed in \d+ ms$',
  'refresh_dashboard_aggregates() reports success');
SELECT is((SELECT completions FROM completion_time_distribution() WHERE variant = 'A'),
          (SELECT completions + 3 FROM before WHERE variant = 'A'),
          'after the refresh the distribution counts the new completions');
SELECT is((SELECT (h ->> 'count')::bigint FROM completion_time_distribution(), json_array_elements(histogram) h
           WHERE variant = 'A' AND (h ->> 'from_ms')::int = 0),
          (SELECT (h ->> 'count')::bigint + 3 FROM before, json_array_elements(histogram) h
           WHERE variant = 'A' AND (h ->> 'from_ms')::int = 0),
          'and its histogram');
SELECT is((SELECT best_time_ms FROM leaderboard('A', 1)), 400, 'and the leaderboard');
SELECT is((SELECT (v ->> 'best_completion_time_ms')::int FROM json_array_elements(variant_overview() -> 'variants') v
           WHERE v ->> 'variant' = 'A'), 400, 'and variant_overview()');

SELECT results_eq($$SELECT status, message FROM analytics_run_log WHERE job_name = 'refresh_dashboard_aggregates'
                    ORDER BY created_at DESC, id DESC LIMIT 1$$,
  $$VALUES ('ok', '5 materialized views refreshed')$$, 'the refresh is logged in analytics_run_log');
SELECT ok((SELECT duration_ms >= 0 FROM analytics_run_log WHERE job_name = 'refresh_dashboard_aggregates'
           ORDER BY created_at DESC, id DESC LIMIT 1), 'with its duration');

-- The schedule (../schedules.conf) runs the refresh as ab_scheduler, which may do that and nothing else.
SELECT ok(has_function_privilege('ab_scheduler', 'refresh_dashboard_aggregates()', 'EXECUTE'),
  'ab_scheduler, the role of the schedule, may run the refresh');
-- pg_cron: present in this throwaway cluster when postgresql-15-cron is installed (tests/run.sh preloads it).
SELECT CASE WHEN EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN
  is((SELECT count(*)::int FROM cron.job WHERE jobname = 'refresh_dashboard_aggregates'), 0,
     'the old pg_cron job of the migrations is gone: Restgres registers the schedule (restgres:refresh_dashboard_aggregates)')
  ELSE skip('pg_cron is not installed or not preloaded') END;

SELECT * FROM finish();
ROLLBACK;
