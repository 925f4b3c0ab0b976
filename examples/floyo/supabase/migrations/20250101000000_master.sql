-- The consolidated master migration: roles, schemas, extensions and the Supabase-style auth helpers every later
-- migration relies on. It is idempotent on purpose: a fresh database gets everything, a database that already went
-- through the project's older migrations (or through this one) is left as it is, so CI can apply it anywhere.
--
--   anon           requests without a token: ingest (telemetry from a signed-out page), health
--   authenticated  a signed-in user (Supabase's role for a user's token): their own events, settings and insights
--   floyo_owner    owns every object, so SECURITY DEFINER functions and jobs run as a plain role, not a superuser
--
-- The login role the API connects as (authenticator) belongs to the deployment; when it exists it becomes a member of
-- the API roles (PostgREST switches to them per request with SET ROLE).

SET client_min_messages = warning;

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'floyo_owner'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    GRANT anon, authenticated TO authenticator;
  END IF;
END
$$;

-- api: what Restgres exposes (db-schemas). auth: the claim helpers, as on Supabase. app: private tables and jobs.
CREATE SCHEMA IF NOT EXISTS api AUTHORIZATION floyo_owner;
CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION floyo_owner;
CREATE SCHEMA IF NOT EXISTS app AUTHORIZATION floyo_owner;
REVOKE ALL ON SCHEMA app FROM PUBLIC;
-- No function of ours is executable by PUBLIC unless granted (the grants name the roles).
ALTER DEFAULT PRIVILEGES FOR ROLE floyo_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

-- The token's claims, as Supabase's auth.jwt(): PostgREST (and Restgres) set request.jwt.claims per request; the
-- older per-claim settings (request.jwt.claim.sub) are read too, as Supabase does, for clients of PostgREST < 9.
CREATE OR REPLACE FUNCTION auth.jwt() RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT coalesce(nullif(current_setting('request.jwt.claim', true), ''),
                  nullif(current_setting('request.jwt.claims', true), ''), '{}')::jsonb
$$;
ALTER FUNCTION auth.jwt() OWNER TO floyo_owner;

-- The signed-in user: the token's sub as a uuid (Supabase's user ids); null without a token.
CREATE OR REPLACE FUNCTION auth.uid() RETURNS uuid
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT nullif(coalesce(nullif(current_setting('request.jwt.claim.sub', true), ''), auth.jwt() ->> 'sub'), '')::uuid
$$;
ALTER FUNCTION auth.uid() OWNER TO floyo_owner;

REVOKE EXECUTE ON FUNCTION auth.jwt(), auth.uid() FROM PUBLIC;
GRANT USAGE ON SCHEMA api, auth TO anon, authenticated;
GRANT EXECUTE ON FUNCTION auth.jwt(), auth.uid() TO anon, authenticated;
