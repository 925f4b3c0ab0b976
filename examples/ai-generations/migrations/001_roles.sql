-- 001: roles and extensions.
--
--   anon           requests without a token: register, login
--   authenticated  a signed-in user (the role in every token the app signs): request generations, read their own
--   aigen_owner    owns every object, so SECURITY DEFINER functions run as a plain role, not as a superuser
--
-- The login role the API connects as (authenticator) belongs to the deployment; when it exists it becomes a member
-- of the API roles (PostgREST switches to them per request with SET ROLE). Idempotent, like every migration here.

SET client_min_messages = warning;

DO $$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['anon', 'authenticated', 'aigen_owner'] LOOP
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
      EXECUTE format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    GRANT anon, authenticated TO authenticator;
  END IF;
END
$$;

-- pgcrypto (crypt, gen_salt, hmac) in its own schema, which the API does not expose.
CREATE SCHEMA IF NOT EXISTS extensions;
CREATE EXTENSION IF NOT EXISTS pgcrypto SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO aigen_owner;
