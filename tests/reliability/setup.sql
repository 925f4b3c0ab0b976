-- The reliability suite's own objects, loaded after PostgREST's spec fixtures (tests/reliability/common.py).
-- Run as the superuser on the suite's private cluster; the fixture database is rebuilt for every run.

-- pg_stat_statements is preloaded by setup-db.sh; the view needs the extension. In a schema the API does not expose.
CREATE SCHEMA reliability;
CREATE EXTENSION pg_stat_statements SCHEMA reliability;

-- Lost-write check (faults part): every acknowledged insert must be here afterwards.
CREATE TABLE test.reliability_writes (
  id bigserial PRIMARY KEY,
  client text NOT NULL,
  at timestamptz NOT NULL DEFAULT clock_timestamp()
);
GRANT SELECT, INSERT ON test.reliability_writes TO postgrest_test_anonymous;
GRANT USAGE ON SEQUENCE test.reliability_writes_id_seq TO postgrest_test_anonymous;

-- A large response (about 3 MB of JSON) for the clients that never read (slow-clients part).
CREATE TABLE test.reliability_big AS
  SELECT i AS id, repeat(md5(i::text), 4) AS payload FROM generate_series(1, 20000) i;
GRANT SELECT ON test.reliability_big TO postgrest_test_anonymous;

-- Canaries for the injection corpus. Anyone may touch them (so that an injected statement running as the anonymous
-- role, or as any role, would succeed and leave a trace); a sequence is not rolled back with the transaction.
GRANT USAGE ON SCHEMA reliability TO PUBLIC;
CREATE TABLE reliability.canary (note text);
INSERT INTO reliability.canary VALUES ('intact');
GRANT ALL ON reliability.canary TO PUBLIC;
CREATE SEQUENCE reliability.canary_seq;
GRANT ALL ON SEQUENCE reliability.canary_seq TO PUBLIC;

VACUUM ANALYZE test.reliability_big;
