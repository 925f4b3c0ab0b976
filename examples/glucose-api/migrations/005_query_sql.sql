-- 005: the admin's ad-hoc SQL (old POST /query/sql), safe by construction instead of the old keyword blacklist:
--   * the text is opened as a cursor, which PostgreSQL accepts only for exactly one statement that returns rows
--     (two statements, DDL, SET ROLE, COPY ... are refused before anything runs);
--   * it runs inside sandbox.query_rows, a SECURITY DEFINER function owned by glucose_sql (read access to the marts
--     and raw readings only): the query has that role's rights, and PostgreSQL refuses any role switch inside a
--     security-definer function (set_config('role', ...) included);
--   * in a read-only subtransaction, so a data-modifying CTE or a function with side effects cannot write either; the
--     read-only mode ends with the subtransaction, which is rolled back on purpose once the rows are read;
--   * at most `limit` rows (capped at 10,000) are fetched; the function's statement_timeout (30 s, applied to the
--     request's transaction by Restgres as by PostgREST) bounds the time;
--   * every query is recorded in api.query_results (admins only, by row level security).

SET client_min_messages = warning;

CREATE TABLE IF NOT EXISTS api.query_results (
  query_id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  executed_at       timestamptz NOT NULL DEFAULT now(),
  executed_by       text NOT NULL DEFAULT coalesce(current_setting('request.jwt.claims', true)::json ->> 'sub', current_user),
  query             text NOT NULL,
  row_count         integer,
  execution_time_ms numeric(10, 2),
  error             text
);
ALTER TABLE api.query_results OWNER TO glucose_owner;
ALTER TABLE api.query_results ENABLE ROW LEVEL SECURITY;
DROP POLICY IF EXISTS admins ON api.query_results;
CREATE POLICY admins ON api.query_results TO admin USING (true) WITH CHECK (true);

-- Not in an exposed schema: only api.query_sql calls it, inside its read-only subtransaction.
CREATE SCHEMA IF NOT EXISTS sandbox AUTHORIZATION glucose_owner;

CREATE OR REPLACE FUNCTION sandbox.query_rows(query text, cap integer, OUT columns json, OUT rows json)
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
-- Unqualified names in the query find the marts, then the raw readings.
SET search_path = marts, raw
AS $$
DECLARE
  cur refcursor;
  rec record;
  collected json[] := '{}';
BEGIN
  columns := '[]';
  OPEN cur NO SCROLL FOR EXECUTE query;
  LOOP
    FETCH cur INTO rec;
    EXIT WHEN NOT FOUND OR cardinality(collected) >= cap;
    IF cardinality(collected) = 0 THEN
      SELECT coalesce(json_agg(k), '[]') INTO columns FROM json_object_keys(to_json(rec)) AS k;
    END IF;
    collected := collected || (SELECT coalesce(json_agg(v), '[]') FROM json_each(to_json(rec)) AS e(k, v));
  END LOOP;
  CLOSE cur;
  rows := to_json(collected);
END
$$;
-- The query runs with glucose_sql's rights (the migration runs as a superuser, who may give it this function).
ALTER FUNCTION sandbox.query_rows(text, integer) OWNER TO glucose_sql;
REVOKE EXECUTE ON FUNCTION sandbox.query_rows(text, integer) FROM PUBLIC;

-- The old body {"query", "engine", "limit"} is passed as is: in a POST body, "limit" is an argument like any other.
CREATE OR REPLACE FUNCTION api.query_sql(query text, engine text DEFAULT 'postgres', "limit" integer DEFAULT 1000)
RETURNS json
LANGUAGE plpgsql VOLATILE
SET search_path = ''
SET statement_timeout = '30s'
AS $$
DECLARE
  e record;
  cap integer := least(greatest(coalesce("limit", 1000), 1), 10000);
  started timestamptz := clock_timestamp();
  columns json;
  rows json;
  failure text;
  elapsed numeric;
BEGIN
  IF NOT pg_has_role(current_user, 'admin', 'MEMBER') THEN
    e := api._error(403, 'Admin access required');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  IF coalesce(engine, 'postgres') <> 'postgres' THEN
    e := api._error(400, 'Unsupported engine: ' || engine || ' (only postgres)');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  IF query IS NULL OR btrim(query) = '' THEN
    e := api._error(400, 'query is empty');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;

  BEGIN
    SET LOCAL transaction_read_only = on;
    SELECT q.columns, q.rows INTO columns, rows FROM sandbox.query_rows(query, cap) AS q;
    RAISE SQLSTATE 'GLDON';
  EXCEPTION
    WHEN SQLSTATE 'GLDON' THEN NULL;
    -- The statement timeout (trapped by name: OTHERS does not catch it) is an answer too, and recorded.
    WHEN query_canceled THEN failure := SQLERRM;
    WHEN OTHERS THEN failure := SQLERRM;
  END;

  elapsed := round(extract(epoch FROM clock_timestamp() - started)::numeric * 1000, 2);
  INSERT INTO api.query_results (query, row_count, execution_time_ms, error)
  VALUES (query, CASE WHEN failure IS NULL THEN json_array_length(rows) END, elapsed, failure);
  IF failure IS NOT NULL THEN
    -- Answered, not raised, so that the record of the failed query commits.
    PERFORM set_config('response.status', '400', true);
    RETURN json_build_object('detail', 'Query failed: ' || failure);
  END IF;
  RETURN json_build_object('columns', columns, 'rows', rows, 'row_count', json_array_length(rows),
                           'execution_time_ms', elapsed);
END
$$;
ALTER FUNCTION api.query_sql(text, text, integer) OWNER TO glucose_owner;
