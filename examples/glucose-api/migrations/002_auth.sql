-- 002: users, password checks and token signing (schema auth, not exposed by the API).

SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS auth AUTHORIZATION glucose_owner;

CREATE TABLE IF NOT EXISTS auth.users (
  user_id       uuid PRIMARY KEY DEFAULT extensions.gen_random_uuid(),
  username      text NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 100),
  email         text NOT NULL UNIQUE CHECK (position('@' IN email) > 1),
  password_hash text NOT NULL,
  role          text NOT NULL CHECK (role IN ('analyst', 'admin')),
  is_active     boolean NOT NULL DEFAULT true,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  last_login_at timestamptz
);
ALTER TABLE auth.users OWNER TO glucose_owner;
-- Logins look up active users by name.
CREATE INDEX IF NOT EXISTS users_active_username ON auth.users (username) WHERE is_active;

-- Whether a password matches a bcrypt hash. The old service stored passlib's "$2b$" hashes; pgcrypto's crypt() only
-- knows the "$2a$" prefix, so the plan's check `password_hash = crypt(password, password_hash)` rejects every migrated
-- user. $2a$, $2b$ and $2y$ name the same algorithm (2b only fixed OpenBSD's length counter for passwords over 255
-- bytes, and bcrypt reads at most 72), so the hash is checked under the $2a$ prefix. Anything that is not a bcrypt
-- hash never matches.
CREATE OR REPLACE FUNCTION auth.password_matches(password text, password_hash text) RETURNS boolean
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = ''
AS $$
  SELECT password_hash ~ '^\$2[aby]\$[0-9]{2}\$[./A-Za-z0-9]{53}$'
     AND extensions.crypt(password, '$2a$' || substr(password_hash, 5)) = '$2a$' || substr(password_hash, 5)
$$;
ALTER FUNCTION auth.password_matches(text, text) OWNER TO glucose_owner;

-- A bcrypt hash for a new password, at the imported users' cost (10), which the login's stand-in hash for a missing
-- user has too: every failed login costs the same.
CREATE OR REPLACE FUNCTION auth.hash_password(password text) RETURNS text
LANGUAGE sql VOLATILE STRICT
SET search_path = ''
AS $$ SELECT extensions.crypt(password, extensions.gen_salt('bf', 10)) $$;
ALTER FUNCTION auth.hash_password(text) OWNER TO glucose_owner;

-- base64url without padding (RFC 7515 §2).
CREATE OR REPLACE FUNCTION auth.base64url(data bytea) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = ''
AS $$ SELECT translate(encode(data, 'base64'), E'+/=\n', '-_') $$;
ALTER FUNCTION auth.base64url(bytea) OWNER TO glucose_owner;

-- The token secret: app.settings.jwt_secret, which Restgres (like PostgREST) sets from its config, where it comes from
-- the environment (`app.settings.jwt_secret = "$(JWT_SECRET)"`). Refuses to sign with a missing or short secret.
CREATE OR REPLACE FUNCTION auth.jwt_secret() RETURNS text
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  secret text := current_setting('app.settings.jwt_secret', true);
BEGIN
  IF secret IS NULL OR length(secret) < 32 THEN
    RAISE EXCEPTION 'app.settings.jwt_secret is not set or shorter than 32 characters' USING ERRCODE = 'GL500';
  END IF;
  RETURN secret;
END
$$;
ALTER FUNCTION auth.jwt_secret() OWNER TO glucose_owner;

-- An HS256 JWT for the claims (pgjwt is not packaged for Debian; this is its sign() in three lines).
CREATE OR REPLACE FUNCTION auth.sign(claims json, secret text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT
SET search_path = ''
AS $$
  WITH parts AS (
    SELECT auth.base64url(convert_to('{"alg":"HS256","typ":"JWT"}', 'UTF8')) || '.'
           || auth.base64url(convert_to(claims::text, 'UTF8')) AS signed
  )
  SELECT signed || '.' || auth.base64url(extensions.hmac(convert_to(signed, 'UTF8'), convert_to(secret, 'UTF8'), 'sha256'))
  FROM parts
$$;
ALTER FUNCTION auth.sign(json, text) OWNER TO glucose_owner;

-- The claims of the old service's tokens (sub = username, user_id, email, role, exp) plus the plan's audience and
-- Hasura namespace.
CREATE OR REPLACE FUNCTION auth.token_claims(u auth.users, lifetime_s integer) RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT json_build_object(
    'sub', u.username,
    'user_id', u.user_id,
    'email', u.email,
    'role', u.role,
    'aud', 'phlo-api',
    'iat', floor(extract(epoch FROM now()))::bigint,
    'exp', floor(extract(epoch FROM now()))::bigint + lifetime_s,
    'https://hasura.io/jwt/claims', json_build_object(
      'x-hasura-allowed-roles', json_build_array(u.role),
      'x-hasura-default-role', u.role,
      'x-hasura-user-id', u.user_id::text))
$$;
ALTER FUNCTION auth.token_claims(auth.users, integer) OWNER TO glucose_owner;

-- Users of the old service, with the hashes passlib made for them (bcrypt $2b$, cost 10): admin/admin123,
-- analyst/analyst123 and an inactive one (inactive/inactive123).
INSERT INTO auth.users (username, email, password_hash, role, is_active) VALUES
  ('admin',    'admin@example.com',    '$2b$10$uSQ0m2cU37VPFIfqScJ6V.euH/Sc3dRHjRONrOuVE3Sz/Uu5dxOEK', 'admin',   true),
  ('analyst',  'analyst@example.com',  '$2b$10$421s95g8hWDng2ZOCS/AFuPavuBBEGQc7w3VKGgUsySHYjicKs1Mq', 'analyst', true),
  ('inactive', 'inactive@example.com', '$2b$10$rT2ffIskZuYY7hM2EPy8nOzHM2xjmlI5nj/XTtBc1Cdg5LhyIfoL6', 'analyst', false)
ON CONFLICT (username) DO NOTHING;
