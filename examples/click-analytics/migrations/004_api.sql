-- 004: the functions behind the old service's URLs (served through Restgres routes, routes.conf).

SET client_min_messages = warning;

-- An error in PostgREST's raise-PGRST form: the message (code and text, which the routes' fastapi error shape turns
-- into {"detail": ...}) and the detail (status and headers). The caller raises it:
--   e := api._error(400, 'Email already registered');
--   RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
-- (returned rather than raised here so that track_functions counts its calls: tests/run.sh measures coverage).
CREATE OR REPLACE FUNCTION api._error(status integer, reason text, headers json DEFAULT '{}', OUT message text, OUT detail text)
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
  SELECT json_build_object('code', 'CA' || status, 'message', reason)::text,
         json_build_object('status', status, 'headers', headers)::text
$$;
ALTER FUNCTION api._error(integer, text, json) OWNER TO clicks_owner;

-- The answer of register and login: a token (sub = the user's id, user_id, email, role authenticated; a day long)
-- and the user.
CREATE OR REPLACE FUNCTION auth.session(u auth.users, p api.profiles) RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT json_build_object(
    'access_token', auth.sign(json_build_object(
        'sub', u.id::text, 'user_id', u.id, 'email', u.email, 'role', 'authenticated',
        'iat', floor(extract(epoch FROM now()))::bigint,
        'exp', floor(extract(epoch FROM now()))::bigint + 86400), auth.jwt_secret()),
    'token_type', 'bearer',
    'user', json_build_object('id', u.id, 'email', u.email, 'username', p.username, 'age', p.age, 'gender', p.gender))
$$;
ALTER FUNCTION auth.session(auth.users, api.profiles) OWNER TO clicks_owner;

-- POST /auth/register {email, password (≥ 6), username (3–50), age (1–120), gender Male|Female|Other}.
-- Missing or invalid fields: 422 (FastAPI's status for validation; every argument has a default so that a missing one
-- reaches the check rather than PostgREST's "function not found"); a known email: 400 "Email already registered"; a taken
-- username: 400 "Username already taken".
CREATE OR REPLACE FUNCTION api.register(email text DEFAULT NULL, password text DEFAULT NULL, username text DEFAULT NULL,
  age integer DEFAULT NULL, gender text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  e record;
  problem text;
  u auth.users;
  p api.profiles;
BEGIN
  problem := CASE
    WHEN email IS NULL OR email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' THEN 'email must be a valid email address'
    WHEN password IS NULL OR length(password) < 6 THEN 'password must be at least 6 characters'
    WHEN username IS NULL OR length(username) NOT BETWEEN 3 AND 50 THEN 'username must be 3 to 50 characters'
    WHEN age IS NULL OR age NOT BETWEEN 1 AND 120 THEN 'age must be between 1 and 120'
    WHEN gender IS NULL OR gender NOT IN ('Male', 'Female', 'Other') THEN 'gender must be Male, Female or Other'
  END;
  IF problem IS NOT NULL THEN
    e := api._error(422, problem);
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  IF EXISTS (SELECT FROM auth.users AS a WHERE a.email = lower(register.email)) THEN
    e := api._error(400, 'Email already registered');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  IF EXISTS (SELECT FROM api.profiles AS x WHERE x.username = register.username) THEN
    e := api._error(400, 'Username already taken');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  INSERT INTO auth.users (email, password_hash) VALUES (lower(email), auth.hash_password(password)) RETURNING * INTO u;
  INSERT INTO api.profiles (id, username, age, gender) VALUES (u.id, username, age, gender) RETURNING * INTO p;
  RETURN auth.session(u, p);
END
$$;
ALTER FUNCTION api.register(text, text, text, integer, text) OWNER TO clicks_owner;

-- POST /auth/login {email, password}: the same answer as register, or 401 "Invalid email or password" for any
-- failure; an unknown email costs the same bcrypt check as a wrong password (a stand-in hash of the same cost).
CREATE OR REPLACE FUNCTION api.login(email text DEFAULT NULL, password text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  e record;
  u auth.users;
  p api.profiles;
BEGIN
  SELECT * INTO u FROM auth.users AS a WHERE a.email = lower(login.email);
  SELECT * INTO p FROM api.profiles AS x WHERE x.id = u.id;
  IF NOT auth.password_matches(coalesce(password, ''),
       coalesce(u.password_hash, '$2a$10$nKdPsSx9bm/odEFZ7fCTg.GoKlcKfNxgrVuROEbUh3ABZ6sZFbTY6'))
     OR u.id IS NULL OR p.id IS NULL THEN
    e := api._error(401, 'Invalid email or password');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  RETURN auth.session(u, p);
END
$$;
ALTER FUNCTION api.login(text, text) OWNER TO clicks_owner;

-- POST /track {feature_name, event_id?}: one click of the signed-in user (user_id is the column default, from the
-- token; RLS refuses any other). A retry with the same event_id is answered the same and inserts nothing.
-- SECURITY INVOKER: the caller's grants and the RLS policy apply.
CREATE OR REPLACE FUNCTION api.track(feature_name text DEFAULT NULL, event_id uuid DEFAULT NULL) RETURNS json
LANGUAGE plpgsql VOLATILE
SET search_path = ''
AS $$
DECLARE
  e record;
BEGIN
  IF feature_name IS NULL OR length(feature_name) NOT BETWEEN 1 AND 100 THEN
    e := api._error(422, 'feature_name must be 1 to 100 characters');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  INSERT INTO api.feature_clicks (feature_name, event_id) VALUES (track.feature_name, track.event_id)
  ON CONFLICT ON CONSTRAINT feature_clicks_user_event DO NOTHING;
  RETURN json_build_object('success', true, 'message', format('Event ''%s'' tracked successfully', feature_name));
END
$$;
ALTER FUNCTION api.track(text, uuid) OWNER TO clicks_owner;

-- GET /analytics?start_date=&end_date=&age_group=&gender=&feature_name= (all optional; empty means unset; dates
-- inclusive, days in UTC): clicks per feature (most first) and per day (oldest first) over everyone's clicks, from
-- the rollup. feature_name narrows only the daily counts, as in the old service; no match gives empty lists.
CREATE OR REPLACE FUNCTION api.analytics(start_date text DEFAULT NULL, end_date text DEFAULT NULL, age_group text DEFAULT NULL,
  gender text DEFAULT NULL, feature_name text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  e record;
  first_day date;
  last_day date;
  result json;
BEGIN
  start_date := nullif(start_date, ''); end_date := nullif(end_date, ''); age_group := nullif(age_group, '');
  gender := nullif(gender, ''); feature_name := nullif(feature_name, '');
  IF age_group NOT IN ('<18', '18-40', '>40') THEN
    e := api._error(422, 'age_group must be <18, 18-40 or >40');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  BEGIN
    first_day := left(start_date, 10)::date;
    last_day := left(end_date, 10)::date;
  EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
    e := api._error(422, 'start_date and end_date must be dates (YYYY-MM-DD)');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END;
  -- The rollup and the counts waiting to be folded into it (analytics.rollup_clicks).
  WITH r AS (
    SELECT * FROM (SELECT y.day, y.feature_name, y.age_group, y.gender, y.clicks FROM api.feature_rollup AS y
                   UNION ALL
                   SELECT z.day, z.feature_name, z.age_group, z.gender, z.clicks FROM analytics.rollup_pending AS z) AS x
    WHERE (first_day IS NULL OR x.day >= first_day) AND (last_day IS NULL OR x.day <= last_day)
      AND (analytics.age_group IS NULL OR x.age_group = analytics.age_group)
      AND (analytics.gender IS NULL OR x.gender = analytics.gender)
  )
  SELECT json_build_object(
    'feature_counts', (SELECT coalesce(json_agg(f ORDER BY f.count DESC, f.feature_name), '[]')
                       FROM (SELECT r.feature_name, sum(r.clicks)::bigint AS count FROM r GROUP BY r.feature_name) AS f),
    'daily_counts', (SELECT coalesce(json_agg(d ORDER BY d.date), '[]')
                     FROM (SELECT to_char(r.day, 'YYYY-MM-DD') AS date, sum(r.clicks)::bigint AS count FROM r
                           WHERE analytics.feature_name IS NULL OR r.feature_name = analytics.feature_name
                           GROUP BY r.day) AS d))
  INTO result;
  RETURN result;
END
$$;
ALTER FUNCTION api.analytics(text, text, text, text, text) OWNER TO clicks_owner;

CREATE OR REPLACE FUNCTION api.health() RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$ SELECT json_build_object('status', 'healthy') $$;
ALTER FUNCTION api.health() OWNER TO clicks_owner;

CREATE OR REPLACE FUNCTION api.service_info() RETURNS json
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$ SELECT json_build_object('message', 'Feature Click Analytics API', 'status', 'running') $$;
ALTER FUNCTION api.service_info() OWNER TO clicks_owner;
