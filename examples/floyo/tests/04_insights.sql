-- Health, and patterns / stats / insights computed from the demo user's seeded file events (dev.sql).
BEGIN;
SELECT plan(22);

SET LOCAL ROLE anon;
SELECT is(api.health()::jsonb - 'timestamp' - 'uptime' - 'latency_ms',
  '{"status": "unhealthy", "checks": {"database": "ok", "environment": "missing"}, "version": "1.0.0"}', 'no environment named: unhealthy');
SELECT is(current_setting('response.status'), '503', 'and 503');
SELECT set_config('response.status', '', true);
SET LOCAL app.settings.environment = 'test';
SELECT is(api.health()::jsonb ->> 'status', 'healthy', 'healthy once the environment is named');
SELECT is(current_setting('response.status'), '', 'with no status of its own (200)');
SELECT ok(api.health()::jsonb ->> 'timestamp' ~ '^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$', 'the timestamp is ISO 8601, as toISOString()');
SELECT is(api.patterns()::jsonb, '{"error": "Unauthorized"}', 'patterns need a signed-in user');
SELECT is(current_setting('response.status'), '401', 'and 401');
RESET ROLE;

SET LOCAL request.jwt.claims = '{"sub": "d3e00000-0000-4000-8000-000000000001", "role": "authenticated"}';
SET LOCAL ROLE authenticated;
SELECT is(app.period_days(NULL) || ',' || app.period_days('') || ',' || app.period_days('7') || ',' || app.period_days('365'), '30,30,7,365',
  'days_back: 30 by default, 1..365');
SELECT is(app.period_days('0'), NULL, '0 is refused');
SELECT is(app.period_days('366') IS NULL AND app.period_days('1e3') IS NULL AND app.period_days('-1') IS NULL, true, 'and what is not 1..365');
SELECT is(api.stats('400')::jsonb, '{"error": "days_back must be an integer between 1 and 365"}', 'stats: a bad days_back is 400');
SELECT is(current_setting('response.status'), '400', 'status 400');

SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(api.stats()::jsonb) AS k),
  ARRAY['event_count', 'extensions', 'pattern_count', 'period_days', 'period_end', 'period_start', 'tools', 'unique_extensions', 'unique_tools'],
  'stats: the client''s keys');
SELECT is((api.stats()::jsonb ->> 'event_count')::int, (SELECT count(*)::int FROM api.file_events WHERE created_at >= now() - interval '30 days'),
  'stats count the last 30 days of events');
SELECT is((api.stats('365')::jsonb ->> 'event_count')::int, 300, 'a year: all 300');
SELECT is((api.stats('365')::jsonb -> 'unique_tools')::int, 5, 'five tools');
SELECT is((SELECT sum(value::int)::int FROM jsonb_each_text(api.stats('365')::jsonb -> 'tools')), 300, 'whose counts add up to the events');

SELECT is((SELECT array_agg(k ORDER BY k) FROM jsonb_object_keys(api.patterns()::jsonb -> 'patterns' -> 0) AS k),
  ARRAY['count', 'event_count', 'file_extension', 'id', 'last_used', 'tools'], 'patterns: the client''s keys');
SELECT is((api.patterns('365')::jsonb ->> 'count')::int, 7, 'one pattern per file type (seven)');
SELECT is((SELECT sum((p ->> 'event_count')::int)::int FROM jsonb_array_elements(api.patterns('365')::jsonb -> 'patterns') AS p), 300,
  'covering every event');
SELECT is(api.insights('365')::jsonb -> 'insights' -> 0 ->> 'type', 'top_extension', 'insights start with the top file type');
SELECT is((api.insights('365')::jsonb ->> 'count')::int, jsonb_array_length(api.insights('365')::jsonb -> 'insights'), 'count is the insights''');

SELECT * FROM finish();
ROLLBACK;
