-- Run by `restgres dev --app ai-generations` (./run.sh --app ai-generations) after the migrations: a demo user
-- (demo@example.com, password demo1234) the first time. dev-services.sh starts the mock provider and points the
-- generate queue at it (ai.configure_provider).
INSERT INTO auth.users (email, password_hash)
SELECT 'demo@example.com', auth.hash_password('demo1234')
WHERE NOT EXISTS (SELECT FROM auth.users WHERE email = 'demo@example.com');
