-- 005: business metrics as views, the figures the team watched on its FastAPI service. Each is security_invoker, so
-- the generations' RLS applies: a user's token sees their own figures; a role that bypasses RLS (an operator's
-- psql, a dashboard role granted BYPASSRLS) sees everyone's.
--
--   api.generation_daily      per day (UTC, by finish): finished, completed, failed, success and failure rate
--   api.generation_durations  per day: average and p95 duration (request → finish) and provider latency
--   api.generation_attempts   attempts per finished job: how many jobs took 1, 2, 3 … attempts, and their share

SET client_min_messages = warning;

CREATE OR REPLACE VIEW api.generation_daily WITH (security_invoker = true) AS
SELECT (finished_at AT TIME ZONE 'UTC')::date AS day,
       count(*) AS finished,
       count(*) FILTER (WHERE ai_status = 'completed') AS completed,
       count(*) FILTER (WHERE ai_status = 'failed') AS failed,
       round(count(*) FILTER (WHERE ai_status = 'completed')::numeric / count(*), 4) AS success_rate,
       round(count(*) FILTER (WHERE ai_status = 'failed')::numeric / count(*), 4) AS failure_rate,
       round(avg(attempts), 2) AS avg_attempts
FROM api.generations
WHERE finished_at IS NOT NULL
GROUP BY 1;
ALTER VIEW api.generation_daily OWNER TO aigen_owner;

CREATE OR REPLACE VIEW api.generation_durations WITH (security_invoker = true) AS
WITH latency AS (
  SELECT (g.finished_at AT TIME ZONE 'UTC')::date AS day, avg(l.latency_ms) AS avg_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY l.latency_ms) AS p95_ms
  FROM api.generation_logs AS l JOIN api.generations AS g ON g.id = l.generation_id
  WHERE g.finished_at IS NOT NULL AND l.latency_ms IS NOT NULL
  GROUP BY 1
)
SELECT d.day, d.finished,
       round(d.avg_ms::numeric) AS avg_duration_ms,
       round(d.p95_ms::numeric) AS p95_duration_ms,
       round(l.avg_ms::numeric) AS avg_provider_latency_ms,
       round(l.p95_ms::numeric) AS p95_provider_latency_ms
FROM (
  SELECT (finished_at AT TIME ZONE 'UTC')::date AS day, count(*) AS finished,
         avg(extract(epoch FROM finished_at - created_at) * 1000) AS avg_ms,
         percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at) * 1000) AS p95_ms
  FROM api.generations
  WHERE finished_at IS NOT NULL
  GROUP BY 1
) AS d
LEFT JOIN latency AS l USING (day);
ALTER VIEW api.generation_durations OWNER TO aigen_owner;

CREATE OR REPLACE VIEW api.generation_attempts WITH (security_invoker = true) AS
SELECT attempts, count(*) AS jobs,
       count(*) FILTER (WHERE ai_status = 'completed') AS completed,
       count(*) FILTER (WHERE ai_status = 'failed') AS failed,
       round(count(*)::numeric / sum(count(*)) OVER (), 4) AS share
FROM api.generations
WHERE finished_at IS NOT NULL
GROUP BY attempts;
ALTER VIEW api.generation_attempts OWNER TO aigen_owner;
