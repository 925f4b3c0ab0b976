-- The schema the plan describes: tables, RLS, security_invoker views, roles and who may use what.
BEGIN;
SELECT plan(24);

SELECT has_table('auth', 'users', 'auth.users exists');
SELECT columns_are('auth', 'users', ARRAY['user_id', 'username', 'email', 'password_hash', 'role', 'is_active',
  'created_at', 'updated_at', 'last_login_at'], 'auth.users has the plan''s columns');
SELECT col_type_is('auth', 'users', 'user_id', 'uuid', 'users are identified by uuid');
SELECT ok((SELECT indpred IS NOT NULL FROM pg_index WHERE indexrelid = 'auth.users_active_username'::regclass),
  'active usernames have a partial index');
SELECT has_table('raw', 'glucose_readings', 'raw readings exist');
SELECT columns_are('marts', 'mrt_glucose_overview', ARRAY['reading_date', 'day_name', 'week_of_year', 'month', 'year',
  'reading_count', 'avg_glucose_mg_dl', 'min_glucose_mg_dl', 'max_glucose_mg_dl', 'stddev_glucose_mg_dl',
  'time_in_range_pct', 'time_below_range_pct', 'time_above_range_pct', 'estimated_a1c_pct', 'estimated_a1c_7d_avg_pct',
  'avg_glucose_change_mg_dl', 'coefficient_of_variation_pct'], 'the overview mart has the plan''s columns');
SELECT columns_are('marts', 'mrt_glucose_hourly_patterns', ARRAY['hour_of_day', 'day_of_week', 'day_name',
  'reading_count', 'avg_glucose_mg_dl', 'median_glucose_mg_dl', 'p25_glucose_mg_dl', 'p75_glucose_mg_dl',
  'time_in_range_pct', 'stddev_glucose_mg_dl'], 'the hourly mart has the plan''s columns');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'marts.mrt_glucose_overview'::regclass), 'RLS on the overview mart');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'marts.mrt_glucose_hourly_patterns'::regclass), 'RLS on the hourly mart');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'api.query_results'::regclass), 'RLS on query_results');
SELECT is((SELECT count(*)::int FROM pg_class WHERE relnamespace = 'api'::regnamespace AND relkind = 'v'
             AND 'security_invoker=true' = ANY (reloptions)), 3, 'the three api views are security_invoker');
SELECT has_role('anon', 'anon exists');
SELECT is_member_of('authenticated', 'analyst', 'analyst is an authenticated role');
SELECT is_member_of('authenticated', 'admin', 'admin is an authenticated role');
SELECT is_member_of('glucose_sql', 'admin', 'admin may switch to glucose_sql for ad-hoc SQL');
SELECT is_member_of('admin', 'authenticator', 'the authenticator may switch to admin');
SELECT ok(NOT pg_has_role('analyst', 'glucose_sql', 'MEMBER'), 'analysts cannot switch to glucose_sql');
SELECT ok(NOT has_schema_privilege('anon', 'auth', 'USAGE'), 'anon cannot see schema auth');
SELECT ok(NOT has_schema_privilege('authenticated', 'auth', 'USAGE'), 'signed-in users cannot see schema auth');
SELECT ok(NOT has_table_privilege('anon', 'api.glucose_readings', 'SELECT'), 'anon cannot read the readings view');
SELECT ok(has_table_privilege('analyst', 'api.glucose_readings', 'SELECT'), 'analysts read the readings view');
SELECT ok(has_function_privilege('anon', 'api.login(text, text)', 'EXECUTE'), 'anon may log in');
SELECT ok(NOT has_function_privilege('anon', 'api.statistics(text)', 'EXECUTE'), 'anon may not read statistics');
SELECT is((SELECT count(*)::int FROM pg_proc p WHERE pronamespace = 'api'::regnamespace
             AND has_function_privilege('public', p.oid, 'EXECUTE')), 0, 'no api function is executable by PUBLIC');

SELECT * FROM finish();
ROLLBACK;
