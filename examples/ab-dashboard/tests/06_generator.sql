-- The data generator: deterministic (tests/run.sh ran it twice with the same arguments and kept the first run's
-- checksum), sizes as asked, and only rows the constraints of the schema and of the funnel allow.
BEGIN;
SELECT plan(6);

SELECT is((SELECT md5((SELECT string_agg(u::text, ',' ORDER BY id) FROM users u)
                      || (SELECT string_agg(e::text, ',' ORDER BY id) FROM events e)
                      || (SELECT string_agg(c::text, ',' ORDER BY id) FROM completions c))),
          (SELECT checksum FROM pgtap_first_generation),
          'the same seed, sizes and anchor generate the same rows');
SELECT results_eq('SELECT (SELECT count(*) FROM users), (SELECT count(*) FROM events), (SELECT count(*) FROM completions)',
  'VALUES (200::bigint, 20000::bigint, 2000::bigint)',
  '--events 20000 makes 200 users (events / 100) and 2000 completions (events / 10)');
SELECT is((SELECT count(*)::int FROM users WHERE variant <> CASE WHEN id % 2 = 1 THEN 'A' ELSE 'B' END), 0,
  'users alternate variants by id');
SELECT is((SELECT count(*)::int FROM events e JOIN users u ON u.id = e.user_id WHERE e.variant <> u.variant), 0,
  'every event carries its user''s variant');
SELECT is((SELECT count(*)::int FROM completions c LEFT JOIN users u USING (username)
           WHERE u.id IS NULL OR u.variant <> c.variant), 0,
  'every completion belongs to a user of its variant');
SELECT ok((SELECT max(created_at) <= '2026-01-31 12:00:00+00' AND min(created_at) >= '2026-01-01 12:00:00+00'
           FROM completions), 'timestamps lie within the days before the anchor');

SELECT * FROM finish();
ROLLBACK;
