-- 006: what the dashboard calls: one view and SECURITY DEFINER functions. They keep the names, parameters and result
-- columns of ../shared/bench/schema/ab.sql (the FastAPI endpoints' SQL), so CREATE OR REPLACE swaps their bodies on
-- the benchmark's database too; the bodies read the materialized views of 005_aggregates.sql instead of the raw
-- tables. Every numeric metric is rounded to 2 decimals here, in SQL, so that no client has to.
--
-- SECURITY DEFINER with a fixed search_path: the functions run as their owner (ab_owner) and see only public and
-- pg_temp, whoever calls them (PostgreSQL docs: "Writing SECURITY DEFINER Functions Safely").

SET client_min_messages = warning;
SET ROLE ab_owner;

-- Funnel per variant: distinct users who viewed -> started -> completed, with the step-to-step rates in percent.
-- A plain view over the materialized one: it runs with its owner's rights, so anon needs SELECT on it alone.
CREATE OR REPLACE VIEW v_conversion_funnel AS
SELECT variant,
       viewed,
       started,
       completed,
       round(100.0 * started   / nullif(viewed, 0), 2)  AS view_to_start_rate,
       round(100.0 * completed / nullif(started, 0), 2) AS start_to_complete_rate,
       round(100.0 * completed / nullif(viewed, 0), 2)  AS conversion_rate
FROM mv_conversion_funnel
ORDER BY variant;
COMMENT ON VIEW v_conversion_funnel IS
  'Per variant: distinct users who viewed, started and completed the test, and the rates between the steps (%).';

-- Per-variant stats plus the B-minus-A comparison, as one JSON document: the document itself is computed at refresh
-- time (mv_variant_overview in 005_aggregates.sql), because an SQL function's body is planned on every call and this
-- one's planning alone cost more than reading two rows.
CREATE OR REPLACE FUNCTION variant_overview() RETURNS json
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT doc FROM mv_variant_overview
$$;
COMMENT ON FUNCTION variant_overview() IS
  'Per-variant users, completions, conversion rate and completion times, and the B-minus-A differences (JSON).';

-- Latest completions for the live feed: read straight from the table (the index on created_at makes it cheap), so
-- the feed is live even between two refreshes of the aggregates.
CREATE OR REPLACE FUNCTION recent_completions(limit_count integer DEFAULT 50)
RETURNS TABLE (id bigint, username text, variant text, completion_time_ms integer, created_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT c.id, c.username, c.variant, c.completion_time_ms, c.created_at
  FROM completions c
  ORDER BY c.created_at DESC
  LIMIT least(greatest(coalesce(limit_count, 50), 1), 1000)
$$;
COMMENT ON FUNCTION recent_completions(integer) IS 'The newest completions (1 to 1000, default 50), newest first.';

-- One row per variant: summary, percentiles and the 1-second histogram (from mv_completion_distribution).
CREATE OR REPLACE FUNCTION completion_time_distribution()
RETURNS TABLE (variant text, completions bigint, avg_ms numeric,
               min_ms integer, p25_ms integer, p50_ms integer, p75_ms integer,
               p90_ms integer, p99_ms integer, max_ms integer, histogram json)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT d.variant, d.completions, d.avg_ms, d.min_ms, d.p25_ms, d.p50_ms, d.p75_ms, d.p90_ms, d.p99_ms, d.max_ms,
         d.histogram::json
  FROM mv_completion_distribution d
  ORDER BY d.variant
$$;
COMMENT ON FUNCTION completion_time_distribution() IS
  'Per variant: completion-time average, percentiles and a histogram of 1-second buckets (ms).';

-- Fastest users of one variant (best time per user), from mv_leaderboard's (variant, rank) index.
CREATE OR REPLACE FUNCTION leaderboard(variant text, limit_count integer DEFAULT 10)
RETURNS TABLE (rank bigint, username text, best_time_ms integer, attempts bigint, last_completed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT l.rank, l.username, l.best_time_ms, l.attempts, l.last_completed_at
  FROM mv_leaderboard l
  WHERE l.variant = leaderboard.variant
  ORDER BY l.rank, l.username
  LIMIT least(greatest(coalesce(limit_count, 10), 1), 1000)
$$;
COMMENT ON FUNCTION leaderboard(text, integer) IS 'The fastest users of a variant (A or B): rank, best time, attempts.';

-- How fresh the aggregates are, for the dashboard's status line.
CREATE OR REPLACE FUNCTION dashboard_status() RETURNS json
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
  SELECT json_build_object(
    'refreshed_at', (SELECT max(created_at) FROM analytics_run_log
                     WHERE job_name = 'refresh_dashboard_aggregates' AND status = 'ok'),
    'last_refresh', (SELECT json_build_object('status', status, 'at', created_at, 'duration_ms', duration_ms,
                                              'message', message)
                     FROM analytics_run_log
                     WHERE job_name = 'refresh_dashboard_aggregates'
                     ORDER BY created_at DESC, id DESC
                     LIMIT 1),
    'scheduler', CASE WHEN EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN 'pg_cron' ELSE 'none' END,
    'latest_completion_at', (SELECT max(created_at) FROM completions),
    'server_time', now())
$$;
COMMENT ON FUNCTION dashboard_status() IS
  'When the aggregates were last refreshed, by which scheduler, and the newest completion (JSON).';

RESET ROLE;
