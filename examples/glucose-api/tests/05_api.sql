-- The old contract's functions and the plan's, as an analyst with a token's claims; what anon may not do.
BEGIN;
SELECT plan(23);

SET LOCAL ROLE analyst;
SET LOCAL request.jwt.claims = '{"sub":"analyst","user_id":"00000000-0000-0000-0000-000000000001","email":"analyst@example.com","role":"analyst"}';

SELECT is(api.readings() ->> 'source', 'postgres_marts', 'readings name their source');
SELECT is((api.readings() ->> 'count')::int, 30, 'every day by default');
SELECT is(json_array_length(api.readings() -> 'data'), 30, 'data holds the rows');
SELECT is(api.readings() -> 'data' -> 0 ->> 'date', '2026-01-30', 'newest first');
SELECT is((api.readings('2026-01-10', '2026-01-19') ->> 'count')::int, 10, 'a date range');
SELECT is((api.readings(NULL, NULL, 5) ->> 'count')::int, 5, 'a limit');
SELECT ok(api.readings() -> 'data' -> 0 ->> 'avg_glucose' IS NOT NULL, 'old field names, filled from the marts');
SELECT throws_ok($$SELECT api.readings(NULL, NULL, 10001)$$, 'PGRST', NULL, 'limit over 10000 refused');
SELECT throws_ok($$SELECT api.readings(NULL, NULL, 0)$$, 'PGRST', NULL, 'limit 0 refused');

SELECT is(api.daily_summary('2026-01-15') ->> 'date', '2026-01-15', 'a day''s summary');
SELECT cmp_ok((api.daily_summary('2026-01-15') ->> 'readings_count')::int, '>', 0, 'with its readings');
SELECT is(api.daily_summary('2020-01-01')::jsonb, '{"date": "2020-01-01", "avg_glucose": null, "min_glucose": null,
  "max_glucose": null, "readings_count": 0, "time_in_range_percent": null}'::jsonb, 'a day without data: nulls and 0');

SELECT is(json_array_length(api.hourly_patterns()), 24, 'hourly patterns: 24 hours');
SELECT is(api.hourly_patterns() -> 0 ->> 'hour_of_day', '0', 'from midnight');

SELECT is(api.statistics() ->> 'period', '7d', 'statistics default to 7 days');
SELECT is((api.statistics('30d') ->> 'days')::int, 30, '30 days');
SELECT is((api.statistics('30d') ->> 'readings_count')::bigint, (SELECT sum(reading_count) FROM marts.mrt_glucose_overview),
  '30 days hold every reading');
SELECT throws_ok($$SELECT api.statistics('8d')$$, 'PGRST', '{"code" : "GL422", "message" : "period must be one of 7d, 30d, 90d"}',
  'an unknown period is refused');
SELECT is(api.glucose_statistics(7) -> 'statistics' ->> 'avg_glucose' IS NOT NULL, true, 'the plan''s glucose_statistics');

SELECT is(api.user_info()::jsonb, '{"user_id": "00000000-0000-0000-0000-000000000001", "username": "analyst",
  "email": "analyst@example.com", "role": "analyst"}'::jsonb, 'user_info from the claims');
RESET ROLE;

-- Without data, statistics is null (the marts emptied in this transaction only).
DELETE FROM marts.mrt_glucose_overview;
SELECT is(api.glucose_statistics(7) ->> 'statistics', NULL, 'no data: statistics null');

SET LOCAL ROLE anon;
SELECT is(api.health_check()::jsonb, '{"status": "healthy", "service": "cascade-api"}'::jsonb, 'anon gets the health check');
SELECT is(api.service_info() ->> 'service', 'cascade-api', 'and the service info');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
