-- 006: who may call what. Functions are not executable by PUBLIC (003's default privileges and the revokes below).

SET client_min_messages = warning;

GRANT USAGE ON SCHEMA api TO anon, authenticated;
GRANT USAGE ON SCHEMA ai, auth TO aigen_owner;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api, ai, auth FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.register(text, text), api.login(text, text) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION api.request_generation(text, jsonb) TO authenticated;
-- The column default and the RLS policies call it as the user.
GRANT USAGE ON SCHEMA ai TO authenticated;
GRANT EXECUTE ON FUNCTION ai.uid() TO authenticated;

-- Read-only for users: request_generation and the jobs engine (through ai.record_attempt) write.
GRANT SELECT ON api.generations, api.generation_logs, api.generation_daily, api.generation_durations,
  api.generation_attempts TO authenticated;

-- Restgres's own schema (restgres --schema-sql; `restgres dev` installs it before the migrations): request_generation
-- enqueues as the owner; the authenticator (the role Restgres connects as) keeps idempotency keys and runs the jobs
-- engine's workers, which call the attempt function as that role. When the schema or the role is missing (a database
-- being prepared in another order), these grants wait for the next run of the migrations.
DO $$
DECLARE
  f regprocedure;
BEGIN
  IF to_regnamespace('restgres') IS NOT NULL THEN
    GRANT USAGE ON SCHEMA restgres TO aigen_owner;
    FOR f IN SELECT p.oid FROM pg_proc AS p WHERE p.pronamespace = 'restgres'::regnamespace AND p.proname = 'enqueue' LOOP
      EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO aigen_owner', f);
    END LOOP;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    PERFORM ai.grant_runtime('authenticator');
  END IF;
END
$$;
