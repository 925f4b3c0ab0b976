-- Run by `restgres dev --app floyo` (./run.sh --app floyo) after the migrations, and by the tests: a demo user
-- (sub d3m0... below; dev-try.txt signs a token for it) with consent, 300 file events over 30 days in five tools and
-- eight file types, a few telemetry events, and two days of performance metrics (the last day's page loads slower:
-- the metrics job reports a regression). Only the first time: nothing is added when the demo user has events.
DO $$
DECLARE
  demo CONSTANT uuid := 'd3e00000-0000-4000-8000-000000000001';
BEGIN
  IF EXISTS (SELECT FROM api.file_events WHERE user_id = demo) THEN
    RETURN;
  END IF;
  INSERT INTO api.privacy_settings (user_id, consent, retention_days, monitoring_enabled) VALUES (demo, true, 14, true)
    ON CONFLICT (user_id) DO NOTHING;
  -- Deterministic: the i-th event's file, tool, kind and time follow from i.
  INSERT INTO api.file_events (user_id, file_path, tool, event_type, created_at)
  SELECT demo,
         format('src/%s/file%s.%s', (ARRAY['app', 'lib', 'docs'])[1 + i % 3], i % 17,
                (ARRAY['ts', 'tsx', 'md', 'json', 'sql', 'py', 'css', 'ts'])[1 + i % 8]),
         (ARRAY['vscode', 'cursor', 'vim', 'figma', 'terminal'])[1 + (i * 7) % 5],
         (ARRAY['open', 'save', 'save', 'create', 'rename'])[1 + i % 5],
         now() - make_interval(hours => (i * 37) % (30 * 24), mins => i % 60)
  FROM generate_series(1, 300) AS i;
  INSERT INTO api.telemetry_events (user_id, type, app, path, meta, created_at)
  SELECT demo, (ARRAY['page_view', 'click', 'search'])[1 + i % 3], 'web', (ARRAY['/', '/insights', '/settings'])[1 + i % 3],
         jsonb_build_object('n', i), now() - make_interval(days => i % 20)
  FROM generate_series(1, 40) AS i;
  INSERT INTO app.performance_metrics (metric, value, recorded_at)
  SELECT m.metric, m.base * CASE WHEN h < 24 AND m.metric = 'page_load_ms' THEN 1.4 ELSE 1 END + (h % 5),
         now() - make_interval(hours => h, mins => 30)
  FROM generate_series(0, 47) AS h,
       (VALUES ('page_load_ms', 800.0), ('api_latency_ms', 120.0)) AS m(metric, base);
END
$$;
