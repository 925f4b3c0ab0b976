-- 004: the API (schema api): the plan's PostgREST-native views and functions, and the functions behind the old
-- /api/v1 contract (served through Restgres routes, docs/glucose-routes.conf).
--
-- The plan's `ALTER VIEW ... ENABLE ROW LEVEL SECURITY` is not valid PostgreSQL (RLS belongs to tables): the views are
-- security_invoker, so the caller's rights and the policies on the mart tables apply through them.

SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS api AUTHORIZATION glucose_owner;
ALTER DEFAULT PRIVILEGES FOR ROLE glucose_owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

ALTER TABLE marts.mrt_glucose_overview ENABLE ROW LEVEL SECURITY;
ALTER TABLE marts.mrt_glucose_hourly_patterns ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS readers ON marts.mrt_glucose_overview;
CREATE POLICY readers ON marts.mrt_glucose_overview FOR SELECT TO authenticated, glucose_sql USING (true);
DROP POLICY IF EXISTS readers ON marts.mrt_glucose_hourly_patterns;
CREATE POLICY readers ON marts.mrt_glucose_hourly_patterns FOR SELECT TO authenticated, glucose_sql USING (true);

-- The plan's views.
CREATE OR REPLACE VIEW api.glucose_readings WITH (security_invoker = true) AS
  SELECT * FROM marts.mrt_glucose_overview;
CREATE OR REPLACE VIEW api.glucose_daily_summary WITH (security_invoker = true) AS
  SELECT reading_date, reading_count, avg_glucose_mg_dl, min_glucose_mg_dl, max_glucose_mg_dl, time_in_range_pct,
         time_below_range_pct, time_above_range_pct, estimated_a1c_pct
  FROM marts.mrt_glucose_overview;
CREATE OR REPLACE VIEW api.glucose_hourly_patterns WITH (security_invoker = true) AS
  SELECT * FROM marts.mrt_glucose_hourly_patterns;
ALTER VIEW api.glucose_readings OWNER TO glucose_owner;
ALTER VIEW api.glucose_daily_summary OWNER TO glucose_owner;
ALTER VIEW api.glucose_hourly_patterns OWNER TO glucose_owner;

-- An error in PostgREST's raise-PGRST form: the message (code and text, which the routes' fastapi error shape turns
-- into {"detail": ...}) and the detail (the status and headers the old service answered). The caller raises it:
--   e := api._error(401, 'Incorrect username or password', '{"WWW-Authenticate": "Bearer"}');
--   RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
-- (returned rather than raised here so that track_functions counts its calls: tests/run.sh measures coverage).
CREATE OR REPLACE FUNCTION api._error(status integer, reason text, headers json DEFAULT '{}', OUT message text, OUT detail text)
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
  SELECT json_build_object('code', 'GL' || status, 'message', reason)::text,
         json_build_object('status', status, 'headers', headers)::text
$$;

