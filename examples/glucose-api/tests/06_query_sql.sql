-- The admin's ad-hoc SQL: one read-only statement as glucose_sql, capped, recorded; everything else fails cleanly.
BEGIN;
SELECT plan(23);

SET LOCAL ROLE admin;
SET LOCAL request.jwt.claims = '{"sub":"admin","role":"admin"}';

SELECT is((api.query_sql('select reading_date, reading_count from mrt_glucose_overview order by reading_date limit 2')
  -> 'columns')::text, '["reading_date", "reading_count"]', 'columns in order');
SELECT is((api.query_sql('select 1 as a, ''x'' as b') -> 'rows')::jsonb, '[[1, "x"]]'::jsonb, 'rows as arrays');
SELECT is((api.query_sql('select generate_series(1, 20000)', 'postgres', 50000) ->> 'row_count')::int, 10000,
  'at most 10,000 rows');
SELECT is((api.query_sql('select generate_series(1, 100)', 'postgres', 7) ->> 'row_count')::int, 7, 'the client''s limit');
SELECT ok((api.query_sql('select 1') ->> 'execution_time_ms')::numeric >= 0, 'the time is reported');
SELECT is((api.query_sql('select count(*) from raw.glucose_readings') -> 'rows' -> 0 ->> 0)::bigint,
  (SELECT count(*) FROM raw.glucose_readings), 'the raw readings are readable');

-- Refused, each as a 400 answer with the reason, and recorded.
SELECT is(api.query_sql('select 1; select 2') ->> 'detail', 'Query failed: cannot open multi-query plan as cursor',
  'two statements');
SELECT alike(api.query_sql('delete from raw.glucose_readings') ->> 'detail', 'Query failed: cannot open DELETE query as cursor%',
  'a write');
SELECT alike(api.query_sql('create table x (a int)') ->> 'detail', 'Query failed: cannot open CREATE TABLE query as cursor%',
  'DDL');
SELECT alike(api.query_sql('set role postgres') ->> 'detail', 'Query failed: cannot open SET query as cursor%', 'SET ROLE');
SELECT alike(api.query_sql('copy (select 1) to program ''id''') ->> 'detail', 'Query failed: cannot open COPY query as cursor%',
  'COPY ... PROGRAM');
SELECT alike(api.query_sql('with d as (delete from raw.glucose_readings returning *) select count(*) from d') ->> 'detail',
  'Query failed: %read-only transaction%', 'a data-modifying CTE hits the read-only mode');
SELECT alike(api.query_sql('select set_config(''role'', ''postgres'', true)') ->> 'detail',
  'Query failed: cannot set parameter "role" within security-definer function', 'switching role from inside the query');
SELECT alike(api.query_sql('select * from auth.users') ->> 'detail', 'Query failed: permission denied%',
  'the users are out of reach');
SELECT alike(api.query_sql('select pg_read_file(''/etc/passwd'')') ->> 'detail', 'Query failed: permission denied%',
  'server files are out of reach');
-- The request's statement_timeout (30 s from the function's setting over HTTP; 300 ms here) ends a long query.
SET LOCAL statement_timeout = '300ms';
SELECT is(api.query_sql('select pg_sleep(60)') ->> 'detail', 'Query failed: canceling statement due to statement timeout',
  'pg_sleep(60) ends at the statement timeout, answered and recorded');
SET LOCAL statement_timeout = 0;
SELECT is((SELECT count(*)::int FROM raw.glucose_readings) > 0, true, 'nothing was deleted');
SELECT is(current_setting('transaction_read_only'), 'off', 'the read-only mode ended with the query');
SELECT is(current_user::text, 'admin', 'the caller''s role is unchanged');
SELECT cmp_ok((SELECT count(*)::int FROM api.query_results WHERE error IS NOT NULL), '>=', 10, 'failures are recorded');
SELECT throws_ok($$SELECT api.query_sql('select 1', 'duckdb')$$, 'PGRST',
  '{"code" : "GL400", "message" : "Unsupported engine: duckdb (only postgres)"}', 'only the postgres engine');
RESET ROLE;

SET LOCAL ROLE analyst;
SET LOCAL request.jwt.claims = '{"sub":"analyst","role":"analyst"}';
SELECT throws_ok($$SELECT api.query_sql('select 1')$$, 'PGRST', '{"code" : "GL403", "message" : "Admin access required"}',
  'analysts get 403');
SELECT throws_ok('SELECT * FROM api.query_results', '42501', NULL, 'analysts cannot read the recorded queries');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
