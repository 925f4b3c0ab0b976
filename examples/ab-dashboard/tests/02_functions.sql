-- Each API function against the same metric computed straight from the raw tables (the aggregates were refreshed
-- after the data was generated, so they must agree), and every numeric metric rounded to 2 decimals.
BEGIN;
SELECT plan(40);

-- ---------------------------------------------------------------- variant_overview()
CREATE TEMP TABLE expected_overview AS
WITH u AS (SELECT variant, count(*) AS users FROM users GROUP BY variant),
c AS (SELECT variant, count(*) AS completions, count(DISTINCT username) AS completers,
             round(avg(completion_time_ms), 2) AS avg_ms, min(completion_time_ms) AS best_ms
      FROM completions GROUP BY variant)
SELECT u.variant, u.users, c.completions, c.completers,
       round(100.0 * c.completers / u.users, 2) AS conversion_rate, c.avg_ms, c.best_ms
FROM u JOIN c USING (variant);

CREATE TEMP TABLE overview AS
SELECT v.*
FROM json_array_elements(variant_overview() -> 'variants') AS e,
     json_to_record(e) AS v (variant text, users bigint, completions bigint, completers bigint,
                             conversion_rate numeric, avg_completion_time_ms numeric, best_completion_time_ms integer);

SELECT results_eq('SELECT variant FROM overview ORDER BY 1', $$VALUES ('A'), ('B')$$,
  'variant_overview() has one entry per variant, A then B');
SELECT results_eq(
  'SELECT variant, users, completions, completers, conversion_rate, avg_completion_time_ms, best_completion_time_ms FROM overview ORDER BY 1',
  'SELECT variant, users, completions, completers, conversion_rate, avg_ms, best_ms::int FROM expected_overview ORDER BY 1',
  'variant_overview() counts users, completions and completers, and their rates and times, as the raw tables say');
SELECT is((variant_overview() -> 'comparison' ->> 'conversion_rate_diff')::numeric,
          (SELECT b.conversion_rate - a.conversion_rate FROM overview a, overview b WHERE a.variant = 'A' AND b.variant = 'B'),
          'comparison.conversion_rate_diff is B minus A');
SELECT is((variant_overview() -> 'comparison' ->> 'avg_completion_time_diff_ms')::numeric,
          (SELECT b.avg_completion_time_ms - a.avg_completion_time_ms FROM overview a, overview b
           WHERE a.variant = 'A' AND b.variant = 'B'),
          'comparison.avg_completion_time_diff_ms is B minus A');
SELECT is((variant_overview() -> 'comparison' ->> 'completions_diff')::bigint,
          (SELECT b.completions - a.completions FROM overview a, overview b WHERE a.variant = 'A' AND b.variant = 'B'),
          'comparison.completions_diff is B minus A');
SELECT is((variant_overview() -> 'comparison' ->> 'conversion_rate_uplift_pct')::numeric,
          (SELECT round(100.0 * (b.conversion_rate - a.conversion_rate) / a.conversion_rate, 2)
           FROM overview a, overview b WHERE a.variant = 'A' AND b.variant = 'B'),
          'comparison.conversion_rate_uplift_pct is the relative difference in percent');
SELECT is(variant_overview() -> 'comparison' ->> 'leader', 'B', 'B (the better-converting variant in the data) leads');
-- z of a two-proportion test, computed independently; the normal CDF approximation is checked at known points.
SELECT is((variant_overview() -> 'comparison' ->> 'z_score')::numeric,
          (SELECT round(((pb - pa) / sqrt(p * (1 - p) * (1.0 / na + 1.0 / nb)))::numeric, 2)
           FROM (SELECT a.completers::float8 / a.users AS pa, b.completers::float8 / b.users AS pb,
                        (a.completers + b.completers)::float8 / (a.users + b.users) AS p,
                        a.users AS na, b.users AS nb
                 FROM overview a, overview b WHERE a.variant = 'A' AND b.variant = 'B') t),
          'comparison.z_score is the pooled two-proportion z statistic');
