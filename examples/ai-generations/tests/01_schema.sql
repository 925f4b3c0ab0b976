-- The tables, their row-level security, the views and who may do what.
BEGIN;
SELECT plan(14);

SELECT has_table('api', 'generations', 'generations');
SELECT has_table('api', 'generation_logs', 'generation_logs');
SELECT col_default_is('api', 'generations', 'ai_status', 'pending', 'a generation starts pending');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'api.generations'::regclass), 'RLS on generations');
SELECT ok((SELECT relrowsecurity FROM pg_class WHERE oid = 'api.generation_logs'::regclass), 'RLS on generation_logs');
SELECT has_view('api', 'generation_daily', 'the success/failure view');
SELECT has_view('api', 'generation_durations', 'the duration view');
SELECT has_view('api', 'generation_attempts', 'the attempts view');
SELECT ok((SELECT 'security_invoker=true' = ANY (reloptions) FROM pg_class WHERE oid = 'api.generation_daily'::regclass),
  'the views apply the caller''s RLS');
SELECT ok(NOT has_table_privilege('anon', 'api.generations', 'SELECT'), 'anon reads no generations');
SELECT ok(NOT has_table_privilege('authenticated', 'api.generations', 'INSERT, UPDATE, DELETE'),
  'users write generations only through request_generation');
SELECT ok(NOT has_function_privilege('anon', 'api.request_generation(text, jsonb)', 'EXECUTE'), 'anon cannot request');
SELECT ok(NOT has_function_privilege('authenticated', 'ai.record_attempt(jsonb, jsonb)', 'EXECUTE'),
  'users cannot record attempts');
SELECT ok(has_function_privilege('authenticator', 'ai.record_attempt(jsonb, jsonb)', 'EXECUTE'),
  'the authenticator (the jobs engine''s workers) can');

SELECT * FROM finish();
ROLLBACK;
