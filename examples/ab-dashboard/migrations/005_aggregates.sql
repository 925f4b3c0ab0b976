-- 005: the heavy work, done once per refresh instead of once per request. The dashboard's functions read these
-- small materialized views (a handful of rows each) instead of aggregating a million events per page view; the
-- schedule that refreshes them is in 008_schedule.sql. Owned by ab_owner and granted to nobody: the API reaches them
-- only through the SECURITY DEFINER functions and the view of 006_api.sql.
--
-- Every view lists the two variants explicitly, so that an empty database still shows two rows of zeros.
-- The unique indexes are what REFRESH MATERIALIZED VIEW CONCURRENTLY needs to refresh without blocking readers.

SET client_min_messages = warning;
SET ROLE ab_owner;

-- Distinct users per funnel step.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_conversion_funnel AS
WITH per_user AS (
  -- grouping by user first is much cheaper than count(DISTINCT ...) per step
  SELECT variant, event_name, user_id
  FROM events
  WHERE event_name IN ('page_view', 'test_start', 'test_complete')
  GROUP BY variant, event_name, user_id
), counts AS (
  SELECT variant,
         count(*) FILTER (WHERE event_name = 'page_view')     AS viewed,
         count(*) FILTER (WHERE event_name = 'test_start')    AS started,
         count(*) FILTER (WHERE event_name = 'test_complete') AS completed
  FROM per_user
  GROUP BY variant
)
SELECT v.variant,
       coalesce(c.viewed, 0)    AS viewed,
       coalesce(c.started, 0)   AS started,
       coalesce(c.completed, 0) AS completed
FROM (VALUES ('A'), ('B')) AS v (variant)
LEFT JOIN counts c USING (variant);
CREATE UNIQUE INDEX IF NOT EXISTS mv_conversion_funnel_variant_idx ON mv_conversion_funnel (variant);

-- Users, completions and completion times per variant.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_variant_stats AS
WITH u AS (
  SELECT variant, count(*) AS users
  FROM users
  GROUP BY variant
), per_user AS (
  SELECT variant, username,
         count(*) AS n, sum(completion_time_ms) AS total_ms, min(completion_time_ms) AS best_ms
  FROM completions
  GROUP BY variant, username
), c AS (
  SELECT variant,
         sum(n)::bigint AS completions,
         count(*)       AS completers,
         round(sum(total_ms)::numeric / nullif(sum(n), 0), 2) AS avg_completion_time_ms,
         min(best_ms)   AS best_completion_time_ms
  FROM per_user
  GROUP BY variant
)
SELECT v.variant,
       coalesce(u.users, 0)       AS users,
       coalesce(c.completions, 0) AS completions,
       coalesce(c.completers, 0)  AS completers,
       round(100.0 * coalesce(c.completers, 0) / nullif(u.users, 0), 2) AS conversion_rate,
       c.avg_completion_time_ms,
       c.best_completion_time_ms
FROM (VALUES ('A'), ('B')) AS v (variant)
LEFT JOIN u USING (variant)
LEFT JOIN c USING (variant);
CREATE UNIQUE INDEX IF NOT EXISTS mv_variant_stats_variant_idx ON mv_variant_stats (variant);

-- variant_overview()'s whole answer: per-variant stats plus the B-minus-A comparison. The comparison adds a
-- two-proportion z-test of the conversion rates (pooled standard error) so that the dashboard can say whether the
-- difference is more than noise; PostgreSQL 15 has no erf(), so the normal CDF uses the Abramowitz-Stegun 7.1.26
-- approximation (|error| < 1.5e-7, far below the 2 decimals shown). json, not jsonb, keeps the benchmark's key order.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_variant_overview AS
  WITH s AS (
    SELECT variant, users, completions, completers, conversion_rate,
           avg_completion_time_ms, best_completion_time_ms
    FROM mv_variant_stats
  ), a AS (
    SELECT * FROM s WHERE variant = 'A'
  ), b AS (
    SELECT * FROM s WHERE variant = 'B'
  ), z AS (
    SELECT (b.completers::float8 / nullif(b.users, 0) - a.completers::float8 / nullif(a.users, 0))
           / nullif(sqrt(pool.p * (1 - pool.p) * (1.0 / nullif(a.users, 0) + 1.0 / nullif(b.users, 0))), 0) AS z
    FROM a, b,
         LATERAL (SELECT (a.completers + b.completers)::float8 / nullif(a.users + b.users, 0) AS p) pool
  ), test AS (
    -- two-sided p-value = erfc(|z| / sqrt 2)
    SELECT z.z,
           t.t * exp(-x.x * x.x) * (0.254829592 + t.t * (-0.284496736 + t.t * (1.421413741
             + t.t * (-1.453152027 + t.t * 1.061405429)))) AS p_value
    FROM z,
         LATERAL (SELECT abs(z.z) / sqrt(2.0) AS x) x,
         LATERAL (SELECT 1.0 / (1.0 + 0.3275911 * x.x) AS t) t
  )
  SELECT json_build_object(
    'variants', (SELECT json_agg(s ORDER BY s.variant) FROM s),
    'comparison', (
      SELECT json_build_object(
        'conversion_rate_diff',        b.conversion_rate - a.conversion_rate,
        'conversion_rate_uplift_pct',  round(100.0 * (b.conversion_rate - a.conversion_rate)
                                             / nullif(a.conversion_rate, 0), 2),
        'avg_completion_time_diff_ms', b.avg_completion_time_ms - a.avg_completion_time_ms,
        'completions_diff',            b.completions - a.completions,
        'leader', CASE WHEN b.conversion_rate > a.conversion_rate THEN 'B'
                       WHEN b.conversion_rate < a.conversion_rate THEN 'A'
                       ELSE 'tie' END,
        'z_score',        round(test.z::numeric, 2),
        'confidence_pct', round((100 * (1 - test.p_value))::numeric, 2),
        'significant',    coalesce(test.p_value < 0.05, false))
      FROM a, b, test)) AS doc,
  1 AS id;
