-- 001: roles and extensions of the migration plan.
--
--   anon           requests without a token: login and the health check only
--   authenticated  any signed-in user (the two roles below are members); the marts are readable to it
--   analyst        a user with role "analyst" in the token
--   admin          a user with role "admin" in the token; may run ad-hoc SQL (api.query_sql) as glucose_sql
--   glucose_sql    the low-privilege role ad-hoc SQL runs as: read access to the marts and raw readings, nothing else
--   glucose_owner  owns every object, so SECURITY DEFINER functions run as a plain role, not as a superuser
--
-- The login role the API connects as (authenticator) belongs to the deployment; when it exists it becomes a member
-- of the API roles (PostgREST switches to them per request with SET ROLE). Idempotent, like every migration here.

SET client_min_messages = warning;

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'glucose_sql', 'glucose_owner'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  FOREACH r IN ARRAY ARRAY['analyst', 'admin'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN IN ROLE authenticated', r);
    END IF;
  END LOOP;
  -- SET ROLE glucose_sql inside admin's ad-hoc query needs the membership.
  GRANT glucose_sql TO admin;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    GRANT anon, authenticated, analyst, admin TO authenticator;
  END IF;
END
$$;

-- pgcrypto (crypt, gen_salt, hmac) in its own schema, which the API does not expose.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO glucose_owner;