-- POST /rpc/login {"username", "password"}: a signed token and the user, or 401 "Incorrect username or password".
-- Unknown user, wrong password and inactive user are one answer, and cost the same bcrypt check (a dummy hash of the
-- users' cost stands in for a missing user), so neither the text nor the time tells them apart.
CREATE OR REPLACE FUNCTION api.login(username text, password text) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  e record;
  u auth.users;
  matches boolean;
BEGIN
  SELECT * INTO u FROM auth.users AS a WHERE a.username = login.username AND a.is_active;
  matches := auth.password_matches(coalesce(password, ''),
    coalesce(u.password_hash, '$2a$10$nKdPsSx9bm/odEFZ7fCTg.GoKlcKfNxgrVuROEbUh3ABZ6sZFbTY6'));
  IF u.user_id IS NULL OR NOT matches THEN
    e := api._error(401, 'Incorrect username or password', '{"WWW-Authenticate": "Bearer"}');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  UPDATE auth.users SET last_login_at = now() WHERE user_id = u.user_id;
  RETURN json_build_object(
    'access_token', auth.sign(auth.token_claims(u, 3600), auth.jwt_secret()),
    'token_type', 'bearer',
    'expires_in', 3600,
    'user', json_build_object('user_id', u.user_id, 'username', u.username, 'email', u.email, 'role', u.role));
END
$$;

-- The signed-in user from the token's claims (sub is the username): the plan's user_info, the old /metadata/user/me.
CREATE OR REPLACE FUNCTION api.user_info() RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT json_build_object('user_id', c ->> 'user_id', 'username', c ->> 'sub', 'email', c ->> 'email', 'role', c ->> 'role')
  FROM (SELECT current_setting('request.jwt.claims', true)::json AS c) AS claims
$$;

CREATE OR REPLACE FUNCTION api.health_check() RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$ SELECT json_build_object('status', 'healthy', 'service', 'cascade-api') $$;

-- The plan's glucose_statistics(period_days), and the old /glucose/statistics?period=7d|30d|90d (default 7d): the
-- readings of the last `days` days of data, `statistics` null without data.
CREATE OR REPLACE FUNCTION api.glucose_statistics(period_days integer DEFAULT 7) RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  e record;
  result json;
BEGIN
  IF period_days IS NULL OR period_days NOT BETWEEN 1 AND 3650 THEN
    e := api._error(400, 'period_days must be between 1 and 3650');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  SELECT json_build_object(
           'period', period_days || 'd',
           'days', period_days,
           'readings_count', coalesce(sum(reading_count), 0),
           'statistics', CASE WHEN count(*) > 0 THEN json_build_object(
             'avg_glucose', round(sum(avg_glucose_mg_dl * reading_count) / nullif(sum(reading_count), 0), 1),
             'min_glucose', min(min_glucose_mg_dl),
             'max_glucose', max(max_glucose_mg_dl)) END)
  INTO result
  FROM marts.mrt_glucose_overview
  WHERE reading_date > (SELECT max(reading_date) FROM marts.mrt_glucose_overview) - period_days;
  RETURN result;
END
$$;

CREATE OR REPLACE FUNCTION api.statistics(period text DEFAULT '7d') RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  e record;
BEGIN
  IF period IS NULL OR period NOT IN ('7d', '30d', '90d') THEN
    e := api._error(422, 'period must be one of 7d, 30d, 90d');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  RETURN api.glucose_statistics(rtrim(period, 'd')::integer);
END
$$;

-- GET /glucose/readings?start_date=&end_date=&limit= (limit 1..10000, default 1000): the daily overview rows, newest
-- first, under the old service's field names (filled from the marts' columns: see the app's README). PostgREST
-- reserves ?limit= for paging, so the argument is row_limit and the route renames the old parameter to it.
CREATE OR REPLACE FUNCTION api.readings(start_date date DEFAULT NULL, end_date date DEFAULT NULL, row_limit integer DEFAULT 1000)
RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  e record;
  rows json;
  n integer;
BEGIN
  IF row_limit IS NULL OR row_limit NOT BETWEEN 1 AND 10000 THEN
    e := api._error(422, 'limit must be between 1 and 10000');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  SELECT coalesce(json_agg(r ORDER BY r.date DESC), '[]'), count(*)
  INTO rows, n
  FROM (
    SELECT reading_date AS date, day_name, reading_count AS readings_count, avg_glucose_mg_dl AS avg_glucose,
           min_glucose_mg_dl AS min_glucose, max_glucose_mg_dl AS max_glucose, stddev_glucose_mg_dl AS stddev_glucose,
           time_in_range_pct AS time_in_range_percent, time_below_range_pct AS time_below_range_percent,
           time_above_range_pct AS time_above_range_percent, estimated_a1c_pct AS estimated_a1c,
           coefficient_of_variation_pct AS coefficient_of_variation
    FROM marts.mrt_glucose_overview
    WHERE (start_date IS NULL OR reading_date >= start_date) AND (end_date IS NULL OR reading_date <= end_date)
    ORDER BY reading_date DESC
    LIMIT row_limit
  ) AS r;
  RETURN json_build_object('data', rows, 'count', n, 'source', 'postgres_marts', 'cached', true);
END
$$;

-- GET /glucose/daily-summary?date=YYYY-MM-DD: a day without data gives the date, nulls and readings_count 0.
CREATE OR REPLACE FUNCTION api.daily_summary(date date) RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT json_build_object(
    'date', daily_summary.date,
    'avg_glucose', o.avg_glucose_mg_dl,
    'min_glucose', o.min_glucose_mg_dl,
    'max_glucose', o.max_glucose_mg_dl,
    'readings_count', coalesce(o.reading_count, 0),
    'time_in_range_percent', o.time_in_range_pct)
  FROM (SELECT daily_summary.date) AS d
  LEFT JOIN marts.mrt_glucose_overview AS o ON o.reading_date = daily_summary.date
$$;

-- GET /glucose/hourly-patterns: by hour of day over all weekdays.
CREATE OR REPLACE FUNCTION api.hourly_patterns() RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT coalesce(json_agg(h ORDER BY h.hour_of_day), '[]')
  FROM (
    SELECT hour_of_day,
           round(sum(avg_glucose_mg_dl * reading_count) / nullif(sum(reading_count), 0), 1) AS avg_glucose,
           sum(reading_count)::integer AS readings_count
    FROM marts.mrt_glucose_hourly_patterns
    GROUP BY hour_of_day
  ) AS h
$$;

ALTER FUNCTION api._error(integer, text, json) OWNER TO glucose_owner;
ALTER FUNCTION api.login(text, text) OWNER TO glucose_owner;
ALTER FUNCTION api.user_info() OWNER TO glucose_owner;
ALTER FUNCTION api.health_check() OWNER TO glucose_owner;
ALTER FUNCTION api.glucose_statistics(integer) OWNER TO glucose_owner;
ALTER FUNCTION api.statistics(text) OWNER TO glucose_owner;
ALTER FUNCTION api.readings(date, date, integer) OWNER TO glucose_owner;
ALTER FUNCTION api.daily_summary(date) OWNER TO glucose_owner;
ALTER FUNCTION api.hourly_patterns() OWNER TO glucose_owner;

-- GET / of the old service: what it is and where to look.
CREATE OR REPLACE FUNCTION api.service_info() RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT json_build_object('service', 'cascade-api', 'version', '2.0.0', 'backend', 'restgres', 'docs', '/docs',
                           'openapi', '/openapi.json', 'health', '/api/v1/metadata/health')
$$;
ALTER FUNCTION api.service_info() OWNER TO glucose_owner;
