-- api.login as the anonymous role: a verifiable token for valid credentials, one and the same 401 for the rest.
BEGIN;
SELECT plan(13);

SET LOCAL ROLE anon;
CREATE TEMP TABLE IF NOT EXISTS answer AS SELECT api.login('admin', 'admin123') AS j;
RESET ROLE;

SELECT is((SELECT j ->> 'token_type' FROM answer), 'bearer', 'token_type bearer');
SELECT is((SELECT (j ->> 'expires_in')::int FROM answer), 3600, 'expires in an hour');
SELECT is((SELECT j -> 'user' ->> 'username' FROM answer), 'admin', 'the user comes back');
SELECT is((SELECT j -> 'user' ->> 'role' FROM answer), 'admin', 'with its role');
SELECT is((SELECT j -> 'user' ->> 'user_id' FROM answer), (SELECT user_id::text FROM auth.users WHERE username = 'admin'),
  'and its id');
-- The signature verifies with the secret: recompute it over the first two parts.
SELECT is((SELECT split_part(j ->> 'access_token', '.', 3) FROM answer),
  (SELECT auth.base64url(extensions.hmac(convert_to(split_part(j ->> 'access_token', '.', 1) || '.'
     || split_part(j ->> 'access_token', '.', 2), 'UTF8'), convert_to(auth.jwt_secret(), 'UTF8'), 'sha256')) FROM answer),
  'the token''s HS256 signature verifies');
SELECT is((SELECT convert_from(decode(rpad(translate(split_part(j ->> 'access_token', '.', 2), '-_', '+/'),
             4 * ceil(length(split_part(j ->> 'access_token', '.', 2)) / 4.0)::int, '='), 'base64'), 'UTF8')::json ->> 'role'
           FROM answer), 'admin', 'the token carries the database role');
SELECT isnt((SELECT last_login_at FROM auth.users WHERE username = 'admin'), NULL, 'a login is recorded');

SET LOCAL ROLE anon;
SELECT throws_ok($$SELECT api.login('admin', 'wrong')$$, 'PGRST',
  '{"code" : "GL401", "message" : "Incorrect username or password"}', 'a wrong password is a 401');
SELECT throws_ok($$SELECT api.login('nobody', 'admin123')$$, 'PGRST',
  '{"code" : "GL401", "message" : "Incorrect username or password"}', 'an unknown user gets the same answer');
SELECT throws_ok($$SELECT api.login('inactive', 'inactive123')$$, 'PGRST',
  '{"code" : "GL401", "message" : "Incorrect username or password"}', 'an inactive user with the right password too');
SELECT throws_ok($$SELECT api.login(NULL, NULL)$$, 'PGRST',
  '{"code" : "GL401", "message" : "Incorrect username or password"}', 'and missing credentials');
SELECT throws_ok($$SELECT * FROM auth.users$$, '42501', NULL, 'anon cannot read the users');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