SELECT ok((variant_overview() -> 'comparison' ->> 'confidence_pct')::numeric BETWEEN 0 AND 100
          AND (variant_overview() -> 'comparison' ->> 'significant')::boolean
              = ((variant_overview() -> 'comparison' ->> 'confidence_pct')::numeric > 95),
          'comparison.significant says whether the confidence is above 95 %');
SELECT is((SELECT count(*)::int FROM overview
           WHERE conversion_rate <> round(conversion_rate, 2) OR avg_completion_time_ms <> round(avg_completion_time_ms, 2)),
          0, 'variant_overview() rounds every rate and average to 2 decimals');

-- ---------------------------------------------------------------- recent_completions(limit_count)
SELECT results_eq('SELECT * FROM recent_completions(50)',
  'SELECT id, username, variant, completion_time_ms, created_at FROM completions ORDER BY created_at DESC LIMIT 50',
  'recent_completions(50) returns the 50 newest completions, newest first');
SELECT is((SELECT count(*)::int FROM recent_completions()), 50, 'recent_completions() defaults to 50 rows');
SELECT is((SELECT count(*)::int FROM recent_completions(NULL)), 50, 'recent_completions(NULL) means the default');
SELECT is((SELECT count(*)::int FROM recent_completions(0)), 1, 'recent_completions(0) returns at least one row');
SELECT is((SELECT count(*)::int FROM recent_completions(100000)), 1000, 'recent_completions() returns at most 1000 rows');

-- ---------------------------------------------------------------- completion_time_distribution()
SELECT results_eq('SELECT variant, completions, avg_ms, min_ms, max_ms FROM completion_time_distribution()',
  'SELECT variant, count(*), round(avg(completion_time_ms), 2), min(completion_time_ms), max(completion_time_ms) FROM completions GROUP BY 1 ORDER BY 1',
  'completion_time_distribution() has each variant''s count, average, minimum and maximum');
SELECT results_eq('SELECT variant, p25_ms, p50_ms, p75_ms, p90_ms, p99_ms FROM completion_time_distribution()',
  $$SELECT variant, p[1], p[2], p[3], p[4], p[5]
    FROM (SELECT variant, percentile_disc(ARRAY[0.25, 0.5, 0.75, 0.9, 0.99]) WITHIN GROUP (ORDER BY completion_time_ms) AS p
          FROM completions GROUP BY 1) t ORDER BY 1$$,
  'completion_time_distribution() has each variant''s percentiles');
SELECT is((SELECT array_agg(json_array_length(histogram) ORDER BY variant) FROM completion_time_distribution()),
          ARRAY[16, 16], 'each histogram has all 16 one-second buckets');
SELECT results_eq(
  $$SELECT d.variant, sum((b ->> 'count')::bigint)::bigint FROM completion_time_distribution() d, json_array_elements(d.histogram) b GROUP BY 1 ORDER BY 1$$,
  'SELECT variant, count(*) FROM completions GROUP BY 1 ORDER BY 1',
  'the histogram buckets add up to the completions');
SELECT results_eq(
  $$SELECT (b ->> 'from_ms')::int, (b ->> 'to_ms')::int, (b ->> 'count')::bigint FROM completion_time_distribution() d, json_array_elements(d.histogram) b WHERE d.variant = 'A' AND (b ->> 'from_ms')::int IN (4000, 15000) ORDER BY 1$$,
  $$SELECT 4000, 5000, count(*) FILTER (WHERE completion_time_ms >= 4000 AND completion_time_ms < 5000) FROM completions WHERE variant = 'A'
    UNION ALL SELECT 15000, NULL, count(*) FILTER (WHERE completion_time_ms >= 15000) FROM completions WHERE variant = 'A'$$,
  'a bucket counts [from_ms, to_ms), and the last one is open-ended');

-- ---------------------------------------------------------------- leaderboard(variant, limit_count)
CREATE TEMP TABLE expected_leaderboard AS
SELECT c.variant, rank() OVER (PARTITION BY c.variant ORDER BY min(c.completion_time_ms)) AS rank, c.username,
       min(c.completion_time_ms) AS best_time_ms, count(*) AS attempts, max(c.created_at) AS last_completed_at
