-- v_conversion_funnel against the funnel computed straight from the click-stream.
BEGIN;
SELECT plan(4);

CREATE TEMP TABLE expected_funnel AS
SELECT variant,
       count(DISTINCT user_id) FILTER (WHERE event_name = 'page_view')     AS viewed,
       count(DISTINCT user_id) FILTER (WHERE event_name = 'test_start')    AS started,
       count(DISTINCT user_id) FILTER (WHERE event_name = 'test_complete') AS completed
FROM events
GROUP BY variant;

SELECT results_eq('SELECT variant, viewed, started, completed FROM v_conversion_funnel',
  'SELECT variant, viewed, started, completed FROM expected_funnel ORDER BY variant',
  'v_conversion_funnel counts the distinct users at each step, per variant');
SELECT results_eq('SELECT variant, view_to_start_rate, start_to_complete_rate, conversion_rate FROM v_conversion_funnel',
  $$SELECT variant, round(100.0 * started / viewed, 2), round(100.0 * completed / started, 2), round(100.0 * completed / viewed, 2)
    FROM expected_funnel ORDER BY variant$$,
  'v_conversion_funnel''s rates are percentages rounded to 2 decimals');
SELECT ok((SELECT bool_and(viewed >= started AND started >= completed AND completed > 0) FROM v_conversion_funnel),
          'the generated data makes a real funnel');
SELECT ok((SELECT b.conversion_rate > a.conversion_rate FROM v_conversion_funnel a, v_conversion_funnel b
           WHERE a.variant = 'A' AND b.variant = 'B'), 'and B converts better than A');

SELECT * FROM finish();
ROLLBACK;
