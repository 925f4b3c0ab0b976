-- The app's tables. Users' rows are isolated by RLS on the token's sub (auth.uid()); the owner (jobs, SECURITY
-- DEFINER ingest) is not subject to it.

SET client_min_messages = warning;
SET ROLE floyo_owner;

-- What the Next.js client sends to POST /api/telemetry/ingest. meta is redacted by a trigger (next migration).
CREATE TABLE IF NOT EXISTS api.telemetry_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id uuid NOT NULL,
  type text NOT NULL CHECK (length(type) BETWEEN 1 AND 100),
  app text NOT NULL DEFAULT 'web',
  path text,
  meta jsonb NOT NULL DEFAULT '{}',
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS telemetry_events_user_created ON api.telemetry_events (user_id, created_at);

-- The desktop agent's file events: what insights, patterns and stats are computed from.
CREATE TABLE IF NOT EXISTS api.file_events (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id uuid NOT NULL DEFAULT auth.uid(),
  file_path text NOT NULL,
  -- The lower-case extension without its dot ('' for none): what patterns group by.
  file_extension text NOT NULL GENERATED ALWAYS AS (lower(coalesce(substring(file_path FROM '\.([A-Za-z0-9]+)$'), ''))) STORED,
  tool text NOT NULL,
  event_type text NOT NULL DEFAULT 'open' CHECK (event_type IN ('open', 'save', 'create', 'delete', 'rename')),
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS file_events_user_created ON api.file_events (user_id, created_at);

-- Per-user privacy: consent to monitoring, whether it is on, and how long telemetry is kept (privacy cleanup).
CREATE TABLE IF NOT EXISTS api.privacy_settings (
  user_id uuid PRIMARY KEY DEFAULT auth.uid(),
  consent boolean NOT NULL DEFAULT false,
  retention_days integer NOT NULL DEFAULT 14 CHECK (retention_days BETWEEN 1 AND 3650),
  monitoring_enabled boolean NOT NULL DEFAULT true,
  updated_at timestamptz NOT NULL DEFAULT now()
);

-- Performance metrics (page loads, API latencies), written by the service; compared by the metrics job.
CREATE TABLE IF NOT EXISTS app.performance_metrics (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  metric text NOT NULL,
  value double precision NOT NULL,
  recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS performance_metrics_recorded ON app.performance_metrics (recorded_at);

-- How long each table's rows are kept (privacy cleanup deletes the older ones): table, its time column, the period.
CREATE TABLE IF NOT EXISTS app.retention_policies (
  table_name text PRIMARY KEY,
  time_column text NOT NULL,
  retention interval NOT NULL CHECK (retention > interval '0')
);
INSERT INTO app.retention_policies VALUES
  ('api.file_events', 'created_at', interval '180 days'),
  ('app.performance_metrics', 'recorded_at', interval '30 days'),
  ('app.job_runs', 'started_at', interval '90 days')
ON CONFLICT (table_name) DO NOTHING;

-- One row per run of a scheduled job (privacy cleanup, metrics collection).
CREATE TABLE IF NOT EXISTS app.job_runs (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  job text NOT NULL,
  started_at timestamptz NOT NULL DEFAULT clock_timestamp(),
  finished_at timestamptz,
  status text NOT NULL CHECK (status IN ('succeeded', 'failed')),
  rows bigint NOT NULL DEFAULT 0,
  details jsonb NOT NULL DEFAULT '{}'
);

-- What metrics collection found: healthy, degraded or regression, and the regressions.
CREATE TABLE IF NOT EXISTS app.metric_reports (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at timestamptz NOT NULL DEFAULT now(),
  status text NOT NULL CHECK (status IN ('healthy', 'degraded', 'regression')),
  regressions jsonb NOT NULL DEFAULT '[]'
);

RESET ROLE;

ALTER TABLE api.telemetry_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE api.file_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE api.privacy_settings ENABLE ROW LEVEL SECURITY;

DROP POLICY IF EXISTS own_events ON api.telemetry_events;
CREATE POLICY own_events ON api.telemetry_events FOR SELECT TO authenticated USING (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS own_file_events ON api.file_events;
CREATE POLICY own_file_events ON api.file_events FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));
DROP POLICY IF EXISTS own_settings ON api.privacy_settings;
CREATE POLICY own_settings ON api.privacy_settings FOR ALL TO authenticated
  USING (user_id = (SELECT auth.uid())) WITH CHECK (user_id = (SELECT auth.uid()));

-- Telemetry is written only by the ingest function; users read their own. File events and settings: their own,
-- the user column from the token (its default), never from a request.
GRANT SELECT ON api.telemetry_events TO authenticated;
GRANT SELECT, DELETE ON api.file_events TO authenticated;
GRANT INSERT (file_path, tool, event_type, created_at) ON api.file_events TO authenticated;
GRANT SELECT ON api.privacy_settings TO authenticated;
GRANT INSERT (consent, retention_days, monitoring_enabled), UPDATE (consent, retention_days, monitoring_enabled)
  ON api.privacy_settings TO authenticated;
