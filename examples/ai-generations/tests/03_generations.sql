-- request_generation (a generation and its job in one transaction), the attempt function the jobs engine calls
-- (ai_status, result, error, logs), RLS and the metrics views. Outcomes are given to ai.record_attempt as the engine
-- gives them: job {id, queue, payload, attempt, max_attempts}, outcome {state, status, body, latency_ms, error}.
BEGIN;
SELECT plan(36);

SELECT ai.grant_runtime('authenticator');
SELECT ai.configure_provider('http://127.0.0.1:9/', 'mock-model', concurrency => 2, timeout_ms => 5000, max_attempts => 3);
SELECT is((SELECT base_url || ' ' || model FROM ai.provider), 'http://127.0.0.1:9 mock-model', 'the provider is recorded');
SELECT is((SELECT target FROM restgres.job_queues WHERE name = 'generate'), 'http://127.0.0.1:9/v1/chat/completions',
  'the generate queue POSTs to the chat-completions endpoint');
SELECT is((SELECT options FROM restgres.job_queues WHERE name = 'generate') - 'concurrency' - 'timeout_ms' - 'max_attempts' - 'backoff_ms',
  '{"body_key": "body", "headers": {"Authorization": "Bearer ${env:AI_PROVIDER_KEY}"}, "attempt_function": "ai.record_attempt"}',
  'the body is the payload''s body, the key comes from the environment, attempts go to ai.record_attempt');

SELECT is(ai.completion_request('hi', '{"system": "be brief", "temperature": 0.2}', 'm'),
  '{"model": "m", "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}], "temperature": 0.2}',
  'the chat-completions request: model, system and user messages, sampling parameters');

CREATE TEMP TABLE ids (name text PRIMARY KEY, id bigint);
GRANT ALL ON ids TO PUBLIC;
INSERT INTO ids SELECT 'demo', id FROM auth.users WHERE email = 'demo@example.com';
INSERT INTO ids SELECT 'other', (api.register('other@example.com', 'secret1') #>> '{user,id}')::bigint;

SELECT set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'user_id', id)::text, true) FROM ids WHERE name = 'demo';
SET LOCAL ROLE authenticated;
INSERT INTO ids SELECT 'g1', (api.request_generation('Write a haiku', '{"temperature": 0.5}') ->> 'id')::bigint;
SELECT is(api.request_generation('again') ->> 'ai_status', 'pending', 'a new generation is pending');
SELECT throws_ok($$SELECT api.request_generation(NULL)$$, 'PGRST', '{"code" : "AI400", "message" : "prompt is required"}', 'no prompt: 400');
SELECT throws_ok($$SELECT api.request_generation('  ')$$, 'PGRST', '{"code" : "AI400", "message" : "prompt is required"}', 'a blank prompt: 400');
SELECT throws_like($$SELECT api.request_generation('x', '[1]')$$, '%params must be an object%', 'params not an object: 400');
SELECT throws_like($$SELECT api.request_generation('x', '{"api_key": "x"}')$$, '%unknown parameter ''api_key''%', 'an unknown parameter: 400');
SELECT throws_like($$SELECT api.request_generation(repeat('x', 20001))$$, '%longer than 20000%', 'a huge prompt: 400');
SELECT is((SELECT count(*) FROM api.generations), 2::bigint, 'the user sees their two generations');
RESET ROLE;

SELECT is((SELECT j.payload FROM restgres.jobs AS j JOIN api.generations AS g ON g.job_id = j.id WHERE g.id = (SELECT id FROM ids WHERE name = 'g1')),
  jsonb_build_object('generation_id', (SELECT id FROM ids WHERE name = 'g1'), 'body', jsonb_build_object('model', 'mock-model',
    'messages', jsonb_build_array(jsonb_build_object('role', 'user', 'content', 'Write a haiku')), 'temperature', 0.5)),
  'its job carries the generation id and the chat-completions body');
SELECT is((SELECT j.unique_key FROM restgres.jobs AS j JOIN api.generations AS g ON g.job_id = j.id WHERE g.id = (SELECT id FROM ids WHERE name = 'g1')),
  'generation:' || (SELECT id FROM ids WHERE name = 'g1'), 'one job per generation (the unique key)');
SELECT is((SELECT count(*) FROM restgres.jobs WHERE queue = 'generate'), 2::bigint, 'a job per generation, none for refused requests');

-- Another user sees none of them.
SELECT set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'user_id', id)::text, true) FROM ids WHERE name = 'other';
SET LOCAL ROLE authenticated;
SELECT is((SELECT count(*) FROM api.generations), 0::bigint, 'another user sees no generation of the demo user');
RESET ROLE;

-- Attempt 1: claimed, then the provider answers 503 → retrying.
CREATE TEMP TABLE job AS
SELECT jsonb_build_object('id', g.job_id, 'queue', 'generate', 'payload', j.payload, 'max_attempts', 3) AS j
FROM api.generations AS g JOIN restgres.jobs AS j ON j.id = g.job_id WHERE g.id = (SELECT id FROM ids WHERE name = 'g1');
SELECT ai.record_attempt(j || '{"attempt": 1}', '{"state": "running"}') FROM job;
SELECT is((SELECT ai_status || ' ' || attempts FROM api.generations WHERE id = (SELECT id FROM ids WHERE name = 'g1')), 'processing 1',
  'claimed: processing, attempt 1');
SELECT is((SELECT status FROM api.generation_logs WHERE generation_id = (SELECT id FROM ids WHERE name = 'g1') AND attempt = 1), 'running',
  'its log row is open');
