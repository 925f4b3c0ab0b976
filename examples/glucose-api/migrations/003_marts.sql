-- 003: raw CGM readings, the marts built from them, the refresh function and the data generator.

SET client_min_messages = warning;

CREATE SCHEMA IF NOT EXISTS raw AUTHORIZATION glucose_owner;
CREATE SCHEMA IF NOT EXISTS marts AUTHORIZATION glucose_owner;

CREATE TABLE IF NOT EXISTS raw.glucose_readings (
  reading_id    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  reading_at    timestamptz NOT NULL,
  glucose_mg_dl numeric(5, 1) NOT NULL CHECK (glucose_mg_dl BETWEEN 20 AND 600),
  device_id     text NOT NULL DEFAULT 'cgm-1',
  UNIQUE (device_id, reading_at)
);
ALTER TABLE raw.glucose_readings OWNER TO glucose_owner;

-- One row per day (the plan's mrt_glucose_overview). Ranges: below 70, in 70-180, above 180 mg/dL; estimated A1C by
-- the ADAG formula (avg + 46.7) / 28.7.
CREATE TABLE IF NOT EXISTS marts.mrt_glucose_overview (
  reading_date                  date PRIMARY KEY,
  day_name                      text NOT NULL,
  week_of_year                  integer NOT NULL,
  month                         integer NOT NULL,
  year                          integer NOT NULL,
  reading_count                 integer NOT NULL,
  avg_glucose_mg_dl             numeric(6, 1),
  min_glucose_mg_dl             numeric(6, 1),
  max_glucose_mg_dl             numeric(6, 1),
  stddev_glucose_mg_dl          numeric(6, 1),
  time_in_range_pct             numeric(5, 1),
  time_below_range_pct          numeric(5, 1),
  time_above_range_pct          numeric(5, 1),
  estimated_a1c_pct             numeric(4, 2),
  estimated_a1c_7d_avg_pct      numeric(4, 2),
  avg_glucose_change_mg_dl      numeric(6, 1),
  coefficient_of_variation_pct  numeric(5, 1)
);
ALTER TABLE marts.mrt_glucose_overview OWNER TO glucose_owner;

-- Hour of day x day of week (0 = Sunday), the plan's mrt_glucose_hourly_patterns.
CREATE TABLE IF NOT EXISTS marts.mrt_glucose_hourly_patterns (
  hour_of_day           integer NOT NULL CHECK (hour_of_day BETWEEN 0 AND 23),
  day_of_week           integer NOT NULL CHECK (day_of_week BETWEEN 0 AND 6),
  day_name              text NOT NULL,
  reading_count         integer NOT NULL,
  avg_glucose_mg_dl     numeric(6, 1),
  median_glucose_mg_dl  numeric(6, 1),
  p25_glucose_mg_dl     numeric(6, 1),
  p75_glucose_mg_dl     numeric(6, 1),
  time_in_range_pct     numeric(5, 1),
  stddev_glucose_mg_dl  numeric(6, 1),
  PRIMARY KEY (hour_of_day, day_of_week)
);
ALTER TABLE marts.mrt_glucose_hourly_patterns OWNER TO glucose_owner;

-- Rebuilds both marts from the raw readings in one transaction (readers see the old rows until it commits), then
-- tells Restgres's response cache that they changed (docs/response-cache.md: NOTIFY on db-channel).
CREATE OR REPLACE FUNCTION marts.refresh() RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = ''
AS $$
BEGIN
  DELETE FROM marts.mrt_glucose_overview;
  INSERT INTO marts.mrt_glucose_overview
  WITH daily AS (
    SELECT (reading_at AT TIME ZONE 'UTC')::date AS reading_date,
           count(*) AS n,
           avg(glucose_mg_dl) AS avg_g,
           min(glucose_mg_dl) AS min_g,
           max(glucose_mg_dl) AS max_g,
           stddev_samp(glucose_mg_dl) AS sd,
           100.0 * count(*) FILTER (WHERE glucose_mg_dl BETWEEN 70 AND 180) / count(*) AS tir,
           100.0 * count(*) FILTER (WHERE glucose_mg_dl < 70) / count(*) AS tbr,
           100.0 * count(*) FILTER (WHERE glucose_mg_dl > 180) / count(*) AS tar
    FROM raw.glucose_readings
    GROUP BY 1
  )
  SELECT reading_date,
         trim(to_char(reading_date, 'Day')),
         extract(week FROM reading_date)::int,
         extract(month FROM reading_date)::int,
         extract(year FROM reading_date)::int,
         n,
         round(avg_g, 1), min_g, max_g, round(sd, 1),
         round(tir, 1), round(tbr, 1), round(tar, 1),
         round((avg_g + 46.7) / 28.7, 2),
         round(avg((avg_g + 46.7) / 28.7) OVER (ORDER BY reading_date RANGE BETWEEN '6 days' PRECEDING AND CURRENT ROW), 2),
         round(avg_g - lag(avg_g) OVER (ORDER BY reading_date), 1),
         round(100 * sd / nullif(avg_g, 0), 1)
  FROM daily;

  DELETE FROM marts.mrt_glucose_hourly_patterns;
  INSERT INTO marts.mrt_glucose_hourly_patterns
  SELECT extract(hour FROM reading_at AT TIME ZONE 'UTC')::int,
         extract(dow FROM reading_at AT TIME ZONE 'UTC')::int,
         trim(to_char(min(reading_at AT TIME ZONE 'UTC'), 'Day')),
         count(*),
         round(avg(glucose_mg_dl), 1),
         round(percentile_cont(0.5) WITHIN GROUP (ORDER BY glucose_mg_dl)::numeric, 1),
         round(percentile_cont(0.25) WITHIN GROUP (ORDER BY glucose_mg_dl)::numeric, 1),
         round(percentile_cont(0.75) WITHIN GROUP (ORDER BY glucose_mg_dl)::numeric, 1),
         round(100.0 * count(*) FILTER (WHERE glucose_mg_dl BETWEEN 70 AND 180) / count(*), 1),
         round(stddev_samp(glucose_mg_dl), 1)
  FROM raw.glucose_readings
  GROUP BY 1, 2;

  -- The marts themselves, and the functions that read them (Restgres cannot see inside a function).
  PERFORM pg_notify('pgrst', concat_ws(chr(10), 'restgres-cache-invalidate marts.mrt_glucose_overview',
    'marts.mrt_glucose_hourly_patterns', 'api.statistics', 'api.glucose_statistics', 'api.readings', 'api.daily_summary',
    'api.hourly_patterns'));
END
$$;
ALTER FUNCTION marts.refresh() OWNER TO glucose_owner;
REVOKE EXECUTE ON FUNCTION marts.refresh() FROM PUBLIC;

-- A meal's effect on glucose at hour h: rises to `peak` an hour after the meal, then decays over two to three hours.
CREATE OR REPLACE FUNCTION raw.meal_curve(h numeric, meal_at double precision, peak double precision)
RETURNS double precision
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = ''
AS $$ SELECT CASE WHEN h < meal_at THEN 0 ELSE peak * (h - meal_at) * exp(1 - (h - meal_at)) END $$;

-- Realistic CGM data: a reading every 5 minutes for the `days` days before `anchor`, deterministic for a seed. A day has a
-- baseline around 105 mg/dL with a slow drift from day to day, a dawn rise (4-8 h), three meals whose peaks (40-110
-- mg/dL above baseline, 45-75 min after the meal) decay over about two hours, lower nights, sensor noise, and sensor
-- gaps (about one day in four loses 1-3 hours). 90 days is ~25,000 readings; days => 3500 gives ~1 M.
CREATE OR REPLACE FUNCTION raw.generate_readings(days integer DEFAULT 90, seed double precision DEFAULT 0.42,
                                                 anchor timestamptz DEFAULT date_trunc('day', now()))
RETURNS bigint
LANGUAGE plpgsql
SET search_path = ''
AS $$
DECLARE
  inserted bigint;
BEGIN
  IF days IS NULL OR days < 1 OR days > 20000 THEN
    RAISE EXCEPTION 'days must be between 1 and 20000, got %', days;
  END IF;
  PERFORM setseed(seed);
  WITH day AS (
    SELECT d, anchor - make_interval(days => days - d + 1) AS day_start,
           100 + 12 * random() AS baseline,
           6.5 + random() AS breakfast, 12 + 1.5 * random() AS lunch, 18.5 + 2 * random() AS dinner,
           40 + 50 * random() AS breakfast_peak, 40 + 60 * random() AS lunch_peak, 50 + 60 * random() AS dinner_peak,
           CASE WHEN random() < 0.25 THEN 24 * random() END AS gap_start,
           1 + 2 * random() AS gap_hours
    FROM generate_series(1, days) AS d
  ),
  reading AS (
    SELECT day.*, s * 5 / 60.0 AS h, day_start + make_interval(mins => s * 5) AS reading_at
    FROM day, generate_series(0, 287) AS s
  )
  INSERT INTO raw.glucose_readings (reading_at, glucose_mg_dl)
  SELECT reading_at,
         least(400, greatest(40, round((
           baseline
           + CASE WHEN h BETWEEN 4 AND 8 THEN 15 * sin(pi() * (h - 4) / 4) ELSE 0 END
           - CASE WHEN h < 5 OR h > 23 THEN 10 ELSE 0 END
           + raw.meal_curve(h, breakfast, breakfast_peak) + raw.meal_curve(h, lunch, lunch_peak)
           + raw.meal_curve(h, dinner, dinner_peak)
           + 8 * (random() - 0.5) * 2
         )::numeric, 1)))
  FROM reading
  WHERE gap_start IS NULL OR h NOT BETWEEN gap_start AND gap_start + gap_hours
  ON CONFLICT (device_id, reading_at) DO NOTHING;
  GET DIAGNOSTICS inserted = ROW_COUNT;
  RETURN inserted;
END
$$;
ALTER FUNCTION raw.generate_readings(integer, double precision, timestamptz) OWNER TO glucose_owner;
ALTER FUNCTION raw.meal_curve(numeric, double precision, double precision) OWNER TO glucose_owner;
REVOKE EXECUTE ON FUNCTION raw.generate_readings(integer, double precision, timestamptz) FROM PUBLIC;
