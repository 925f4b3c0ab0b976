-- The objects the migrations create: tables compatible with ../shared/bench/schema/ab.sql, the indexes the dashboard
-- needs, the materialized views, and functions that are SECURITY DEFINER, owned by ab_owner, with a fixed search_path.
BEGIN;
SELECT plan(40);

SELECT has_table('public', 'users', 'table users exists');
SELECT has_table('public', 'events', 'table events exists');
SELECT has_table('public', 'completions', 'table completions exists');
SELECT has_table('public', 'analytics_run_log', 'table analytics_run_log exists');
SELECT columns_are('public', 'users', ARRAY['id', 'username', 'variant', 'created_at'],
  'users has the benchmark''s columns');
SELECT columns_are('public', 'events', ARRAY['id', 'user_id', 'event_name', 'variant', 'properties', 'created_at'],
  'events has the benchmark''s columns');
SELECT columns_are('public', 'completions', ARRAY['id', 'username', 'variant', 'completion_time_ms', 'created_at'],
  'completions has the benchmark''s columns');
SELECT columns_are('public', 'analytics_run_log',
  ARRAY['id', 'job_name', 'status', 'duration_ms', 'message', 'created_at'], 'analytics_run_log has the issue''s columns');

SELECT has_index('public', 'events', 'events_variant_created_at_idx', ARRAY['variant', 'created_at'],
  'events is indexed on (variant, created_at)');
SELECT has_index('public', 'completions', 'completions_username_idx', ARRAY['username'],
  'completions is indexed on username');
SELECT has_index('public', 'completions', 'completions_created_at_idx', ARRAY['created_at'],
  'completions is indexed on created_at (recent_completions)');

SELECT has_view('public', 'v_conversion_funnel', 'view v_conversion_funnel exists');
SELECT columns_are('public', 'v_conversion_funnel',
  ARRAY['variant', 'viewed', 'started', 'completed', 'view_to_start_rate', 'start_to_complete_rate', 'conversion_rate'],
  'v_conversion_funnel has the benchmark''s columns');

SELECT has_materialized_view('public', mv, format('materialized view %s exists', mv))
FROM unnest(ARRAY['mv_completion_distribution', 'mv_conversion_funnel', 'mv_variant_stats', 'mv_variant_overview', 'mv_leaderboard']) AS mv;
SELECT materialized_view_owner_is('public', mv, 'ab_owner', format('%s is owned by ab_owner', mv))
FROM unnest(ARRAY['mv_completion_distribution', 'mv_conversion_funnel', 'mv_variant_stats', 'mv_variant_overview', 'mv_leaderboard']) AS mv;

-- Every API function: SECURITY DEFINER, owned by the non-superuser ab_owner, with search_path pinned.
SELECT is_definer('public', f, args, format('%s is SECURITY DEFINER', f))
FROM (VALUES ('variant_overview', ARRAY[]::name[]), ('recent_completions', ARRAY['integer']),
             ('completion_time_distribution', ARRAY[]::name[]), ('leaderboard', ARRAY['text', 'integer']),
             ('log_analytics_run', ARRAY['text', 'text', 'integer', 'text']),
             ('dashboard_status', ARRAY[]::name[]), ('refresh_dashboard_aggregates', ARRAY[]::name[])) AS t (f, args);
SELECT function_owner_is('public', f, args, 'ab_owner', format('%s is owned by ab_owner', f))
FROM (VALUES ('variant_overview', ARRAY[]::name[]), ('recent_completions', ARRAY['integer']),
             ('completion_time_distribution', ARRAY[]::name[]), ('leaderboard', ARRAY['text', 'integer']),
             ('log_analytics_run', ARRAY['text', 'text', 'integer', 'text']),
             ('dashboard_status', ARRAY[]::name[]), ('refresh_dashboard_aggregates', ARRAY[]::name[])) AS t (f, args);
SELECT is(
  (SELECT count(*)::int FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
   WHERE n.nspname = 'public' AND p.prosecdef
     AND NOT coalesce(p.proconfig @> ARRAY['search_path=public, pg_temp'], false)),
  0, 'no SECURITY DEFINER function in public runs without search_path = public, pg_temp');

SELECT function_returns('public', 'variant_overview', ARRAY[]::name[], 'json', 'variant_overview() returns json');
SELECT function_returns('public', 'log_analytics_run', ARRAY['text', 'text', 'integer', 'text'], 'bigint',
  'log_analytics_run() returns the new row''s id');

SELECT * FROM finish();
ROLLBACK;
