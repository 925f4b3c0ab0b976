-- 004: the API's functions (register, login, request_generation), the provider's settings and the job's attempt
-- function, which keeps each generation's ai_status and logs in step with its job in Restgres's jobs engine.

SET client_min_messages = warning;

-- An error in PostgREST's raise-PGRST form (message: code and text; detail: status and headers). The caller raises it:
--   e := ai.error(400, 'prompt is required');
--   RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
-- (returned rather than raised here so that track_functions counts its calls: tests/run.sh measures coverage).
CREATE OR REPLACE FUNCTION ai.error(status integer, reason text, OUT message text, OUT detail text)
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
  SELECT json_build_object('code', 'AI' || status, 'message', reason)::text,
         json_build_object('status', status, 'headers', '{}'::json)::text
$$;
ALTER FUNCTION ai.error(integer, text) OWNER TO aigen_owner;

-- The answer of register and login: a token (sub = the user's id, user_id, email, role authenticated; a day long)
-- and the user.
CREATE OR REPLACE FUNCTION ai.session(u auth.users) RETURNS json
LANGUAGE sql STABLE
SET search_path = ''
AS $$
  SELECT json_build_object(
    'access_token', auth.sign(json_build_object(
        'sub', u.id::text, 'user_id', u.id, 'email', u.email, 'role', 'authenticated',
        'iat', floor(extract(epoch FROM now()))::bigint,
        'exp', floor(extract(epoch FROM now()))::bigint + 86400), auth.jwt_secret()),
    'token_type', 'bearer',
    'user', json_build_object('id', u.id, 'email', u.email))
$$;
ALTER FUNCTION ai.session(auth.users) OWNER TO aigen_owner;

-- POST /rpc/register {email, password (≥ 6)} → {access_token, token_type, user}; a known email: 409.
CREATE OR REPLACE FUNCTION api.register(email text DEFAULT NULL, password text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  e record;
  u auth.users;
BEGIN
  IF email IS NULL OR email !~ '^[^@\s]+@[^@\s]+\.[^@\s]+$' OR password IS NULL OR length(password) < 6 THEN
    e := ai.error(400, 'a valid email and a password of at least 6 characters are required');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  INSERT INTO auth.users (email, password_hash) VALUES (lower(email), auth.hash_password(password))
  ON CONFLICT DO NOTHING RETURNING * INTO u;
  IF u.id IS NULL THEN
    e := ai.error(409, 'email already registered');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  RETURN ai.session(u);
END
$$;
ALTER FUNCTION api.register(text, text) OWNER TO aigen_owner;

-- POST /rpc/login {email, password}: the same answer, or 401 for any failure; an unknown email costs the same bcrypt
-- check as a wrong password (a stand-in hash of the same cost).
CREATE OR REPLACE FUNCTION api.login(email text DEFAULT NULL, password text DEFAULT NULL) RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  e record;
  u auth.users;
BEGIN
  SELECT * INTO u FROM auth.users AS a WHERE a.email = lower(login.email);
  IF NOT auth.password_matches(coalesce(password, ''),
       coalesce(u.password_hash, '$2a$10$nKdPsSx9bm/odEFZ7fCTg.GoKlcKfNxgrVuROEbUh3ABZ6sZFbTY6')) OR u.id IS NULL THEN
    e := ai.error(401, 'invalid email or password');
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  RETURN ai.session(u);
END
$$;
ALTER FUNCTION api.login(text, text) OWNER TO aigen_owner;

-- The provider: an OpenAI-compatible base URL (…/v1/chat/completions is appended) and the default model. One row.
CREATE TABLE IF NOT EXISTS ai.provider (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  base_url  text NOT NULL CHECK (base_url ~ '^https?://'),
  model     text NOT NULL
);
ALTER TABLE ai.provider OWNER TO aigen_owner;

-- Points the app at a provider: records it and (re)defines the jobs engine's queue 'generate', an http queue that
-- POSTs each job's payload->'body' to the provider with the key from the environment (AI_PROVIDER_KEY, never stored
-- in the database) and reports every attempt to ai.record_attempt. Run by dev.sql, the tests and a deployment's
-- set-up; running it again changes the settings.
CREATE OR REPLACE FUNCTION ai.configure_provider(base_url text, model text DEFAULT 'gpt-4o-mini',
  concurrency integer DEFAULT 8, timeout_ms integer DEFAULT 30000, max_attempts integer DEFAULT 3,
  backoff_ms integer DEFAULT 2000) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = ''
AS $$
BEGIN
  INSERT INTO ai.provider (base_url, model) VALUES (rtrim(configure_provider.base_url, '/'), configure_provider.model)
  ON CONFLICT (singleton) DO UPDATE SET base_url = excluded.base_url, model = excluded.model;
  PERFORM restgres.define_queue('generate', 'http', rtrim(configure_provider.base_url, '/') || '/v1/chat/completions',
    jsonb_build_object(
      'concurrency', concurrency,
      'timeout_ms', timeout_ms,
      'max_attempts', max_attempts,
      'backoff_ms', backoff_ms,
      'headers', jsonb_build_object('Authorization', 'Bearer ${env:AI_PROVIDER_KEY}'),
      'body_key', 'body',
      'attempt_function', 'ai.record_attempt'));
END
$$;
ALTER FUNCTION ai.configure_provider(text, text, integer, integer, integer, integer) OWNER TO aigen_owner;

-- The chat-completions request for a prompt: the model (params.model or the provider's), an optional system message
-- (params.system), the user's prompt, and the sampling parameters the app lets through.
CREATE OR REPLACE FUNCTION ai.completion_request(prompt text, params jsonb, default_model text) RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = ''
AS $$
  SELECT jsonb_build_object(
      'model', coalesce(params ->> 'model', default_model),
      'messages', CASE WHEN params ? 'system'
                    THEN jsonb_build_array(jsonb_build_object('role', 'system', 'content', params ->> 'system'))
                    ELSE '[]'::jsonb END
                  || jsonb_build_array(jsonb_build_object('role', 'user', 'content', prompt)))
    || (params - 'model' - 'system')
$$;
ALTER FUNCTION ai.completion_request(text, jsonb, text) OWNER TO aigen_owner;

-- POST /rpc/request_generation {prompt, params?} with a user's token (and an Idempotency-Key: restgres.conf names
-- this function in server-idempotency, so a retried request gets the first answer and runs nothing): inserts the
-- generation and enqueues its job in one transaction, so there is never a generation without a job or a job without
-- its generation. The job's unique key is the generation's id. Returns {id, ai_status}.
CREATE OR REPLACE FUNCTION api.request_generation(prompt text DEFAULT NULL, params jsonb DEFAULT '{}') RETURNS json
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  e record;
  p ai.provider;
  g api.generations;
  unknown text;
  problem text;
BEGIN
  params := coalesce(params, '{}');
  SELECT k INTO unknown FROM jsonb_object_keys(CASE WHEN jsonb_typeof(params) = 'object' THEN params ELSE '{}' END) AS k
  WHERE k NOT IN ('model', 'system', 'temperature', 'top_p', 'max_tokens', 'presence_penalty', 'frequency_penalty', 'stop', 'seed')
  LIMIT 1;
  problem := CASE
    WHEN prompt IS NULL OR btrim(prompt) = '' THEN 'prompt is required'
    WHEN length(prompt) > 20000 THEN 'prompt is longer than 20000 characters'
    WHEN jsonb_typeof(params) <> 'object' THEN 'params must be an object'
    WHEN unknown IS NOT NULL THEN format('unknown parameter %L (model, system, temperature, top_p, max_tokens, '
      'presence_penalty, frequency_penalty, stop, seed)', unknown)
  END;
  SELECT * INTO p FROM ai.provider;
  IF problem IS NOT NULL OR p.base_url IS NULL THEN
    e := CASE WHEN problem IS NOT NULL THEN ai.error(400, problem)
              ELSE ai.error(503, 'no AI provider is configured (SELECT ai.configure_provider(url))') END;
    RAISE SQLSTATE 'PGRST' USING MESSAGE = e.message, DETAIL = e.detail;
  END IF;
  INSERT INTO api.generations (user_id, prompt, params) VALUES (ai.uid(), prompt, params) RETURNING * INTO g;
  UPDATE api.generations SET job_id = restgres.enqueue('generate',
      jsonb_build_object('generation_id', g.id, 'body', ai.completion_request(g.prompt, g.params, p.model)),
      unique_key => 'generation:' || g.id)
  WHERE id = g.id;
  RETURN json_build_object('id', g.id, 'ai_status', g.ai_status);
END
$$;
ALTER FUNCTION api.request_generation(text, jsonb) OWNER TO aigen_owner;

-- The generate queue's attempt function: the jobs engine calls it in the transaction that records each attempt, with
-- the job {id, queue, payload, attempt, max_attempts} and the outcome {state, status, body, latency_ms, error}, once
-- with state 'running' when a worker claims the job and once with the attempt's end (completed, retrying or
-- discarded). So the generation's status, result and logs commit with the job's own state: never a job completed with
-- its generation still processing, or the other way round.
--
-- running    the generation goes processing; its log row for this attempt is opened; a row of an earlier attempt
--            still open is closed as 'lost' (its worker died, the engine's lease expired and this is the retry)
-- completed  the generation is completed with the provider's answer (a generation completes once: a second
--            completion is logged, never applied)
-- retrying   the error is kept, the generation stays processing
-- discarded  the last attempt failed (or the provider refused the request): the generation is failed
CREATE OR REPLACE FUNCTION ai.record_attempt(job jsonb, outcome jsonb) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = ''
AS $$
DECLARE
  gid bigint := (job #>> '{payload,generation_id}')::bigint;
  n integer := (job ->> 'attempt')::integer;
  state text := outcome ->> 'state';
  g api.generations;
  problem text;
BEGIN
  IF state IS NULL OR state NOT IN ('running', 'completed', 'retrying', 'discarded') THEN
    RAISE EXCEPTION 'ai.record_attempt: unknown outcome state %', coalesce(state, 'null');
  END IF;
  SELECT * INTO g FROM api.generations WHERE id = gid FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;   -- the generation was deleted (its user's account too): nothing to record
  END IF;
  UPDATE api.generation_logs
  SET status = 'lost', finished_at = now(),
      error = 'no outcome: the worker running this attempt stopped before it ended (lease expired)'
  WHERE generation_id = gid AND attempt < n AND status = 'running';

  IF state = 'running' THEN
    INSERT INTO api.generation_logs (generation_id, user_id, attempt, status) VALUES (gid, g.user_id, n, 'running')
    ON CONFLICT (generation_id, attempt) DO UPDATE SET status = 'running', started_at = now(), finished_at = NULL;
    UPDATE api.generations
    SET ai_status = 'processing', attempts = greatest(attempts, n), started_at = coalesce(started_at, now()),
        updated_at = now()
    WHERE id = gid AND ai_status IN ('pending', 'processing');
    RETURN;
  END IF;

  problem := CASE WHEN state <> 'completed' THEN left(coalesce(outcome ->> 'error',
    'provider answered ' || coalesce(outcome ->> 'status', 'nothing') || coalesce(': ' || (outcome -> 'body')::text, '')), 2000) END;
  INSERT INTO api.generation_logs AS l (generation_id, user_id, attempt, status, provider_status, latency_ms, error, finished_at)
  VALUES (gid, g.user_id, n, state, (outcome ->> 'status')::integer, (outcome ->> 'latency_ms')::numeric::integer, problem, now())
  ON CONFLICT (generation_id, attempt) DO UPDATE
  SET status = excluded.status, provider_status = excluded.provider_status, latency_ms = excluded.latency_ms,
      error = excluded.error, finished_at = excluded.finished_at;

  UPDATE api.generations
  SET ai_status = CASE state WHEN 'completed' THEN 'completed' WHEN 'discarded' THEN 'failed' ELSE 'processing' END,
      result = CASE WHEN state = 'completed' THEN outcome -> 'body' END,
      result_text = CASE WHEN state = 'completed' THEN outcome #>> '{body,choices,0,message,content}' END,
      error = problem,
      attempts = greatest(attempts, n),
      started_at = coalesce(started_at, now()),
      finished_at = CASE WHEN state IN ('completed', 'discarded') THEN now() END,
      updated_at = now()
  WHERE id = gid AND ai_status IN ('pending', 'processing');
END
$$;
ALTER FUNCTION ai.record_attempt(jsonb, jsonb) OWNER TO aigen_owner;

-- What the role Restgres connects as needs beyond the API roles: Restgres's idempotency keys (server-idempotency)
-- and the jobs engine's tables and worker functions (SECURITY INVOKER, run as that role), and this app's attempt
-- function. Called by 006 for the usual authenticator, and by a deployment (or the tests) for another login role.
CREATE OR REPLACE FUNCTION ai.grant_runtime(login_role text) RETURNS void
LANGUAGE plpgsql VOLATILE
SET search_path = ''
AS $$
DECLARE
  f regprocedure;
BEGIN
  EXECUTE format('GRANT EXECUTE ON FUNCTION ai.record_attempt(jsonb, jsonb) TO %I', login_role);
  EXECUTE format('GRANT USAGE ON SCHEMA ai, api TO %I', login_role);
  IF to_regnamespace('restgres') IS NULL THEN
    RETURN;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA restgres TO %I', login_role);
  EXECUTE format('GRANT USAGE ON ALL SEQUENCES IN SCHEMA restgres TO %I', login_role);
  FOR f IN SELECT p.oid FROM pg_proc AS p WHERE p.pronamespace = 'restgres'::regnamespace LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', f, login_role);
  END LOOP;
  IF to_regclass('restgres.jobs') IS NOT NULL THEN
    EXECUTE format('GRANT SELECT, INSERT, UPDATE, DELETE ON restgres.job_queues, restgres.jobs, restgres.job_attempts TO %I',
      login_role);
  END IF;
END
$$;
ALTER FUNCTION ai.grant_runtime(text) OWNER TO aigen_owner;
