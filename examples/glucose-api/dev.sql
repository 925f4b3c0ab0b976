-- Run by `restgres dev --app glucose-api` (./run.sh --app glucose-api) after the migrations: 90 days of readings the
-- first time, then the marts refreshed.
SELECT raw.generate_readings(90) WHERE NOT EXISTS (SELECT FROM raw.glucose_readings);
SELECT marts.refresh();
