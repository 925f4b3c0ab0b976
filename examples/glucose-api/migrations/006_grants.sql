-- 006: who may call what. Functions are not executable by PUBLIC (004's default privileges and the revokes below).

SET client_min_messages = warning;

GRANT USAGE ON SCHEMA api TO anon, authenticated;
GRANT USAGE ON SCHEMA marts TO authenticated, glucose_sql;
GRANT USAGE ON SCHEMA raw TO glucose_sql;
GRANT USAGE ON SCHEMA auth TO glucose_owner;
GRANT USAGE ON SCHEMA sandbox TO admin;
GRANT EXECUTE ON FUNCTION sandbox.query_rows(text, integer) TO admin;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.login(text, text), api.health_check(), api.service_info() TO anon, authenticated;
GRANT EXECUTE ON FUNCTION api._error(integer, text, json) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION api.user_info(), api.glucose_statistics(integer), api.statistics(text),
  api.readings(date, date, integer), api.daily_summary(date), api.hourly_patterns() TO authenticated;
-- Granted to every signed-in user so that an analyst gets the old service's 403 "Admin access required" (the
-- function checks the role) rather than PostgreSQL's permission error.
GRANT EXECUTE ON FUNCTION api.query_sql(text, text, integer) TO authenticated;

GRANT SELECT ON api.glucose_readings, api.glucose_daily_summary, api.glucose_hourly_patterns TO authenticated;
GRANT SELECT ON marts.mrt_glucose_overview, marts.mrt_glucose_hourly_patterns TO authenticated, glucose_sql;
GRANT SELECT ON raw.glucose_readings TO glucose_sql;
GRANT SELECT, INSERT ON api.query_results TO admin;
