-- EXTRA_SQL for ../shared/bench: what this app adds to the benchmark's plain schema (ab.sql) to make the dashboard
-- fast: the indexes, the run log, the materialized views and the function bodies that read them. The benchmark's own
-- grants stay as they are (its anon also reads and appends to events), so 007_grants.sql is left out; pg_cron is
-- not loaded there, so 008 only says so and the aggregates stay as fresh as this file left them.
--
--   cd /work/main && EXTRA_SQL=examples/ab-dashboard/bench/extra.sql ../shared/bench/run.sh --cmd ... server fastapi pgbench

\ir ../migrations/001_roles.sql
\ir ../migrations/002_tables.sql
\ir ../migrations/003_indexes.sql
\ir ../migrations/004_run_log.sql
\ir ../migrations/005_aggregates.sql
\ir ../migrations/006_api.sql
\ir ../migrations/008_schedule.sql

-- Planner statistics for the new relations, as seed.sql gathers them for the tables.
ANALYZE mv_conversion_funnel;
ANALYZE mv_variant_stats;
ANALYZE mv_completion_distribution;
ANALYZE mv_leaderboard;
ANALYZE completions;
