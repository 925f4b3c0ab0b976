-- What anon (the public dashboard, the anon key) can and cannot do: read the dashboard's view and call its functions,
-- and nothing else. authenticated may also read the raw tables. Checked both in the catalog and by trying.
BEGIN;
SELECT plan(49);

-- ---------------------------------------------------------------- the catalog
SELECT table_privs_are('public', t, 'anon', ARRAY[]::text[], format('anon has no privilege on %s', t))
FROM unnest(ARRAY['users', 'events', 'completions', 'analytics_run_log']) AS t;
SELECT table_privs_are('public', 'v_conversion_funnel', 'anon', ARRAY['SELECT'], 'anon may only SELECT v_conversion_funnel');
SELECT table_privs_are('public', t, 'authenticated', ARRAY['SELECT'], format('authenticated may only SELECT %s', t))
FROM unnest(ARRAY['users', 'events', 'completions', 'analytics_run_log', 'v_conversion_funnel']) AS t;
SELECT is((SELECT count(*)::int FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = 'public' AND c.relkind = 'm'
             AND (has_table_privilege('anon', c.oid, 'SELECT') OR has_table_privilege('authenticated', c.oid, 'SELECT'))),
          0, 'no API role can read a materialized view directly');
SELECT function_privs_are('public', f, args, r, ARRAY['EXECUTE'], format('%s may execute %s', r, f))
FROM (VALUES ('variant_overview', ARRAY[]::name[]), ('recent_completions', ARRAY['integer']),
             ('completion_time_distribution', ARRAY[]::name[]), ('leaderboard', ARRAY['text', 'integer']),
             ('log_analytics_run', ARRAY['text', 'text', 'integer', 'text']), ('dashboard_status', ARRAY[]::name[])) AS f (f, args),
     unnest(ARRAY['anon', 'authenticated']) AS r;
SELECT function_privs_are('public', 'refresh_dashboard_aggregates', ARRAY[]::name[], r, ARRAY[]::text[],
  format('%s may not run the refresh', r))
FROM unnest(ARRAY['anon', 'authenticated']) AS r;
SELECT ok(NOT has_function_privilege('public', 'refresh_dashboard_aggregates()', 'EXECUTE'),
  'PUBLIC may not run the refresh either');
-- Row level security on the raw tables (restgres check: rls_disabled_in_exposed), one read policy for analysts.
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = format('public.%I', t)::regclass), format('%s has row level security on', t))
FROM unnest(ARRAY['users', 'events', 'completions', 'analytics_run_log']) AS t;
SELECT policies_are('public', t, ARRAY['analysts_read'], format('%s has only the analysts_read policy', t))
FROM unnest(ARRAY['users', 'events', 'completions', 'analytics_run_log']) AS t;
SELECT set_config('pgtap.events_seen_by_owner', (SELECT count(*) FROM events)::text, true);

-- ---------------------------------------------------------------- trying, as anon
SET LOCAL ROLE anon;
SELECT lives_ok('SELECT * FROM v_conversion_funnel', 'anon can read v_conversion_funnel');
SELECT lives_ok($$SELECT variant_overview(), recent_completions(5), completion_time_distribution(), leaderboard('A', 3), dashboard_status()$$,
  'anon can call the dashboard''s functions');
SELECT lives_ok($$SELECT log_analytics_run('smoke', 'ok', 5, 'anon may log a run')$$, 'anon can record a run');
SELECT throws_ok('SELECT * FROM ' || t, '42501', NULL, format('anon cannot read %s', t))
FROM unnest(ARRAY['users', 'events', 'completions', 'analytics_run_log', 'mv_leaderboard', 'mv_completion_distribution']) AS t;
SELECT throws_ok($$INSERT INTO events (user_id, event_name, variant) VALUES (1, 'page_view', 'A')$$, '42501', NULL,
  'anon cannot write events');
SELECT throws_ok('SELECT refresh_dashboard_aggregates()', '42501', NULL, 'anon cannot run the refresh');
SELECT throws_ok('DELETE FROM analytics_run_log', '42501', NULL, 'anon cannot delete the run log');
RESET ROLE;

-- ---------------------------------------------------------------- trying, as authenticated
SET LOCAL ROLE authenticated;
SELECT lives_ok('SELECT count(*) FROM events', 'authenticated can read the raw events');
SELECT is((SELECT count(*) FROM events)::text, current_setting('pgtap.events_seen_by_owner'),
  'authenticated reads every event through the analysts_read policy');
SELECT throws_ok($$UPDATE completions SET completion_time_ms = 1$$, '42501', NULL, 'authenticated cannot change completions');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
