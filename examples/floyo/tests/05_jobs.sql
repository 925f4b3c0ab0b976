-- The two scheduled jobs, called directly as the schedule's role: privacy cleanup and metrics collection.
BEGIN;
SELECT plan(12);

-- Telemetry: the demo user keeps 14 days (dev.sql's events go back 19 days); a user without settings, 14 too; a
-- user with 30 keeps a 20-day-old event.
INSERT INTO api.telemetry_events (user_id, type, created_at) VALUES
  ('f0000000-0000-4000-8000-00000000000f', 'old', now() - interval '15 days'),
  ('f0000000-0000-4000-8000-00000000000f', 'new', now() - interval '13 days'),
  ('a1000000-0000-4000-8000-0000000000a1', 'kept', now() - interval '20 days');
INSERT INTO api.privacy_settings (user_id, retention_days) VALUES ('a1000000-0000-4000-8000-0000000000a1', 30);
INSERT INTO api.file_events (user_id, file_path, tool, created_at) VALUES ('a1000000-0000-4000-8000-0000000000a1', 'old.txt', 'vim', now() - interval '200 days');
CREATE TEMP TABLE before AS SELECT count(*) AS n FROM api.telemetry_events
  WHERE user_id = 'd3e00000-0000-4000-8000-000000000001' AND created_at < now() - interval '14 days';
GRANT SELECT ON before TO floyo_scheduler;

SET LOCAL ROLE floyo_scheduler;
SELECT is((app.privacy_cleanup() -> 'deleted' ->> 'api.telemetry_events')::bigint, (SELECT n + 1 FROM before), 'cleanup deletes telemetry past each retention');
RESET ROLE;
SELECT is((SELECT array_agg(type ORDER BY type) FROM api.telemetry_events WHERE user_id IN ('f0000000-0000-4000-8000-00000000000f', 'a1000000-0000-4000-8000-0000000000a1')),
  ARRAY['kept', 'new'], 'a 30-day user keeps 20 days, a user without settings 14');
SELECT is((SELECT count(*)::int FROM api.telemetry_events WHERE created_at < now() - interval '14 days' AND user_id = 'd3e00000-0000-4000-8000-000000000001'), 0, 'the demo user''s older events are gone');
SELECT is((SELECT count(*)::int FROM api.file_events WHERE file_path = 'old.txt'), 0, 'file events past their table''s 180 days are gone');
SELECT is((SELECT count(*)::int FROM api.file_events), 300, 'the others stay');
SELECT is((SELECT status || ' ' || job FROM app.job_runs ORDER BY id DESC LIMIT 1), 'succeeded privacy_cleanup', 'the run is logged');

-- Metrics: the seed's page loads are 40 % slower in the last 24 hours: a regression; API latency is steady.
SET LOCAL ROLE floyo_scheduler;
SELECT is(app.collect_metrics() ->> 'status', 'regression', 'the seed''s slower page loads are a regression');
RESET ROLE;
SELECT is((SELECT regressions -> 0 ->> 'metric' FROM app.metric_reports ORDER BY id DESC LIMIT 1), 'page_load_ms', 'naming the metric');
SELECT is((SELECT jsonb_array_length(regressions) FROM app.metric_reports ORDER BY id DESC LIMIT 1), 1, 'only that one');
SELECT is((SELECT details ->> 'status' FROM app.job_runs WHERE job = 'collect_metrics' ORDER BY id DESC LIMIT 1), 'regression', 'and logs the run');
DELETE FROM app.performance_metrics;
INSERT INTO app.performance_metrics (metric, value, recorded_at) VALUES
  ('page_load_ms', 100, now() - interval '30 hours'), ('page_load_ms', 115, now() - interval '1 hour');
SELECT is(app.collect_metrics() ->> 'status', 'degraded', '15 % worse: degraded');
DELETE FROM app.performance_metrics WHERE value = 115;
INSERT INTO app.performance_metrics (metric, value, recorded_at) VALUES ('page_load_ms', 90, now() - interval '1 hour');
SELECT is(app.collect_metrics() ->> 'status', 'healthy', 'faster: healthy');

SELECT * FROM finish();
ROLLBACK;
