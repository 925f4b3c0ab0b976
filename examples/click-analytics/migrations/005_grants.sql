-- 005: who may call what. Functions are not executable by PUBLIC (003's default privileges and the revokes below).

SET client_min_messages = warning;

GRANT USAGE ON SCHEMA api TO anon, authenticated;
GRANT USAGE ON SCHEMA analytics TO authenticated;
GRANT USAGE ON SCHEMA auth TO clicks_owner;

REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA api, analytics, auth FROM PUBLIC;
GRANT EXECUTE ON FUNCTION api.register(text, text, text, integer, text), api.login(text, text), api.health(),
  api.service_info(), api._error(integer, text, json) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION api.track(text, uuid), api.analytics(text, text, text, text, text) TO authenticated;
-- The column default and the RLS policies call it as the user.
GRANT EXECUTE ON FUNCTION analytics.uid() TO authenticated;

-- Clicks: only the feature and the client's event id come from a request; user_id is the token's (the default),
-- id and timestamp are the database's.
GRANT SELECT ON api.feature_clicks, api.feature_rollup TO authenticated;
-- /analytics adds the counts not folded into the rollup yet.
GRANT SELECT ON analytics.rollup_pending TO authenticated;
GRANT INSERT (feature_name, event_id) ON api.feature_clicks TO authenticated;
GRANT SELECT ON api.profiles TO authenticated;
