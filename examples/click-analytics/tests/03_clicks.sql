-- Tracking (RLS, idempotent event ids), the rollup's fold, analytics and the seed.
BEGIN;
SELECT plan(38);

SELECT is((SELECT count(*)::int FROM api.profiles), 55, 'the seed has 55 users');
SELECT is((SELECT count(*)::int FROM api.feature_clicks), 500, 'and 500 clicks');
SELECT is((SELECT array_agg(DISTINCT analytics.age_group(age) ORDER BY analytics.age_group(age)) FROM api.profiles),
  ARRAY['18-40', '<18', '>40'], 'in every age group');
SELECT is((SELECT min(age) || '-' || max(age) FROM api.profiles), '13-65', 'aged 13 to 65');
SELECT is((SELECT count(DISTINCT gender)::int FROM api.profiles), 3, 'of every gender');
SELECT is(analytics.seed_users(55), 0, 'seeding again adds nobody');
SELECT is(analytics.age_group(17) || analytics.age_group(18) || analytics.age_group(40) || analytics.age_group(41), '<1818-4018-40>40',
  'age groups: <18 = 0–17, 18-40, >40 = 41+');
SELECT is((SELECT sum(clicks)::int FROM analytics.unfolded_counts()), 500, 'the seeded clicks wait for the fold, counted');
SELECT is(analytics.fold_clicks(), 500::bigint, 'a fold adds every seeded click');
SELECT is((SELECT sum(clicks)::int FROM api.feature_rollup), 500, 'the rollup counts them');
SELECT is(analytics.fold_clicks(), 0::bigint, 'a second fold finds nothing new');

-- What the raw clicks say (profiles are private to their users, so counted before switching to a user's role).
CREATE TEMP TABLE young_women AS
  SELECT count(*)::int AS n FROM api.feature_clicks c JOIN api.profiles p ON p.id = c.user_id WHERE p.age < 18 AND p.gender = 'Female';
GRANT SELECT ON young_women TO authenticated;
SET LOCAL request.jwt.claims = '{"user_id": 1, "role": "authenticated"}';
SET LOCAL ROLE authenticated;
SELECT is(analytics.uid(), 1::bigint, 'the user comes from the claims');
SELECT is(api.track('chart_bar')::jsonb, '{"success": true, "message": "Event ''chart_bar'' tracked successfully"}'::jsonb,
  'track answers the old message');
SELECT is(api.track('date_picker', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11') ->> 'success', 'true', 'a click with an event id');
SELECT is(api.track('date_picker', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11') ->> 'success', 'true', 'its retry is answered the same');
SELECT is((SELECT count(*)::int FROM api.feature_clicks WHERE event_id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'), 1, 'and inserted once');
SELECT throws_like($$SELECT api.track('')$$, '%1 to 100%', 'an empty feature name is refused');
SELECT throws_ok($$INSERT INTO api.feature_clicks (user_id, feature_name) VALUES (2, 'x')$$, '42501', NULL,
  'user_id in a request is refused');
-- The policy itself, apart from the column grant: a role that may write user_id still cannot write another's.
RESET ROLE;
CREATE ROLE clicks_rls_probe IN ROLE authenticated;
GRANT INSERT ON api.feature_clicks TO clicks_rls_probe;
SET LOCAL ROLE clicks_rls_probe;
SELECT throws_ok($$INSERT INTO api.feature_clicks (user_id, feature_name) VALUES (2, 'x')$$, '42501',
  'new row violates row-level security policy for table "feature_clicks"', 'RLS: a click for another user is refused');
SELECT lives_ok($$INSERT INTO api.feature_clicks (user_id, feature_name) VALUES (1, 'chart_bar')$$, 'RLS: one''s own click is not');
RESET ROLE;
SET LOCAL ROLE authenticated;
SELECT is((SELECT sum(clicks)::int FROM analytics.unfolded_counts()), 3, 'this transaction''s clicks wait for the fold (the retry not counted)');
SELECT is(analytics.fold_clicks(), 0::bigint, 'a fold leaves the clicks of a transaction still running');
SELECT is((SELECT sum(clicks)::int FROM api.feature_rollup), 500, 'the rollup is unchanged');

SELECT is(json_array_length(api.analytics() -> 'feature_counts'), 6, 'analytics: the six features');
SELECT is((api.analytics(age_group => '>40', gender => 'Male', feature_name => 'nothing') -> 'daily_counts')::jsonb, '[]'::jsonb,
  'no match: empty daily counts');
SELECT throws_like($$SELECT api.analytics(age_group => '12-20')$$, '%<18, 18-40 or >40%', 'an unknown age group is refused');
SELECT throws_like($$SELECT api.analytics(start_date => 'yesterday-ish')$$, '%must be dates%', 'a bad date is refused');
SELECT is(json_array_length(api.analytics(feature_name => 'chart_bar') -> 'feature_counts'), 6,
  'feature_name does not narrow the feature counts');
SELECT is((SELECT sum((d ->> 'count')::int)::int FROM json_array_elements(api.analytics(feature_name => 'chart_bar') -> 'daily_counts') d),
  (SELECT count(*)::int FROM api.feature_clicks WHERE feature_name = 'chart_bar'), 'but narrows the daily counts to its clicks');
SELECT is((SELECT sum((d ->> 'count')::int)::int FROM json_array_elements(api.analytics(age_group => '<18', gender => 'Female') -> 'feature_counts') d),
  (SELECT n FROM young_women),
  'age group and gender filter the counts as the raw clicks say');
SELECT is((SELECT sum((d ->> 'count')::int)::int FROM json_array_elements(api.analytics(start_date => to_char(now() - interval '6 days', 'YYYY-MM-DD'),
  end_date => to_char(now(), 'YYYY-MM-DD')) -> 'daily_counts') d),
  (SELECT count(*)::int FROM api.feature_clicks WHERE ("timestamp" AT TIME ZONE 'UTC')::date BETWEEN (now() AT TIME ZONE 'UTC')::date - 6 AND (now() AT TIME ZONE 'UTC')::date),
  'a date range counts its days, both ends included');
SELECT is((SELECT array_agg(d ->> 'date') = array_agg(d ->> 'date' ORDER BY d ->> 'date') FROM json_array_elements(api.analytics() -> 'daily_counts') d),
  true, 'daily counts by date');
SELECT is((SELECT array_agg((d ->> 'count')::int) = array_agg((d ->> 'count')::int ORDER BY (d ->> 'count')::int DESC) FROM json_array_elements(api.analytics() -> 'feature_counts') d),
  true, 'feature counts by count, most first');
RESET ROLE;
SET LOCAL ROLE anon;
SELECT is(api.health()::jsonb, '{"status": "healthy"}'::jsonb, 'health');
SELECT is(api.service_info() ->> 'status', 'running', 'service info');
RESET ROLE;
SELECT is((SELECT sum((d ->> 'count')::int)::int FROM json_array_elements(api.analytics() -> 'feature_counts') d),
  (SELECT count(*)::int FROM api.feature_clicks), 'analytics counts the folded clicks and the ones waiting, each once');
SELECT is(analytics.generate_clicks(1000, 7, 0.1, '2026-01-01'), 1000::bigint, 'the generator writes the clicks asked for');
SELECT is((SELECT sum(clicks)::int FROM analytics.unfolded_counts() WHERE day BETWEEN '2025-12-25' AND '2025-12-31'), 1000,
  'in the days asked for, counted until the next fold');

SELECT * FROM finish();
ROLLBACK;
