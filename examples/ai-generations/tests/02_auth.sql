-- Hashing, signing, register and login.
BEGIN;
SELECT plan(10);

SELECT ok(auth.password_matches('s3cret', auth.hash_password('s3cret')), 'a new hash accepts its password');
SELECT ok(NOT auth.password_matches('x', 'plain text'), 'a value that is not a bcrypt hash never matches');
SELECT is(auth.base64url('\xfbff'::bytea), '-_8', 'base64url uses - and _ and no padding');
SELECT is(auth.sign('{"sub":"1234567890","name":"John Doe","iat":1516239022}'::json, 'your-256-bit-secret'),
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.'
  || 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', 'sign() gives jwt.io''s HS256 example token');
SAVEPOINT s;
SET LOCAL app.settings.jwt_secret = 'too-short';
SELECT throws_ok('SELECT auth.jwt_secret()', 'CA500', NULL, 'a short secret is refused');
ROLLBACK TO s;

SET LOCAL ROLE anon;
SELECT is(api.register('New@Example.com', 'secret1') -> 'user' ->> 'email', 'new@example.com',
  'anon registers; emails are kept in lower case');
SELECT throws_ok($$SELECT api.register('new@example.com', 'secret1')$$, 'PGRST',
  '{"code" : "AI409", "message" : "email already registered"}', 'a known email: 409');
SELECT throws_like($$SELECT api.register('x@example.com', 'short')$$, '%at least 6%', 'password ≥ 6');
SELECT is(api.login('demo@example.com', 'demo1234') -> 'user' ->> 'email', 'demo@example.com', 'the demo user logs in');
SELECT throws_ok($$SELECT api.login('demo@example.com', 'wrong!')$$, 'PGRST',
  '{"code" : "AI401", "message" : "invalid email or password"}', 'a wrong password: 401');

SELECT * FROM finish();
ROLLBACK;