FROM completions c GROUP BY c.variant, c.username;
SELECT results_eq($$SELECT * FROM leaderboard('A', 10)$$,
  $$SELECT rank, username, best_time_ms, attempts, last_completed_at FROM expected_leaderboard WHERE variant = 'A' ORDER BY rank, username LIMIT 10$$,
  'leaderboard(''A'', 10) is the 10 fastest A users by best time');
SELECT results_eq($$SELECT * FROM leaderboard('B', 25)$$,
  $$SELECT rank, username, best_time_ms, attempts, last_completed_at FROM expected_leaderboard WHERE variant = 'B' ORDER BY rank, username LIMIT 25$$,
  'leaderboard(''B'', 25) is the 25 fastest B users by best time');
SELECT is((SELECT count(*)::int FROM leaderboard('A')), 10, 'leaderboard() defaults to 10 rows');
SELECT is((SELECT count(*)::int FROM leaderboard('A', -3)), 1, 'leaderboard() returns at least one row');
SELECT is((SELECT count(*)::int FROM leaderboard('C', 10)), 0, 'an unknown variant has an empty leaderboard');
SELECT is((SELECT min(rank)::int FROM leaderboard('B', 10)), 1, 'ranks start at 1');
SELECT ok((SELECT bool_and(u.variant = 'A') FROM leaderboard('A', 1000) l JOIN users u USING (username)),
          'leaderboard(''A'') lists A users only');

-- ---------------------------------------------------------------- log_analytics_run(...)
SELECT ok(log_analytics_run('pgtap', 'ok', 12, 'from a test') > 0, 'log_analytics_run() returns the new id');
SELECT results_eq($$SELECT job_name, status, duration_ms, message FROM analytics_run_log WHERE job_name = 'pgtap'$$,
  $$VALUES ('pgtap', 'ok', 12, 'from a test')$$, 'log_analytics_run() records the run as given');
SELECT lives_ok($$SELECT log_analytics_run('pgtap', 'failed')$$, 'duration and message are optional');
SELECT lives_ok($$SELECT log_analytics_run('pgtap', 'warning', 1, repeat('x', 5000))$$, 'a long message is accepted');
SELECT is((SELECT length(message) FROM analytics_run_log WHERE job_name = 'pgtap' AND status = 'warning'),
          2000, 'and cut to 2000 characters');
SELECT throws_ok($$SELECT log_analytics_run('pgtap', 'great', 1, NULL)$$, '22023', NULL, 'an unknown status is refused');
SELECT throws_ok($$SELECT log_analytics_run('  ', 'ok', 1, NULL)$$, '22023', NULL, 'a blank job name is refused');
SELECT throws_ok($$SELECT log_analytics_run(repeat('j', 101), 'ok', 1, NULL)$$, '22023', NULL, 'a job name over 100 characters is refused');
SELECT throws_ok($$SELECT log_analytics_run('pgtap', 'ok', -1, NULL)$$, '22023', NULL, 'a negative duration is refused');

-- ---------------------------------------------------------------- dashboard_status()
SELECT isnt(dashboard_status() ->> 'refreshed_at', NULL, 'dashboard_status() tells when the aggregates were refreshed');
SELECT is(dashboard_status() -> 'last_refresh' ->> 'status', 'ok', 'dashboard_status() shows the last refresh''s status');
SELECT is(dashboard_status() ->> 'scheduler',
          CASE WHEN EXISTS (SELECT FROM pg_extension WHERE extname = 'pg_cron') THEN 'pg_cron' ELSE 'none' END,
          'dashboard_status() names the scheduler');
SELECT is((dashboard_status() ->> 'latest_completion_at')::timestamptz, (SELECT max(created_at) FROM completions),
          'dashboard_status() has the newest completion''s time');

SELECT * FROM finish();
ROLLBACK;
