-- Ingest (its answers and statuses, privacy settings) and the redaction trigger.
BEGIN;
SELECT plan(17);

SELECT is(app.is_secret_key('API-Key') AND app.is_secret_key('creditCardNumber') AND app.is_secret_key('user_ssn')
  AND app.is_secret_key('access_token') AND app.is_secret_key('clientSecret') AND app.is_secret_key('Password'), true,
  'secret-looking keys, whatever their case and separators');
SELECT is(app.is_secret_key('session') OR app.is_secret_key('path') OR app.is_secret_key('duration_ms'), false, 'ordinary keys are not');
SELECT is(app.redact_secrets('{"a": {"password": "p", "list": [{"api_key": "k"}, 1]}, "keep": "x"}'),
  '{"a": {"password": "[REDACTED]", "list": [{"api_key": "[REDACTED]"}, 1]}, "keep": "x"}'::jsonb, 'redaction is recursive, arrays included');
SELECT is(app.redact_secrets('[[[[[[[[[["deep"]]]]]]]]]]'), '[[[[[[[["[TRUNCATED]"]]]]]]]]'::jsonb, 'and bounded: deeper than 8 levels is cut');

SET LOCAL ROLE anon;
SELECT is(api.telemetry_ingest('{"user_id": "c0000000-0000-4000-8000-00000000000c", "type": "page_view", "path": "/x",
  "meta": {"token": "t", "ms": 12}}')::jsonb, '{"ok": true}'::jsonb, 'ingest answers {"ok": true}');
SELECT is(current_setting('response.status', true), NULL, 'with no status of its own (200)');
SELECT is(api.telemetry_ingest('{"type": "page_view"}')::jsonb, '{"error": "Missing required fields: user_id and type"}', 'no user_id: the error');
SELECT is(current_setting('response.status'), '400', 'and 400');
SELECT is(api.telemetry_ingest('"not an object"')::jsonb ->> 'error', 'Missing required fields: user_id and type', 'not an object: the same');
SELECT is(api.telemetry_ingest('{"user_id": "nope", "type": "x"}')::jsonb ->> 'error', 'Invalid user_id', 'a user id that is not a uuid');
RESET ROLE;
SELECT is((SELECT meta FROM api.telemetry_events WHERE user_id = 'c0000000-0000-4000-8000-00000000000c'),
  '{"token": "[REDACTED]", "ms": 12}'::jsonb, 'the stored meta is redacted');
SELECT is((SELECT app FROM api.telemetry_events WHERE user_id = 'c0000000-0000-4000-8000-00000000000c'), 'web', 'app defaults to web');
UPDATE api.telemetry_events SET meta = '{"ssn": "123"}' WHERE user_id = 'c0000000-0000-4000-8000-00000000000c';
SELECT is((SELECT meta ->> 'ssn' FROM api.telemetry_events WHERE user_id = 'c0000000-0000-4000-8000-00000000000c'), '[REDACTED]', 'an update is redacted too');

-- Consent withdrawn: answered the same, nothing stored. A token for another user: 403.
INSERT INTO api.privacy_settings (user_id, consent) VALUES ('e0000000-0000-4000-8000-00000000000e', false);
SET LOCAL ROLE anon;
SELECT is(api.telemetry_ingest('{"user_id": "e0000000-0000-4000-8000-00000000000e", "type": "x"}')::jsonb, '{"ok": true}', 'no consent: ok');
SET LOCAL request.jwt.claims = '{"sub": "c0000000-0000-4000-8000-00000000000c", "role": "authenticated"}';
SET LOCAL ROLE authenticated;
SELECT is(api.telemetry_ingest('{"user_id": "e0000000-0000-4000-8000-00000000000e", "type": "x"}')::jsonb ->> 'error', 'Forbidden', 'another user''s id with a token: Forbidden');
SELECT is(current_setting('response.status'), '403', 'and 403');
RESET ROLE;
SELECT is((SELECT count(*)::int FROM api.telemetry_events WHERE user_id = 'e0000000-0000-4000-8000-00000000000e'), 0, 'nothing stored for either');

SELECT * FROM finish();
ROLLBACK;
