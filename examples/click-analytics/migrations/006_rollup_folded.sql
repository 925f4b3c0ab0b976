-- 006: the rollup is folded from the clicks every second instead of by a trigger on every insert.
--
-- The statement-level trigger of 003 ran once per INSERT statement: under group commit, once per /track request,
-- about a third of PostgreSQL's time per click (docs/benchmarks.md, "Click ingest: the rollup folded"). Now:
--
--   api.feature_clicks.tx     the inserting transaction's id (a default; a plain bigint so that BRIN can index it)
--   analytics.rollup_state    folded_below: every click of a transaction older than this is in the rollup
--   analytics.fold_clicks()   adds the clicks of every transaction that has ended since the last fold and moves
--                             folded_below; run every second by the server (schedules.conf) or by pg_cron
--   analytics.unfolded_counts()  the clicks not folded yet, counted as the rollup counts them; /analytics adds them,
--                             so its figures are exact at any moment
--
-- Why a transaction id and not the click's id: ids are handed out when a row is inserted but become visible when its
-- transaction commits, in another order, so "every id up to N is folded" can skip a click committed late. A
-- transaction id below the oldest transaction still running (the snapshot's xmin) belongs to a transaction that has
-- ended: nothing more will ever be written with it. Clicks written before this migration (tx null) were counted by
-- the trigger.

SET client_min_messages = warning;

ALTER TABLE api.feature_clicks ADD COLUMN IF NOT EXISTS tx bigint;
ALTER TABLE api.feature_clicks ALTER COLUMN tx SET DEFAULT (pg_current_xact_id()::text::bigint);
CREATE INDEX IF NOT EXISTS feature_clicks_tx_brin ON api.feature_clicks USING brin (tx);

CREATE TABLE IF NOT EXISTS analytics.rollup_state (
  singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  folded_below bigint NOT NULL
);
ALTER TABLE analytics.rollup_state OWNER TO clicks_owner;
-- Clicks of this transaction and later ones are folded from now on.
INSERT INTO analytics.rollup_state (folded_below) VALUES (pg_current_xact_id()::text::bigint) ON CONFLICT DO NOTHING;

-- The clicks not folded yet (tx from folded_below on), counted by day × feature × age group × gender as the rollup is.
-- SECURITY DEFINER: a user reads only their own profile, and the counts need every clicker's age and gender.
CREATE OR REPLACE FUNCTION analytics.unfolded_counts()
RETURNS TABLE (day date, feature_name text, age_group text, gender text, clicks bigint)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = ''
AS $$
  SELECT (c."timestamp" AT TIME ZONE 'UTC')::date, c.feature_name, analytics.age_group(p.age), p.gender, count(*)
  FROM api.feature_clicks AS c JOIN api.profiles AS p ON p.id = c.user_id
  WHERE c.tx >= (SELECT s.folded_below FROM analytics.rollup_state AS s)
  GROUP BY 1, 2, 3, 4
$$;
ALTER FUNCTION analytics.unfolded_counts() OWNER TO clicks_owner;

-- Adds to the rollup the clicks of every transaction that ended since the last fold; returns how many. One fold at a
-- time (the state row's lock); a fold that finds nothing new returns 0 without writing.
CREATE OR REPLACE FUNCTION analytics.fold_clicks() RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  since bigint;
  -- Every transaction below the oldest one still running has ended (committed or rolled back).
  upto bigint := pg_snapshot_xmin(pg_current_snapshot())::text::bigint;
  folded bigint;
BEGIN
  SELECT s.folded_below INTO since FROM analytics.rollup_state AS s FOR UPDATE;
  IF upto <= since THEN
    RETURN 0;
  END IF;
  WITH new_clicks AS (
    SELECT (c."timestamp" AT TIME ZONE 'UTC')::date AS day, c.feature_name, analytics.age_group(p.age) AS age_group,
           p.gender, count(*) AS clicks
    FROM api.feature_clicks AS c JOIN api.profiles AS p ON p.id = c.user_id
    WHERE c.tx >= since AND c.tx < upto
    GROUP BY 1, 2, 3, 4
  ), upserted AS (
    INSERT INTO api.feature_rollup AS r (day, feature_name, age_group, gender, clicks)
    SELECT n.day, n.feature_name, n.age_group, n.gender, n.clicks FROM new_clicks AS n
    ON CONFLICT (day, feature_name, age_group, gender) DO UPDATE SET clicks = r.clicks + excluded.clicks
  )
  SELECT coalesce(sum(n.clicks), 0) INTO folded FROM new_clicks AS n;
  UPDATE analytics.rollup_state SET folded_below = upto;
  RETURN folded;
END
$$;
ALTER FUNCTION analytics.fold_clicks() OWNER TO clicks_owner;

-- The trigger goes, and the counts it left waiting are folded in once, here.
DROP TRIGGER IF EXISTS feature_clicks_rollup ON api.feature_clicks;
DROP FUNCTION IF EXISTS analytics.rollup_clicks();
DO $$
BEGIN
  IF to_regclass('analytics.rollup_pending') IS NOT NULL THEN
    WITH pending AS (DELETE FROM analytics.rollup_pending RETURNING day, feature_name, age_group, gender, clicks)
    INSERT INTO api.feature_rollup AS r (day, feature_name, age_group, gender, clicks)
    SELECT p.day, p.feature_name, p.age_group, p.gender, sum(p.clicks) FROM pending AS p GROUP BY 1, 2, 3, 4
    ON CONFLICT (day, feature_name, age_group, gender) DO UPDATE SET clicks = r.clicks + excluded.clicks;
    DROP TABLE analytics.rollup_pending;
  END IF;
END
$$;

-- /analytics: the rollup and the clicks not folded into it yet.
CREATE OR REPLACE FUNCTION api.analytics(start_date text DEFAULT NULL, end_date text DEFAULT NULL, age_group text DEFAULT NULL,
  gender text DEFAULT NULL, feature_name text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql STABLE
SET search_path = ''
AS $$
DECLARE
  e record;
  first_day date;
  last_day date;
  result json;
BEGIN
  start_date := nullif(start_date, ''); end_date := nullif(end_date, ''); age_group := nullif(age_group, '');
  gender := nullif(gender, ''); feature_name := nullif(feature_name, '');
  IF age_group NOT IN ('<18', '18-40', '>40') THEN
    e := api._error(422, 'age_group must be <18, 18-40 or >40');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  BEGIN
    first_day := left(start_date, 10)::date;
    last_day := left(end_date, 10)::date;
  EXCEPTION WHEN invalid_datetime_format OR datetime_field_overflow THEN
    e := api._error(422, 'start_date and end_date must be dates (YYYY-MM-DD)');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END;
  WITH r AS (
    SELECT * FROM (SELECT y.day, y.feature_name, y.age_group, y.gender, y.clicks FROM api.feature_rollup AS y
                   UNION ALL
                   SELECT z.day, z.feature_name, z.age_group, z.gender, z.clicks FROM analytics.unfolded_counts() AS z) AS x
    WHERE (first_day IS NULL OR x.day >= first_day) AND (last_day IS NULL OR x.day <= last_day)
      AND (analytics.age_group IS NULL OR x.age_group = analytics.age_group)
      AND (analytics.gender IS NULL OR x.gender = analytics.gender)
  )
  SELECT json_build_object(
    'feature_counts', (SELECT coalesce(json_agg(f ORDER BY f.count DESC, f.feature_name), '[]')
                       FROM (SELECT r.feature_name, sum(r.clicks)::bigint AS count FROM r GROUP BY r.feature_name) AS f),
    'daily_counts', (SELECT coalesce(json_agg(d ORDER BY d.date), '[]')
                     FROM (SELECT to_char(r.day, 'YYYY-MM-DD') AS date, sum(r.clicks)::bigint AS count FROM r
                           WHERE analytics.feature_name IS NULL OR r.feature_name = analytics.feature_name
                           GROUP BY r.day) AS d))
  INTO result;
  RETURN result;
END
$$;
ALTER FUNCTION api.analytics(text, text, text, text, text) OWNER TO clicks_owner;

REVOKE EXECUTE ON FUNCTION analytics.unfolded_counts(), analytics.fold_clicks() FROM PUBLIC;
-- /analytics counts the clicks not folded yet as the user; the fold runs as authenticated too (schedules.conf: the
-- server's role switches to it), or as the owner from pg_cron. A fold is idempotent and cheap when nothing is new.
GRANT EXECUTE ON FUNCTION analytics.unfolded_counts(), analytics.fold_clicks() TO authenticated;
GRANT SELECT ON analytics.rollup_state TO authenticated;
-- The server's role logs each run in Restgres's run log (restgres --schema-sql; `restgres dev` installs it) when the
-- deployment's role is named authenticator and the log is installed; otherwise the operator grants it (README.md).
DO $$
BEGIN
  IF to_regnamespace('restgres') IS NOT NULL AND to_regproc('restgres.run_scheduled') IS NOT NULL
     AND EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticator') THEN
    GRANT USAGE ON SCHEMA restgres TO authenticator;
    GRANT EXECUTE ON FUNCTION restgres.run_scheduled(text, text, text, timestamptz, text),
      restgres.record_scheduled_run(text, text, timestamptz, timestamptz, text, bigint, text) TO authenticator;
  END IF;
END
$$;