CREATE UNIQUE INDEX IF NOT EXISTS mv_variant_overview_id_idx ON mv_variant_overview (id);

-- Completion-time summary, percentiles and a 1-second histogram (0..15 s, the last bucket open-ended). Every bucket
-- is present, with 0 where nobody finished in it, so that the two variants' histograms line up bar for bar.
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_completion_distribution AS
WITH stats AS (
  SELECT c.variant,
         count(*) AS completions,
         round(avg(c.completion_time_ms), 2) AS avg_ms,
         min(c.completion_time_ms) AS min_ms,
         max(c.completion_time_ms) AS max_ms,
         percentile_disc(ARRAY[0.25, 0.5, 0.75, 0.9, 0.99]) WITHIN GROUP (ORDER BY c.completion_time_ms) AS p
  FROM completions c
  GROUP BY c.variant
), counts AS (
  SELECT c.variant, least(c.completion_time_ms / 1000, 15) AS bucket, count(*) AS n
  FROM completions c
  GROUP BY 1, 2
), hist AS (
  SELECT v.variant,
         jsonb_agg(jsonb_build_object(
           'from_ms', b.bucket * 1000,
           'to_ms',   CASE WHEN b.bucket = 15 THEN NULL ELSE (b.bucket + 1) * 1000 END,
           'count',   coalesce(n.n, 0)) ORDER BY b.bucket) AS histogram
  FROM (VALUES ('A'), ('B')) AS v (variant)
  CROSS JOIN generate_series(0, 15) AS b (bucket)
  LEFT JOIN counts n ON n.variant = v.variant AND n.bucket = b.bucket
  GROUP BY v.variant
)
SELECT h.variant,
       coalesce(s.completions, 0) AS completions,
       s.avg_ms, s.min_ms,
       s.p[1] AS p25_ms, s.p[2] AS p50_ms, s.p[3] AS p75_ms, s.p[4] AS p90_ms, s.p[5] AS p99_ms,
       s.max_ms,
       h.histogram
FROM hist h
LEFT JOIN stats s USING (variant);
CREATE UNIQUE INDEX IF NOT EXISTS mv_completion_distribution_variant_idx ON mv_completion_distribution (variant);

-- Best time per user, ranked within the variant (ties share a rank, as rank() does).
CREATE MATERIALIZED VIEW IF NOT EXISTS mv_leaderboard AS
SELECT c.variant,
       c.username,
       min(c.completion_time_ms) AS best_time_ms,
       count(*)                  AS attempts,
       max(c.created_at)         AS last_completed_at,
       rank() OVER (PARTITION BY c.variant ORDER BY min(c.completion_time_ms)) AS rank
FROM completions c
GROUP BY c.variant, c.username;
CREATE UNIQUE INDEX IF NOT EXISTS mv_leaderboard_variant_username_idx ON mv_leaderboard (variant, username);
-- leaderboard(): the first N of a variant straight from the index, no sort.
CREATE INDEX IF NOT EXISTS mv_leaderboard_variant_rank_idx ON mv_leaderboard (variant, rank, username);

-- Refreshes every materialized view above without blocking the dashboard's readers and records the run in
-- analytics_run_log. A failure is recorded too (as 'failed', with PostgreSQL's message) and raised as a WARNING
-- rather than an error, because an error would roll back the log row that says what went wrong.
CREATE OR REPLACE FUNCTION refresh_dashboard_aggregates() RETURNS text
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = public, pg_temp
AS $$
DECLARE
  started timestamptz := clock_timestamp();
  elapsed integer;
BEGIN
  BEGIN
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_conversion_funnel;
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_variant_stats;
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_variant_overview;  -- after mv_variant_stats, which it reads
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_completion_distribution;
    REFRESH MATERIALIZED VIEW CONCURRENTLY mv_leaderboard;
  EXCEPTION WHEN OTHERS THEN
    elapsed := round(extract(epoch FROM clock_timestamp() - started) * 1000);
    INSERT INTO analytics_run_log (job_name, status, duration_ms, message)
    VALUES ('refresh_dashboard_aggregates', 'failed', elapsed, left(SQLERRM, 2000));
    RAISE WARNING 'refresh_dashboard_aggregates failed: %', SQLERRM;
    RETURN 'failed: ' || SQLERRM;
  END;
  elapsed := round(extract(epoch FROM clock_timestamp() - started) * 1000);
  INSERT INTO analytics_run_log (job_name, status, duration_ms, message)
  VALUES ('refresh_dashboard_aggregates', 'ok', elapsed, '5 materialized views refreshed');
  -- The log is for health checks, not an archive: keep a month.
  DELETE FROM analytics_run_log WHERE created_at < now() - interval '30 days';
  RETURN format('ok: 5 materialized views refreshed in %s ms', elapsed);
END
$$;
COMMENT ON FUNCTION refresh_dashboard_aggregates() IS
  'Refreshes the dashboard''s materialized views (pg_cron runs it every minute) and logs the run.';

RESET ROLE;
