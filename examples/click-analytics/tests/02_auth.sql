-- Hashing, signing, register and login.
BEGIN;
SELECT plan(18);

SELECT ok(auth.password_matches('s3cret', auth.hash_password('s3cret')), 'a new hash accepts its password');
SELECT ok(NOT auth.password_matches('s3cres', auth.hash_password('s3cret')), 'and refuses another');
SELECT ok(NOT auth.password_matches('x', 'plain text'), 'a value that is not a bcrypt hash never matches');
SELECT is(auth.base64url('\xfbff'::bytea), '-_8', 'base64url uses - and _ and no padding');
SELECT is(auth.sign('{"sub":"1234567890","name":"John Doe","iat":1516239022}'::json, 'your-256-bit-secret'),
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.'
  || 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', 'sign() gives jwt.io''s HS256 example token');
SELECT is(auth.jwt_secret(), 'pgtap-secret-pgtap-secret-pgtap-secret', 'the secret comes from app.settings.jwt_secret');
SAVEPOINT s;
SET LOCAL app.settings.jwt_secret = 'too-short';
SELECT throws_ok('SELECT auth.jwt_secret()', 'CA500', NULL, 'a short secret is refused');
ROLLBACK TO s;

SET LOCAL ROLE anon;
SELECT is(api.register('New@Example.com', 'secret1', 'newbie', 30, 'Other') -> 'user' ->> 'email', 'new@example.com',
  'anon registers; emails are kept in lower case');
SELECT throws_ok($$SELECT api.register('new@example.com', 'secret1', 'newbie2', 30, 'Other')$$, 'PGRST',
  '{"code" : "CA400", "message" : "Email already registered"}', 'a known email: 400 Email already registered');
SELECT throws_ok($$SELECT api.register('other@example.com', 'secret1', 'newbie', 30, 'Other')$$, 'PGRST',
  '{"code" : "CA400", "message" : "Username already taken"}', 'a taken username: 400');
SELECT throws_like($$SELECT api.register('x@example.com', 'short', 'abc', 30, 'Male')$$, '%at least 6%', 'password ≥ 6');
SELECT throws_like($$SELECT api.register('x@example.com', 'secret1', 'ab', 30, 'Male')$$, '%3 to 50%', 'username 3–50');
SELECT throws_like($$SELECT api.register('x@example.com', 'secret1', 'abc', 121, 'Male')$$, '%between 1 and 120%', 'age 1–120');
SELECT throws_like($$SELECT api.register('x@example.com', 'secret1', 'abc', 30, 'male')$$, '%Male, Female or Other%', 'gender');
SELECT throws_like($$SELECT api.register('not-an-email', 'secret1', 'abc', 30, 'Male')$$, '%valid email%', 'email');
SELECT is(api.login('user1@example.com', 'test123') -> 'user' ->> 'username', 'user01', 'a seeded user logs in');
SELECT throws_ok($$SELECT api.login('user1@example.com', 'wrong!')$$, 'PGRST',
  '{"code" : "CA401", "message" : "Invalid email or password"}', 'a wrong password: 401');
SELECT throws_ok($$SELECT api.login('nobody@example.com', 'test123')$$, 'PGRST',
  '{"code" : "CA401", "message" : "Invalid email or password"}', 'an unknown email: the same 401');

SELECT * FROM finish();
ROLLBACK;
