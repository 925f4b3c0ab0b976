-- Tables, constraints, indexes, RLS and grants.
BEGIN;
SELECT plan(17);

SELECT has_table('api', 'profiles', 'profiles exist');
SELECT has_table('api', 'feature_clicks', 'feature_clicks exist');
SELECT has_table('api', 'feature_rollup', 'the rollup exists');
SELECT col_is_unique('api', 'profiles', 'username', 'usernames are unique');
SELECT throws_ok($$INSERT INTO api.profiles (id, username, age, gender) SELECT id, 'someone', 30, 'Unknown' FROM auth.users LIMIT 1$$,
  '23514', NULL, 'gender has a CHECK');
SELECT col_default_is('api', 'feature_clicks', 'timestamp', 'now()', 'timestamp defaults to now()');
SELECT is((SELECT amname::text FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'api.feature_clicks_timestamp_brin'::regclass),
  'brin', 'raw clicks are BRIN-indexed on timestamp');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'api.feature_clicks'::regclass), 'RLS on clicks');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'api.profiles'::regclass), 'RLS on profiles');
SELECT hasnt_trigger('api', 'feature_clicks', 'feature_clicks_rollup', 'no per-insert rollup trigger: the rollup is folded (006)');
SELECT ok(NOT has_schema_privilege('authenticated', 'auth', 'USAGE'), 'signed-in users cannot see schema auth');
SELECT ok(NOT has_column_privilege('authenticated', 'api.feature_clicks', 'user_id', 'INSERT'), 'user_id never comes from a request');
SELECT ok(has_column_privilege('authenticated', 'api.feature_clicks', 'event_id', 'INSERT'), 'event_id may');
SELECT ok(NOT has_table_privilege('authenticated', 'api.feature_rollup', 'INSERT'), 'users do not write the rollup');
SELECT ok(NOT has_table_privilege('authenticated', 'analytics.rollup_state', 'UPDATE'), 'nor move the fold''s watermark');
SELECT ok(NOT has_function_privilege('anon', 'api.track(text, uuid)', 'EXECUTE'), 'anon may not track');
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE pronamespace IN ('api'::regnamespace, 'analytics'::regnamespace, 'auth'::regnamespace)
             AND has_function_privilege('public', p.oid, 'EXECUTE')), 0, 'no function is executable by PUBLIC');

SELECT * FROM finish();
ROLLBACK;
