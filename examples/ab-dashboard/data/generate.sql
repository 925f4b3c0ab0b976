-- Deterministic synthetic data for the A/B dashboard: replaces users, events and completions, then refreshes the
-- aggregates. Run by `restgres dev` (small, on first start or with --events) and by ../generate.sh:
--
--   psql -v ON_ERROR_STOP=1 -v events=1000000 -f data/generate.sql "$DATABASE_URL"
--
-- Variables (all optional):
--   events       click-stream rows (default 200,000)
--   users        default events / 100 (the benchmark's ratio), at least 100
--   completions  default events / 10, at least 100
--   days         history length (default 30)
--   seed         integer; the same seed and sizes give the same rows (default 42)
--   anchor       the newest possible timestamp (default: now, to the minute); fix it too for byte-identical data
--
-- The values come from hashes of the row number and the seed (hashint8extended), not from random(), so that they do
-- not depend on the plan, on parallel workers or on what else the session did.
--
-- Shape (as ../shared/bench/schema/seed.sql): users alternate variants by id (odd A, even B); each user has a funnel
-- stage: everybody views, about 60 % (A) / 66 % (B) start, 30 % (A) / 36 % (B) complete, and events only use the
-- names a user's stage allows, so the funnel is a real funnel and B converts better; completion times are
-- log-normal with medians of about 4.6 s (A) and 3.9 s (B).

\if :{?events}
\else
\set events 200000
\endif
\if :{?users}
\else
\set users ''
\endif
\if :{?completions}
\else
\set completions ''
\endif
\if :{?days}
\else
\set days 30
\endif
\if :{?seed}
\else
\set seed 42
\endif
\if :{?anchor}
\else
\set anchor ''
\endif

SET client_min_messages = warning;
SET work_mem = '256MB';
SET maintenance_work_mem = '512MB';

SELECT coalesce(nullif(:'users', '')::int, greatest(100, (:events)::bigint / 100)::int) AS users,
       coalesce(nullif(:'completions', '')::int, greatest(100, (:events)::bigint / 10)::int) AS completions,
       coalesce(nullif(:'anchor', '')::timestamptz, date_trunc('minute', now())) AS anchor
\gset

-- A uniform number in [0, 1) from a 64-bit hash.
CREATE OR REPLACE FUNCTION pg_temp.unit(h bigint) RETURNS float8
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT (h & 9007199254740991)::float8 / 9007199254740992.0 $$;

-- pg_cron refreshes the materialized views every minute, reading these tables in another order than TRUNCATE locks
-- them: when the minute strikes during generation the two deadlock. The backend whose deadlock_timeout expires first
-- checks and aborts itself, so a longer timeout here makes the refresh (retried a minute later) the one that yields.
-- Only a superuser may set it; run as the tables' owner, the generator keeps the default.
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    PERFORM set_config('deadlock_timeout', '10s', false);
  END IF;
END $$;

BEGIN;

TRUNCATE completions, events, users RESTART IDENTITY;

-- Stage per user: 1 = viewed only, 2 = started, 3 = completed.
CREATE TEMP TABLE gen_users ON COMMIT DROP AS
SELECT g AS id,
       CASE WHEN g % 2 = 1 THEN 'A' ELSE 'B' END AS variant,
       CASE
         WHEN pg_temp.unit(hashint8extended(g, :seed * 1000 + 1)) < CASE WHEN g % 2 = 1 THEN 0.30 ELSE 0.36 END THEN 3
         WHEN pg_temp.unit(hashint8extended(g, :seed * 1000 + 1)) < CASE WHEN g % 2 = 1 THEN 0.60 ELSE 0.66 END THEN 2
         ELSE 1
       END AS stage,
       (ARRAY['swift', 'brave', 'calm', 'eager', 'fancy', 'gentle', 'happy', 'jolly', 'kind', 'lively', 'merry',
              'nimble', 'proud', 'quick', 'witty', 'zesty', 'bold', 'bright', 'clever', 'daring', 'keen', 'lucky',
              'mighty', 'noble', 'plucky', 'quiet', 'rapid', 'sunny', 'tidy', 'vivid', 'wise', 'young'])[1 + g % 32]
       || '_' ||
       (ARRAY['otter', 'falcon', 'panda', 'lynx', 'heron', 'koala', 'badger', 'raven', 'tiger', 'walrus', 'yak',
              'zebra', 'beaver', 'cobra', 'dingo', 'eagle', 'ferret', 'gecko', 'hawk', 'ibis', 'jaguar', 'kiwi',
              'lemur', 'moose', 'newt', 'ocelot', 'puffin', 'quail', 'robin', 'stoat', 'toucan', 'viper'])[1 + (g / 32) % 32]
       || '_' || g AS username
FROM generate_series(1, :users) AS g;

INSERT INTO users (id, username, variant, created_at)
SELECT id, username, variant,
       :'anchor'::timestamptz - interval '1 day' * :days
         - pg_temp.unit(hashint8extended(id, :seed * 1000 + 2)) * interval '7 days'
FROM gen_users
ORDER BY id;

-- Events: a user picked by hash, an event name the user's stage allows (page views dominate), spread over the last
-- :days days, inserted in time order like a real click-stream.
INSERT INTO events (user_id, event_name, variant, properties, created_at)
SELECT u.id,
       e.event_name,
       u.variant,
       CASE e.event_name
         WHEN 'page_view' THEN jsonb_build_object(
           'path', '/test',
           'referrer', (ARRAY['direct', 'search', 'email', 'social'])[1 + (x.r2 * 4)::int % 4],
           'screen', jsonb_build_object('w', (ARRAY[390, 1280, 1440, 1920])[1 + (x.r2 * 16)::int % 4], 'h', 800))
         WHEN 'button_click' THEN jsonb_build_object(
           'button', (ARRAY['cta', 'nav', 'help', 'share'])[1 + (x.r2 * 4)::int % 4],
           'x', (x.r2 * 1000)::int, 'y', (x.r3 * 800)::int)
         WHEN 'test_start' THEN jsonb_build_object('session', md5(x.g::text || :'seed')::uuid)
         ELSE jsonb_build_object('session', md5(x.g::text || :'seed')::uuid, 'duration_ms', 800 + (x.r3 * 9000)::int)
       END,
       :'anchor'::timestamptz - x.r3 * interval '1 day' * :days
FROM (
  SELECT g,
         1 + floor(pg_temp.unit(hashint8extended(g, :seed * 1000 + 3)) * :users)::bigint AS uid,
         pg_temp.unit(hashint8extended(g, :seed * 1000 + 4)) AS r1,
         pg_temp.unit(hashint8extended(g, :seed * 1000 + 5)) AS r2,
         pg_temp.unit(hashint8extended(g, :seed * 1000 + 6)) AS r3
  FROM generate_series(1, (:events)::bigint) AS g
) AS x
JOIN gen_users u ON u.id = x.uid
CROSS JOIN LATERAL (
  SELECT CASE
           WHEN u.stage = 3 AND x.r1 < 0.08 THEN 'test_complete'
           WHEN u.stage >= 2 AND x.r1 < 0.20 THEN 'test_start'
           WHEN x.r1 < 0.35 THEN 'button_click'
           ELSE 'page_view'
         END AS event_name
) AS e
ORDER BY x.r3 DESC, x.g;

-- Completions: only users who reached stage 3; log-normal times (Box-Muller), at least 350 ms.
CREATE TEMP TABLE gen_completers ON COMMIT DROP AS
SELECT row_number() OVER (ORDER BY id) AS rn, id, variant, username
FROM gen_users
WHERE stage = 3;

INSERT INTO completions (username, variant, completion_time_ms, created_at)
SELECT c.username,
       c.variant,
       greatest(350, round(exp(ln(CASE WHEN c.variant = 'A' THEN 4600 ELSE 3900 END)
                 + 0.45 * sqrt(-2 * ln(1 - x.u1)) * cos(2 * pi() * x.u2)))::int),
       :'anchor'::timestamptz - x.u3 * interval '1 day' * :days
FROM (
  SELECT g,
         1 + floor(pg_temp.unit(hashint8extended(g, :seed * 1000 + 7))
                   * (SELECT count(*) FROM gen_completers))::bigint AS rn,
         pg_temp.unit(hashint8extended(g, :seed * 1000 + 8)) AS u1,
         pg_temp.unit(hashint8extended(g, :seed * 1000 + 9)) AS u2,
         pg_temp.unit(hashint8extended(g, :seed * 1000 + 10)) AS u3
  FROM generate_series(1, :completions) AS g
) AS x
JOIN gen_completers c ON c.rn = x.rn
ORDER BY x.u3 DESC, x.g;

-- Explicit ids do not advance the identity sequence; without this the next insert would collide with id 1.
SELECT setval(pg_get_serial_sequence('users', 'id'), greatest((SELECT max(id) FROM users), 1));

COMMIT;

ANALYZE users;
ANALYZE events;
ANALYZE completions;

SELECT refresh_dashboard_aggregates() AS refresh;

SELECT (SELECT count(*) FROM users) AS users,
       (SELECT count(*) FROM events) AS events,
       (SELECT count(*) FROM completions) AS completions,
       pg_size_pretty(pg_database_size(current_database())) AS db_size;
