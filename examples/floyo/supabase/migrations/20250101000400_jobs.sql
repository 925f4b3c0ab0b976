-- The two scheduled jobs, as functions a schedule calls (schedules.conf) and tests call directly. Each logs a row in
-- app.job_runs. SECURITY DEFINER (as floyo_owner, the tables' owner, so RLS does not hide rows from them); executable
-- only by the role that runs schedules (floyo_scheduler) and the owner.

SET client_min_messages = warning;

DO $$
BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'floyo_scheduler') THEN
    CREATE ROLE floyo_scheduler NOLOGIN;
  END IF;
  IF EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    GRANT floyo_scheduler TO authenticator;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA app TO floyo_scheduler;

-- Privacy cleanup (daily at 02:00): telemetry older than each user's retention_days (14 without settings), then the
-- rows of each table in app.retention_policies older than its period. Returns and logs the rows deleted per table.
CREATE OR REPLACE FUNCTION app.privacy_cleanup() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  started timestamptz := clock_timestamp();
  deleted jsonb;
  n bigint;
  total bigint;
  p app.retention_policies;
BEGIN
  DELETE FROM api.telemetry_events AS t
  WHERE t.created_at < now() - make_interval(days => coalesce(
          (SELECT s.retention_days FROM api.privacy_settings AS s WHERE s.user_id = t.user_id), 14));
  GET DIAGNOSTICS n = ROW_COUNT;
  deleted := jsonb_build_object('api.telemetry_events', n);
  total := n;
  FOR p IN SELECT * FROM app.retention_policies ORDER BY table_name LOOP
    EXECUTE format('DELETE FROM %s WHERE %I < now() - $1', p.table_name::regclass, p.time_column) USING p.retention;
    GET DIAGNOSTICS n = ROW_COUNT;
    deleted := deleted || jsonb_build_object(p.table_name, n);
    total := total + n;
  END LOOP;
  INSERT INTO app.job_runs (job, started_at, finished_at, status, rows, details)
  VALUES ('privacy_cleanup', started, clock_timestamp(), 'succeeded', total, jsonb_build_object('deleted', deleted));
  RETURN jsonb_build_object('deleted', deleted, 'rows', total);
END
$$;
ALTER FUNCTION app.privacy_cleanup() OWNER TO floyo_owner;

-- Metrics collection (every 6 hours): each metric's average over the last 24 hours against the 24 hours before
-- (metrics are costs: latencies, sizes; higher is worse). A metric 25 % or more worse is a regression, 10 % or more
-- degraded; the report's status is the worst of them (healthy when none, or nothing to compare).
CREATE OR REPLACE FUNCTION app.collect_metrics() RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  started timestamptz := clock_timestamp();
  found jsonb;
  compared bigint;
  status text;
BEGIN
  WITH cur AS (SELECT metric, avg(value) AS v FROM app.performance_metrics
               WHERE recorded_at >= now() - interval '24 hours' AND recorded_at <= now() GROUP BY metric),
  prev AS (SELECT metric, avg(value) AS v FROM app.performance_metrics
           WHERE recorded_at >= now() - interval '48 hours' AND recorded_at < now() - interval '24 hours' GROUP BY metric),
  cmp AS (SELECT cur.metric, prev.v AS previous, cur.v AS current,
                 round(((cur.v - prev.v) / prev.v * 100)::numeric, 1) AS change_pct
          FROM cur JOIN prev USING (metric) WHERE prev.v > 0)
  SELECT coalesce(jsonb_agg(jsonb_build_object('metric', metric, 'previous', round(previous::numeric, 3),
                    'current', round(current::numeric, 3), 'change_pct', change_pct,
                    'severity', CASE WHEN change_pct >= 25 THEN 'regression' ELSE 'degraded' END)
                  ORDER BY change_pct DESC, metric) FILTER (WHERE change_pct >= 10), '[]'),
         count(*)
    INTO found, compared FROM cmp;
  status := CASE WHEN found @> '[{"severity": "regression"}]' THEN 'regression'
                 WHEN jsonb_array_length(found) > 0 THEN 'degraded' ELSE 'healthy' END;
  INSERT INTO app.metric_reports (status, regressions) VALUES (status, found);
  INSERT INTO app.job_runs (job, started_at, finished_at, status, rows, details)
  VALUES ('collect_metrics', started, clock_timestamp(), 'succeeded', compared,
          jsonb_build_object('status', status, 'regressions', found));
  RETURN jsonb_build_object('status', status, 'regressions', found, 'compared', compared);
END
$$;
ALTER FUNCTION app.collect_metrics() OWNER TO floyo_owner;

REVOKE EXECUTE ON FUNCTION app.privacy_cleanup(), app.collect_metrics() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.privacy_cleanup(), app.collect_metrics() TO floyo_scheduler;
