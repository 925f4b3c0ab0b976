-- 001: the roles of PostgREST's recommended setup (docs: explanations/db_authz.rst) and the owner of the app.
--
--   anon           the role of requests without a token (or with the anon key): the public dashboard
--   authenticated  the role of requests with a signed-in user's token: an analyst
--   ab_owner       owns every object below, so that the SECURITY DEFINER functions run with the rights of a plain,
--                  non-superuser role and not as whoever ran the migrations
--
-- The login role the API connects as (authenticator) belongs to the deployment, not to the app: `restgres dev` and
-- the benchmark create it. When it exists it is made a member of the API roles, which PostgREST switches to per
-- request with SET ROLE.
--
-- Idempotent, like every migration here: `restgres dev` applies all of them on every start.

SET client_min_messages = warning;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
    CREATE ROLE anon NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
    CREATE ROLE authenticated NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'ab_owner') THEN
    CREATE ROLE ab_owner NOLOGIN;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    GRANT anon, authenticated TO authenticator;
  END IF;
END
$$;

-- PostgreSQL 15 no longer lets every role create objects in public; the owner needs it explicitly.
GRANT USAGE, CREATE ON SCHEMA public TO ab_owner;
GRANT USAGE ON SCHEMA public TO anon, authenticated;

-- Functions are executable by PUBLIC by default; nothing of this app should be unless granted below (007_grants.sql).
ALTER DEFAULT PRIVILEGES FOR ROLE ab_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;
