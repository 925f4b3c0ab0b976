-- The functions behind the Next.js client's URLs (routes.conf). They answer the client's own JSON, errors included:
-- {"error": "..."} with its status, set through response.status (app.error_response), not PostgREST's error shape.

SET client_min_messages = warning;

GRANT USAGE ON SCHEMA app TO anon, authenticated;

-- {"error": message} with the given status (response.status: PostgREST's and Restgres's way for a function to set
-- its status; group commit keeps it per request).
CREATE OR REPLACE FUNCTION app.error_response(status integer, message text) RETURNS json
LANGUAGE sql VOLATILE
SET search_path = ''
AS $$
  SELECT json_build_object('error', message) FROM (SELECT set_config('response.status', status::text, true)) AS s
$$;
ALTER FUNCTION app.error_response(integer, text) OWNER TO floyo_owner;

-- ?days_back= as the routes take it: 1..365, 30 when absent; null when it is anything else.
CREATE OR REPLACE FUNCTION app.period_days(days_back text) RETURNS integer
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
  SELECT CASE WHEN days_back IS NULL OR days_back = '' THEN 30
              WHEN days_back ~ '^\s*[0-9]{1,3}\s*$' AND days_back::integer BETWEEN 1 AND 365 THEN days_back::integer END
$$;
ALTER FUNCTION app.period_days(text) OWNER TO floyo_owner;

