-- auth.uid() / auth.jwt() and RLS isolation on the token's sub.
BEGIN;
SELECT plan(12);

SELECT is(auth.uid(), NULL, 'no claims: no user');
SELECT is(auth.jwt(), '{}'::jsonb, 'no claims: an empty object');
SET LOCAL request.jwt.claims = '{"sub": "a0000000-0000-4000-8000-00000000000a", "role": "authenticated", "email": "a@example.com"}';
SELECT is(auth.uid(), 'a0000000-0000-4000-8000-00000000000a'::uuid, 'uid is the sub');
SELECT is(auth.jwt() ->> 'email', 'a@example.com', 'jwt() is the claims');
SET LOCAL request.jwt.claim.sub = 'b0000000-0000-4000-8000-00000000000b';
SELECT is(auth.uid(), 'b0000000-0000-4000-8000-00000000000b'::uuid, 'the older per-claim setting wins, as on Supabase');
SET LOCAL request.jwt.claim.sub = '';

INSERT INTO api.file_events (user_id, file_path, tool) VALUES ('b0000000-0000-4000-8000-00000000000b', 'x.rs', 'vim');
INSERT INTO api.telemetry_events (user_id, type) VALUES ('b0000000-0000-4000-8000-00000000000b', 'secret_of_b');
INSERT INTO api.privacy_settings (user_id) VALUES ('b0000000-0000-4000-8000-00000000000b');
SET LOCAL ROLE authenticated;
SELECT is((SELECT count(*)::int FROM api.file_events), 0, 'a user sees none of another''s file events');
SELECT is((SELECT count(*)::int FROM api.telemetry_events), 0, 'nor their telemetry');
SELECT is((SELECT count(*)::int FROM api.privacy_settings), 0, 'nor their settings');
SELECT lives_ok($$INSERT INTO api.file_events (file_path, tool) VALUES ('mine.go', 'vim')$$, 'a user adds a file event');
SELECT is((SELECT user_id FROM api.file_events), 'a0000000-0000-4000-8000-00000000000a'::uuid, 'as themselves (the token''s sub)');
SELECT lives_ok($$INSERT INTO api.privacy_settings (consent) VALUES (true)$$, 'and their settings');
SELECT throws_ok($$UPDATE api.privacy_settings SET retention_days = 0$$, '23514', NULL, 'retention is at least a day');

SELECT * FROM finish();
ROLLBACK;