SELECT ai.record_attempt(j || '{"attempt": 1}', '{"state": "retrying", "status": 503, "body": {"error": {"message": "overloaded"}}, "latency_ms": 120}') FROM job;
SELECT is((SELECT concat_ws('|', ai_status, error) FROM api.generations WHERE id = (SELECT id FROM ids WHERE name = 'g1')),
  'processing|provider answered 503: {"error": {"message": "overloaded"}}', 'a retried attempt keeps it processing, with the error');
SELECT is((SELECT concat_ws('|', status, provider_status, latency_ms) FROM api.generation_logs WHERE generation_id = (SELECT id FROM ids WHERE name = 'g1') AND attempt = 1),
  'retrying|503|120', 'the log row has the outcome, the provider''s status and the latency');

-- Attempt 2: its worker dies (no outcome); attempt 3 starts → attempt 2 is 'lost'; then completes.
SELECT ai.record_attempt(j || '{"attempt": 2}', '{"state": "running"}') FROM job;
SELECT ai.record_attempt(j || '{"attempt": 3}', '{"state": "running"}') FROM job;
SELECT is((SELECT status FROM api.generation_logs WHERE generation_id = (SELECT id FROM ids WHERE name = 'g1') AND attempt = 2), 'lost',
  'an attempt without an outcome is closed as lost when the next one starts');
SELECT ai.record_attempt(j || '{"attempt": 3}', '{"state": "completed", "status": 200, "latency_ms": 2000, "body": {"choices": [{"message": {"role": "assistant", "content": "Tables in a row"}}]}}') FROM job;
SELECT is((SELECT concat_ws('|', ai_status, result_text, coalesce(error, '-'), attempts) FROM api.generations WHERE id = (SELECT id FROM ids WHERE name = 'g1')),
  'completed|Tables in a row|-|3', 'completed: the answer''s text, no error, 3 attempts');
SELECT ok((SELECT finished_at IS NOT NULL AND result ? 'choices' FROM api.generations WHERE id = (SELECT id FROM ids WHERE name = 'g1')),
  'the whole answer and the finish time are kept');
SELECT is((SELECT array_agg(status ORDER BY attempt) FROM api.generation_logs WHERE generation_id = (SELECT id FROM ids WHERE name = 'g1')),
  '{retrying,lost,completed}', 'one log row per attempt');

-- A second completion (a job run twice) is logged but never applied.
SELECT ai.record_attempt(j || '{"attempt": 4}', '{"state": "completed", "status": 200, "body": {"choices": [{"message": {"content": "other"}}]}}') FROM job;
SELECT is((SELECT result_text FROM api.generations WHERE id = (SELECT id FROM ids WHERE name = 'g1')), 'Tables in a row',
  'a generation completes once');
SELECT is((SELECT count(*) FROM api.generation_logs WHERE generation_id = (SELECT id FROM ids WHERE name = 'g1') AND status = 'completed'),
  2::bigint, 'the second completion shows in the logs');

-- The other generation: refused by the provider (4xx, not retried) → failed.
UPDATE job SET j = jsonb_set(j, '{payload,generation_id}', to_jsonb(g.id)) FROM api.generations AS g
WHERE g.prompt = 'again';
SELECT ai.record_attempt(j || '{"attempt": 1}', '{"state": "running"}') FROM job;
SELECT ai.record_attempt(j || '{"attempt": 1}', '{"state": "discarded", "status": 400, "error": "HTTP 400", "latency_ms": 15}') FROM job;
SELECT is((SELECT concat_ws('|', ai_status, error) FROM api.generations WHERE prompt = 'again'), 'failed|HTTP 400',
  'discarded: failed with the error');
SELECT ai.record_attempt(j || '{"attempt": 2}', '{"state": "running"}') FROM job;
SELECT is((SELECT ai_status FROM api.generations WHERE prompt = 'again'), 'failed', 'a finished generation does not go back to processing');
SELECT throws_like($$SELECT ai.record_attempt(j || '{"attempt": 1}', '{"state": "weird"}') FROM job$$, '%unknown outcome state weird%',
  'an unknown outcome state is an error (the engine''s transaction rolls back)');
SELECT lives_ok($$SELECT ai.record_attempt('{"payload": {"generation_id": -1}, "attempt": 1}', '{"state": "running"}')$$,
  'a job whose generation was deleted records nothing');

-- The metrics, as the demo user (RLS) and as an operator.
SELECT set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'user_id', id)::text, true) FROM ids WHERE name = 'demo';
SET LOCAL ROLE authenticated;
SELECT is((SELECT concat_ws('|', finished, completed, failed, success_rate, failure_rate, avg_attempts) FROM api.generation_daily),
  '2|1|1|0.5000|0.5000|2.00', 'per day: finished, completed, failed, rates, attempts');
SELECT is((SELECT array_agg(attempts || ':' || jobs ORDER BY attempts) FROM api.generation_attempts), '{1:1,3:1}',
  'attempts per job');
SELECT is((SELECT avg_provider_latency_ms::integer FROM api.generation_durations), 712,
  'provider latency over the attempts that have one: (120 + 2000 + 15) / 3');
SELECT ok((SELECT avg_duration_ms >= 0 AND p95_duration_ms >= avg_duration_ms FROM api.generation_durations), 'p95 ≥ average duration');
SELECT is((SELECT count(*) FROM api.generation_logs), 6::bigint, 'the user reads their logs');
RESET ROLE;
SELECT set_config('request.jwt.claims', json_build_object('role', 'authenticated', 'user_id', id)::text, true) FROM ids WHERE name = 'other';
SET LOCAL ROLE authenticated;
SELECT is((SELECT count(*) FROM api.generation_daily), 0::bigint, 'another user''s figures are theirs only');
SELECT is((SELECT count(*) FROM api.generation_logs), 0::bigint, 'and so are the logs');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
