-- Password checks against the old service's real $2b$ hashes, and HS256 signing in SQL.
BEGIN;
SELECT plan(16);

SELECT ok(auth.password_matches('admin123', (SELECT password_hash FROM auth.users WHERE username = 'admin')),
  'a migrated $2b$ hash (passlib) accepts its password');
SELECT ok(NOT auth.password_matches('admin124', (SELECT password_hash FROM auth.users WHERE username = 'admin')),
  'and refuses another');
SELECT ok((SELECT password_hash FROM auth.users WHERE username = 'analyst') LIKE '$2b$%', 'the seed keeps the $2b$ prefix');
SELECT ok(auth.password_matches('analyst123', (SELECT password_hash FROM auth.users WHERE username = 'analyst')),
  'the analyst''s $2b$ hash works');
SELECT ok(auth.password_matches('s3cret', auth.hash_password('s3cret')), 'a new $2a$ hash works');
SELECT ok(auth.hash_password('s3cret') LIKE '$2a$10$%', 'new hashes are bcrypt at cost 10');
SELECT ok(NOT auth.password_matches('x', 'plain text'), 'a value that is not a bcrypt hash never matches');
SELECT ok(NOT auth.password_matches('', '$2b$10$short'), 'a truncated hash never matches');
SELECT is(auth.base64url('\xfbff'::bytea), '-_8', 'base64url uses - and _ and no padding');

SELECT is(auth.sign('{"sub":"1234567890","name":"John Doe","iat":1516239022}'::json, 'your-256-bit-secret'),
  'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.'
  || 'SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c', 'sign() gives jwt.io''s HS256 example token');

SELECT is(auth.jwt_secret(), 'pgtap-secret-pgtap-secret-pgtap-secret', 'the secret comes from app.settings.jwt_secret');
SET LOCAL app.settings.jwt_secret = 'too-short';
SELECT throws_ok('SELECT auth.jwt_secret()', 'GL500', NULL, 'a short secret is refused');
RESET app.settings.jwt_secret;

SELECT is(auth.token_claims(u, 3600) ->> 'sub', 'admin', 'sub is the username') FROM auth.users u WHERE username = 'admin';
SELECT is(auth.token_claims(u, 3600) ->> 'aud', 'phlo-api', 'the plan''s audience') FROM auth.users u WHERE username = 'admin';
SELECT is((auth.token_claims(u, 3600) ->> 'exp')::bigint - (auth.token_claims(u, 3600) ->> 'iat')::bigint, 3600::bigint,
  'tokens live an hour') FROM auth.users u WHERE username = 'admin';
SELECT is(auth.token_claims(u, 3600) -> 'https://hasura.io/jwt/claims' ->> 'x-hasura-default-role', 'analyst',
  'the Hasura namespace carries the role') FROM auth.users u WHERE username = 'analyst';

SELECT * FROM finish();
ROLLBACK;