-- An ISO 8601 UTC timestamp as JavaScript's toISOString() writes it (the client parses it with new Date()).
CREATE OR REPLACE FUNCTION app.iso(t timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
  SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
ALTER FUNCTION app.iso(timestamptz) OWNER TO floyo_owner;

-- POST /api/telemetry/ingest {user_id, type, app = "web", path, meta} → {"ok": true}. The whole body is the one
-- unnamed argument, so a missing or extra field reaches these checks instead of PostgREST's "function not found".
-- A token, when there is one, must be the user's own; without one (a signed-out page) the user id is taken as sent,
-- as the original route did. A user who turned monitoring off or withdrew consent is answered the same and nothing
-- is stored. Group-committed (db-group-commit names rpc/telemetry_ingest).
CREATE OR REPLACE FUNCTION api.telemetry_ingest(jsonb) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  body jsonb := CASE WHEN jsonb_typeof($1) = 'object' THEN $1 ELSE '{}' END;
  uid text := nullif(btrim(body ->> 'user_id'), '');
  kind text := nullif(btrim(body ->> 'type'), '');
  s api.privacy_settings;
BEGIN
  IF uid IS NULL OR kind IS NULL THEN
    RETURN app.error_response(400, 'Missing required fields: user_id and type');
  END IF;
  IF uid !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$' THEN
    RETURN app.error_response(400, 'Invalid user_id');
  END IF;
  IF length(kind) > 100 THEN
    RETURN app.error_response(400, 'Invalid type');
  END IF;
  IF auth.uid() IS NOT NULL AND auth.uid() <> uid::uuid THEN
    RETURN app.error_response(403, 'Forbidden');
  END IF;
  SELECT * INTO s FROM api.privacy_settings WHERE user_id = uid::uuid;
  IF NOT FOUND OR (s.consent AND s.monitoring_enabled) THEN
    INSERT INTO api.telemetry_events (user_id, type, app, path, meta)
    VALUES (uid::uuid, kind, coalesce(nullif(body ->> 'app', ''), 'web'), body ->> 'path',
            CASE WHEN jsonb_typeof(body -> 'meta') = 'object' THEN body -> 'meta'
                 WHEN body -> 'meta' IS NULL OR jsonb_typeof(body -> 'meta') = 'null' THEN '{}'
                 ELSE jsonb_build_object('value', body -> 'meta') END);
  END IF;
  RETURN json_build_object('ok', true);
END
$$;
ALTER FUNCTION api.telemetry_ingest(jsonb) OWNER TO floyo_owner;

-- GET /api/health → {status, timestamp, uptime, checks: {database, environment}, latency_ms, version}; 503 when a
-- check fails. database: the app's tables are there; environment: the deployment named itself
-- (app.settings.environment in restgres.conf). uptime: seconds since PostgreSQL started.
CREATE OR REPLACE FUNCTION api.health() RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  database text := CASE WHEN to_regclass('api.telemetry_events') IS NOT NULL AND to_regclass('api.file_events') IS NOT NULL
                         AND to_regclass('api.privacy_settings') IS NOT NULL THEN 'ok' ELSE 'error' END;
  environment text := CASE WHEN nullif(current_setting('app.settings.environment', true), '') IS NOT NULL THEN 'ok' ELSE 'missing' END;
  healthy boolean := database = 'ok' AND environment = 'ok';
BEGIN
  IF NOT healthy THEN
    PERFORM set_config('response.status', '503', true);
  END IF;
  RETURN json_build_object(
    'status', CASE WHEN healthy THEN 'healthy' ELSE 'unhealthy' END,
    'timestamp', app.iso(now()),
    'uptime', round(extract(epoch FROM now() - pg_postmaster_start_time()))::bigint,
    'checks', json_build_object('database', database, 'environment', environment),
    'latency_ms', round(extract(epoch FROM clock_timestamp() - statement_timestamp()) * 1000, 3),
    'version', coalesce(nullif(current_setting('app.settings.version', true), ''), '1.0.0'));
END
$$;
ALTER FUNCTION api.health() OWNER TO floyo_owner;

-- GET /api/patterns?days_back= → {patterns: [{id, file_extension, count, event_count, last_used, tools}], count,
-- period_days}: one pattern per file extension the user worked with in the period (count: distinct files,
-- event_count: events, tools: the tools used on them), busiest first. RLS keeps it to the user's own events.
CREATE OR REPLACE FUNCTION api.patterns(days_back text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  d integer := app.period_days(days_back);
BEGIN
  IF auth.uid() IS NULL THEN RETURN app.error_response(401, 'Unauthorized'); END IF;
  IF d IS NULL THEN RETURN app.error_response(400, 'days_back must be an integer between 1 and 365'); END IF;
  RETURN (
    SELECT json_build_object('patterns', coalesce(json_agg(p ORDER BY p.event_count DESC, p.file_extension), '[]'),
                             'count', count(*), 'period_days', d)
    FROM (SELECT 'ext:' || e.file_extension AS id, e.file_extension, count(DISTINCT e.file_path) AS count,
                 count(*) AS event_count, app.iso(max(e.created_at)) AS last_used,
                 array_agg(DISTINCT e.tool ORDER BY e.tool) AS tools
          FROM api.file_events AS e
          WHERE e.user_id = auth.uid() AND e.created_at >= now() - make_interval(days => d) AND e.file_extension <> ''
          GROUP BY e.file_extension) AS p);
END
$$;
ALTER FUNCTION api.patterns(text) OWNER TO floyo_owner;

-- GET /api/stats?days_back= → {event_count, pattern_count, unique_tools, unique_extensions, tools, extensions,
-- period_days, period_start, period_end}; tools and extensions map each name to its event count.
CREATE OR REPLACE FUNCTION api.stats(days_back text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  d integer := app.period_days(days_back);
  period_start timestamptz := now() - make_interval(days => coalesce(d, 0));
BEGIN
  IF auth.uid() IS NULL THEN RETURN app.error_response(401, 'Unauthorized'); END IF;
  IF d IS NULL THEN RETURN app.error_response(400, 'days_back must be an integer between 1 and 365'); END IF;
  RETURN (
    WITH e AS (SELECT * FROM api.file_events AS f WHERE f.user_id = auth.uid() AND f.created_at >= period_start),
    t AS (SELECT tool, count(*) AS n FROM e GROUP BY tool),
    x AS (SELECT file_extension, count(*) AS n FROM e WHERE file_extension <> '' GROUP BY file_extension)
    SELECT json_build_object(
      'event_count', (SELECT count(*) FROM e),
      'pattern_count', (SELECT count(*) FROM x),
      'unique_tools', (SELECT count(*) FROM t),
      'unique_extensions', (SELECT count(*) FROM x),
      'tools', (SELECT coalesce(json_object_agg(tool, n ORDER BY n DESC, tool), '{}') FROM t),
      'extensions', (SELECT coalesce(json_object_agg(file_extension, n ORDER BY n DESC, file_extension), '{}') FROM x),
      'period_days', d,
      'period_start', app.iso(period_start),
      'period_end', app.iso(now())));
END
$$;
ALTER FUNCTION api.stats(text) OWNER TO floyo_owner;

-- GET /api/insights?days_back= → {insights: [{type, title, description, data}], recommendations: [text], count,
-- generated_at}: the user's top extension, top tool, busiest hour (UTC) and extensions opened with several tools.
CREATE OR REPLACE FUNCTION api.insights(days_back text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  d integer := app.period_days(days_back);
  insights jsonb := '[]';
  recommendations jsonb := '[]';
  total bigint;
  r record;
  since timestamptz := now() - make_interval(days => coalesce(d, 0));
BEGIN
  IF auth.uid() IS NULL THEN RETURN app.error_response(401, 'Unauthorized'); END IF;
  IF d IS NULL THEN RETURN app.error_response(400, 'days_back must be an integer between 1 and 365'); END IF;
  SELECT count(*) INTO total FROM api.file_events AS e WHERE e.user_id = auth.uid() AND e.created_at >= since;
  IF total = 0 THEN
    recommendations := jsonb_build_array('No file activity in the last ' || d || ' days: check that the Floyo agent is running and monitoring is on.');
  ELSE
    SELECT file_extension, count(*) AS n INTO r FROM api.file_events AS e WHERE e.user_id = auth.uid() AND e.created_at >= since AND file_extension <> ''
      GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1;
    IF FOUND THEN
      insights := insights || jsonb_build_object('type', 'top_extension', 'title', 'Most used file type',
        'description', format('.%s files: %s of %s events (%s%%)', r.file_extension, r.n, total, round(100.0 * r.n / total)),
        'data', jsonb_build_object('file_extension', r.file_extension, 'event_count', r.n));
    END IF;
    SELECT tool, count(*) AS n INTO r FROM api.file_events AS e WHERE e.user_id = auth.uid() AND e.created_at >= since GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1;
    insights := insights || jsonb_build_object('type', 'top_tool', 'title', 'Most used tool',
      'description', format('%s: %s of %s events', r.tool, r.n, total),
      'data', jsonb_build_object('tool', r.tool, 'event_count', r.n));
    SELECT extract(hour FROM created_at AT TIME ZONE 'UTC')::integer AS h, count(*) AS n INTO r FROM api.file_events AS e
      WHERE e.user_id = auth.uid() AND e.created_at >= since GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 1;
    insights := insights || jsonb_build_object('type', 'peak_hour', 'title', 'Busiest hour',
      'description', format('Most active around %s:00 UTC (%s events)', lpad(r.h::text, 2, '0'), r.n),
      'data', jsonb_build_object('hour', r.h, 'event_count', r.n));
    FOR r IN SELECT file_extension, array_agg(DISTINCT tool ORDER BY tool) AS tools FROM api.file_events AS e
             WHERE e.user_id = auth.uid() AND e.created_at >= since AND file_extension <> '' GROUP BY 1 HAVING count(DISTINCT tool) >= 2 ORDER BY count(DISTINCT tool) DESC, 1 LIMIT 3 LOOP
      insights := insights || jsonb_build_object('type', 'tool_switching', 'title', 'Several tools for one file type',
        'description', format('.%s files were opened with %s tools', r.file_extension, cardinality(r.tools)),
        'data', jsonb_build_object('file_extension', r.file_extension, 'tools', to_jsonb(r.tools)));
      recommendations := recommendations || to_jsonb(format('Pick one default tool for .%s files (now: %s).',
        r.file_extension, array_to_string(r.tools, ', ')));
    END LOOP;
  END IF;
  RETURN json_build_object('insights', insights, 'recommendations', recommendations,
                           'count', jsonb_array_length(insights), 'generated_at', app.iso(now()));
END
$$;
ALTER FUNCTION api.insights(text) OWNER TO floyo_owner;

REVOKE EXECUTE ON FUNCTION app.error_response(integer, text), app.period_days(text), app.iso(timestamptz),
  api.telemetry_ingest(jsonb), api.health(), api.patterns(text), api.stats(text), api.insights(text) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION app.error_response(integer, text), app.period_days(text), app.iso(timestamptz),
  api.telemetry_ingest(jsonb), api.health(), api.patterns(text), api.stats(text), api.insights(text) TO anon, authenticated;
GRANT EXECUTE ON FUNCTION auth.uid(), auth.jwt() TO floyo_owner;
