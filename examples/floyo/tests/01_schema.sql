-- Tables, RLS, grants, and the master migration's idempotency (run.sh applied it again over the seeded data).
BEGIN;
SELECT plan(20);

SELECT has_table('api', 'telemetry_events', 'telemetry events exist');
SELECT has_table('api', 'file_events', 'file events exist');
SELECT has_table('api', 'privacy_settings', 'privacy settings exist');
SELECT has_table('app', 'performance_metrics', 'performance metrics exist');
SELECT has_table('app', 'job_runs', 'the run log exists');
SELECT col_default_is('api', 'telemetry_events', 'app', 'web'::text, 'app defaults to web');
SELECT col_default_is('api', 'privacy_settings', 'retention_days', '14', 'retention defaults to 14 days');
SELECT ok((SELECT bool_and(relrowsecurity) FROM pg_class WHERE oid IN ('api.telemetry_events'::regclass, 'api.file_events'::regclass,
  'api.privacy_settings'::regclass)), 'RLS on every exposed table');
SELECT policies_are('api', 'file_events', ARRAY['own_file_events'], 'file events: the owner''s policy');
SELECT trigger_is('api', 'telemetry_events', 'telemetry_events_redact', 'app', 'redact_telemetry_meta', 'the redaction trigger');
SELECT ok(NOT has_table_privilege('authenticated', 'api.telemetry_events', 'INSERT'), 'telemetry is written only through ingest');
SELECT ok(NOT has_column_privilege('authenticated', 'api.file_events', 'user_id', 'INSERT'), 'user_id never comes from a request');
SELECT ok(NOT has_table_privilege('authenticated', 'app.performance_metrics', 'SELECT'), 'metrics are private');
SELECT ok(NOT has_function_privilege('authenticated', 'app.privacy_cleanup()', 'EXECUTE'), 'users cannot run the cleanup');
SELECT ok(has_function_privilege('floyo_scheduler', 'app.collect_metrics()', 'EXECUTE'), 'the scheduler role can run the jobs');
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE pronamespace IN ('api'::regnamespace, 'app'::regnamespace, 'auth'::regnamespace)
             AND has_function_privilege('public', p.oid, 'EXECUTE')), 0, 'no function is executable by PUBLIC');
-- The master migration ran again after the seed: an already-migrated database keeps its data.
SELECT is((SELECT count(*) FROM api.file_events), (SELECT file_events FROM public.seed_counts), 'file events kept');
SELECT is((SELECT count(*) FROM api.telemetry_events), (SELECT telemetry FROM public.seed_counts), 'telemetry kept');
SELECT is((SELECT count(*) FROM api.privacy_settings), (SELECT settings FROM public.seed_counts), 'settings kept');
SELECT is((SELECT count(*)::int FROM api.file_events), 300, 'the seed ran once (dev.sql twice)');

SELECT * FROM finish();
ROLLBACK;
