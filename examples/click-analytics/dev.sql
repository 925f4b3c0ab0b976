-- Run by `restgres dev --app click-analytics` (./run.sh --app click-analytics) after the migrations: the seed the
-- first time: 55 users (user1@example.com … user55@example.com, password test123) and 500 clicks over 30 days.
-- For a load test: SELECT analytics.generate_clicks(10000000);
SELECT analytics.seed_users(55);
SELECT analytics.generate_clicks(500, 30) WHERE NOT EXISTS (SELECT FROM api.feature_clicks);
