-- 007: who may do what. The rule: anon (the public dashboard, the anon key) reads the dashboard's view and calls its
-- functions, and nothing else: no raw table, no materialized view, no refresh. authenticated (an analyst with a
-- signed-in token) may also read the raw tables. Everything is revoked first, so re-running this file also removes
-- grants that earlier versions or someone's experiments added.
--
-- Not applied by bench/extra.sql: the benchmark keeps its own grants (its anon reads and appends to events).

SET client_min_messages = warning;

REVOKE ALL ON TABLE users, events, completions, analytics_run_log,
  mv_conversion_funnel, mv_variant_stats, mv_variant_overview, mv_completion_distribution, mv_leaderboard, v_conversion_funnel
  FROM PUBLIC, anon, authenticated;
REVOKE ALL ON SEQUENCE users_id_seq, events_id_seq, completions_id_seq, analytics_run_log_id_seq
  FROM PUBLIC, anon, authenticated;
REVOKE ALL ON FUNCTION variant_overview(), recent_completions(integer), completion_time_distribution(),
  leaderboard(text, integer), dashboard_status(), log_analytics_run(text, text, integer, text),
  refresh_dashboard_aggregates()
  FROM PUBLIC, anon, authenticated;

-- The dashboard's API.
GRANT SELECT ON v_conversion_funnel TO anon, authenticated;
GRANT EXECUTE ON FUNCTION variant_overview(), recent_completions(integer), completion_time_distribution(),
  leaderboard(text, integer), dashboard_status(), log_analytics_run(text, text, integer, text)
  TO anon, authenticated;

-- Analysts: the raw data and the job log, read-only.
GRANT SELECT ON users, events, completions, analytics_run_log TO authenticated;

-- Row level security on the raw tables, so that the grants above are the whole story (restgres check,
-- rls_disabled_in_exposed): public is the exposed schema, and a table there without RLS would give any role granted
-- on it later every row without anyone deciding so. Analysts read every row; nobody writes through the API (the
-- SECURITY DEFINER functions run as ab_owner, the owner, which RLS does not restrict). Here and not in 002 because the
-- benchmark (bench/extra.sql) leaves this file out and keeps its own grants.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'events', 'completions', 'analytics_run_log'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('DROP POLICY IF EXISTS analysts_read ON %I', t);
    EXECUTE format('CREATE POLICY analysts_read ON %I FOR SELECT TO authenticated USING (true)', t);
  END LOOP;
END
$$;
