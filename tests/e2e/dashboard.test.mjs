// End-to-end test of the A/B dashboard against a running `restgres dev` (tests/e2e/run.sh starts it):
// the Supabase-style API calls of issue 6, the page in Debian's Chromium (every panel shows the API's data, refreshes
// without a reload, says so when the API is unreachable), and `restgres smoke`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { openBrowser } from './browser.mjs';

const run = promisify(execFile);
const URL_ = process.env.E2E_URL ?? 'http://127.0.0.1:3000';
const API = `${URL_}/rest/v1`;
const RESULTS = process.env.E2E_RESULTS ?? path.resolve('../../test-results/e2e');
const BIN = process.env.E2E_BIN;
const banner = process.env.E2E_BANNER ? await readFile(process.env.E2E_BANNER, 'utf8') : '';
// The key and the database address exactly as `restgres dev` prints them for a newcomer.
const ANON_KEY = banner.match(/export ANON_KEY=(\S+)/)?.[1] ?? '';
const PG_URI = banner.match(/psql "([^"]+)"/)?.[1] ?? '';
const supabase = { apikey: ANON_KEY, Authorization: `Bearer ${ANON_KEY}` };

async function call(method, route, body, headers = supabase) {
  const res = await fetch(`${API}${route}`, {
    method,
    headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}), ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json };
}

async function psql(sql) {
  const { stdout } = await run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', PG_URI, '-c', sql]);
  return stdout.trim();
}

// The six calls of the issue, verbatim.
const ISSUE_CALLS = [
  ['POST', '/rpc/variant_overview', {}],
  ['GET', '/v_conversion_funnel?select=*', undefined],
  ['POST', '/rpc/recent_completions', { limit_count: 50 }],
  ['POST', '/rpc/completion_time_distribution', {}],
  ['POST', '/rpc/leaderboard', { variant: 'A', limit_count: 10 }],
  ['POST', '/rpc/leaderboard', { variant: 'B', limit_count: 10 }],
];

describe('the Supabase-style API', () => {
  test('restgres dev prints the anon key and the database address', () => {
    assert.match(ANON_KEY, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/, 'a JWT after "export ANON_KEY="');
    assert.ok(PG_URI.startsWith('postgresql://'), 'a psql URI in the banner');
    for (const [, route] of ISSUE_CALLS) assert.ok(banner.includes(route.split('?')[0]), `the banner shows ${route}`);
  });

  for (const [method, route, body] of ISSUE_CALLS) {
    test(`${method} /rest/v1${route} ${body ? JSON.stringify(body) : ''} answers 200 with data, with apikey and the anon key as Bearer`, async () => {
      const r = await call(method, route, body);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json && (Array.isArray(r.json) ? r.json.length > 0 : Object.keys(r.json).length > 0), r.text);
    });
  }

  test('without any header the same calls run as anon too', async () => {
    const r = await call('POST', '/rpc/variant_overview', {}, {});
    assert.equal(r.status, 200, r.text);
  });

  test('the API is also served at the root, PostgREST style', async () => {
    const res = await fetch(`${URL_}/v_conversion_funnel?select=variant`, { headers: supabase });
    assert.equal(res.status, 200);
  });

  test('anon cannot read the raw tables', async () => {
    for (const table of ['events', 'users', 'completions', 'analytics_run_log', 'mv_leaderboard']) {
      const r = await call('GET', `/${table}?limit=1`);
      assert.equal(r.status, 401, `${table}: ${r.text}`);
      assert.equal(r.json?.code, '42501', r.text);
    }
  });

  test('a forged key is refused', async () => {
    const forged = `${ANON_KEY.slice(0, -4)}AAAA`;
    const r = await call('POST', '/rpc/variant_overview', {}, { apikey: forged, Authorization: `Bearer ${forged}` });
    assert.equal(r.status, 401, r.text);
  });
});

describe('the dashboard page', () => {
  let browser;
  let page;
  const requests = [];

  before(async () => {
    browser = await openBrowser();
    page = browser.page;
    page.on('request', (r) => { if (r.url().includes('/rest/v1/')) requests.push(r); });
    page.on('pageerror', (e) => { throw e; });
  });

  after(async () => {
    await browser?.close();
  });

  test('http://host/ serves the dashboard, and every panel shows the API\'s data', async () => {
    // Slow refresh: the comparison below must not race an automatic reload.
    await page.goto(`${URL_}/?refresh=60`);
    await page.waitForSelector('body[data-state="live"]', { timeout: 30000 });
    assert.equal(await page.title(), 'A/B test dashboard · Restgres');

    const [overview, funnel, distribution, lbA, lbB, recent] = await Promise.all([
      call('POST', '/rpc/variant_overview', {}), call('GET', '/v_conversion_funnel?select=*'),
      call('POST', '/rpc/completion_time_distribution', {}),
      call('POST', '/rpc/leaderboard', { variant: 'A', limit_count: 10 }),
      call('POST', '/rpc/leaderboard', { variant: 'B', limit_count: 10 }),
      call('POST', '/rpc/recent_completions', { limit_count: 50 }),
    ]).then((rs) => rs.map((r) => r.json));
    const value = (testid) => page.getAttribute(`[data-testid="${testid}"]`, 'data-value');

    // Overview cards, and the A−B differences.
    for (const v of overview.variants) {
      for (const key of ['users', 'completers', 'completions', 'conversion_rate', 'avg_completion_time_ms', 'best_completion_time_ms']) {
        assert.equal(Number(await value(`overview-${v.variant}-${key}`)), Number(v[key]), `overview ${v.variant} ${key}`);
      }
    }
    for (const key of ['conversion_rate_diff', 'conversion_rate_uplift_pct', 'avg_completion_time_diff_ms', 'completions_diff', 'confidence_pct', 'z_score']) {
      assert.equal(Number(await value(`comparison-${key}`)), Number(overview.comparison[key]), `comparison ${key}`);
    }
    assert.equal(await value('comparison-leader'), overview.comparison.leader);
    assert.match(await page.textContent('[data-testid="overview-A-conversion_rate"]'), /^\d+\.\d\d%$/);

    // Funnel: the table and the chart's bars.
    const fmt = new Intl.NumberFormat('en-US');
    const two = new Intl.NumberFormat('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
    for (const row of funnel) {
      const cells = await page.$$eval(`[data-testid="funnel-table"] tr[data-variant="${row.variant}"] td[data-field]`,
        (tds) => Object.fromEntries(tds.map((td) => [td.dataset.field, td.textContent.trim()])));
      assert.equal(cells.viewed, fmt.format(row.viewed));
      assert.equal(cells.started, fmt.format(row.started));
      assert.equal(cells.completed, fmt.format(row.completed));
      assert.equal(cells.conversion_rate, `${two.format(row.conversion_rate)}%`);
    }
    assert.deepEqual(JSON.parse(await page.getAttribute('[data-testid="funnel-chart"]', 'data-series')),
      ['A', 'B'].map((v) => { const r = funnel.find((x) => x.variant === v); return [r.viewed, r.started, r.completed]; }));

    // Completion-time distribution: the histogram's bars and the percentiles.
    assert.deepEqual(JSON.parse(await page.getAttribute('[data-testid="histogram-chart"]', 'data-series')),
      ['A', 'B'].map((v) => distribution.find((x) => x.variant === v).histogram.map((b) => b.count)));
    for (const row of distribution) {
      const median = await page.textContent(`[data-testid="distribution-table"] tr[data-variant="${row.variant}"] td[data-field="p50_ms"]`);
      assert.equal(median.trim(), `${two.format(row.p50_ms / 1000)} s`);
    }

    // Leaderboards.
    for (const [variant, rows] of [['A', lbA], ['B', lbB]]) {
      const names = await page.$$eval(`[data-testid="leaderboard-${variant}"] td[data-field="username"]`, (tds) => tds.map((td) => td.textContent));
      assert.deepEqual(names, rows.map((r) => r.username), `leaderboard ${variant}`);
    }

    // Recent completions, newest first.
    const ids = await page.$$eval('[data-testid="recent"] li[data-id]', (lis) => lis.map((li) => Number(li.dataset.id)));
    assert.deepEqual(ids, recent.map((r) => r.id));

    assert.match(await page.textContent('[data-testid="freshness"]'), /Aggregates refreshed/);
    assert.equal(await page.isHidden('[data-testid="error"]'), true);

    // The page calls the API the Supabase way.
    const rpc = requests.find((r) => r.url().endsWith('/rest/v1/rpc/variant_overview'));
    assert.ok(rpc, 'the page called rpc/variant_overview');
    assert.equal(rpc.method(), 'POST');
    assert.ok(rpc.headers().apikey?.startsWith('eyJ'), 'apikey header');
    assert.ok(rpc.headers().authorization?.startsWith('Bearer eyJ'), 'Authorization: Bearer');

    await page.waitForTimeout(1000); // the charts' 400 ms grow-in animation
    await page.screenshot({ path: path.join(RESULTS, 'dashboard.png'), fullPage: true });
  });

  test('new data appears without reloading the page', async () => {
    await page.evaluate(() => { window.__sameDocument = true; });
    const username = `e2e_${Date.now()}`;
    await psql(`insert into completions (username, variant, completion_time_ms, created_at) values ('${username}', 'B', 1234, now())`);
    // Auto-refresh every 5 s: the live feed reads the table directly, so the row shows on the next refresh.
    await page.selectOption('#interval', '5');
    await page.waitForSelector(`[data-testid="recent"] li:first-child >> text=${username}`, { timeout: 20000 });
    assert.equal(await page.evaluate(() => window.__sameDocument), true, 'no page reload');
    await psql(`delete from completions where username = '${username}'`);
  });

  test('an unreachable API is shown as such, and the page recovers', async () => {
    await page.selectOption('#interval', '0');
    await page.route('**/rest/v1/**', (route) => route.abort('connectionrefused'));
    await page.click('#refresh');
    await page.waitForSelector('[data-testid="error"]:not([hidden])', { timeout: 15000 });
    assert.match(await page.textContent('[data-testid="error"]'), /The API is unreachable/);
    assert.match(await page.textContent('[data-testid="status"]'), /Unreachable/);
    // The last good data stays on screen.
    assert.ok((await page.$$('[data-testid="recent"] li[data-id]')).length > 0);
    await page.screenshot({ path: path.join(RESULTS, 'dashboard-unreachable.png') });

    await page.unroute('**/rest/v1/**');
    await page.click('#refresh');
    await page.waitForSelector('[data-testid="error"][hidden]', { state: 'attached', timeout: 15000 });
    assert.match(await page.textContent('[data-testid="status"]'), /Paused|Live/);
  });

  test('static files never shadow the API', async () => {
    const root = await fetch(`${URL_}/`, { headers: { Accept: 'application/openapi+json' } });
    assert.equal(root.status, 200);
    assert.match(root.headers.get('content-type'), /openapi\+json/);
    const missing = await fetch(`${URL_}/no_such_file.js`);
    assert.equal(missing.status, 404);
    assert.equal((await missing.json()).code, 'PGRST205');
  });
});

describe('restgres smoke', { skip: !BIN && 'E2E_BIN not set' }, () => {
  test('passes against the demo and records the run with --log', async () => {
    const { stdout } = await run(BIN, ['smoke', '--url', API, '--apikey', ANON_KEY, '--log']);
    assert.match(stdout, /OK: 6 of 6 checks passed/);
    assert.match(stdout, /recorded as smoke in analytics_run_log/);
    const logged = await psql("select status || ' ' || message from analytics_run_log where job_name = 'smoke' order by id desc limit 1");
    assert.equal(logged, 'ok 6 of 6 checks passed');
  });

  test('fails with a readable report and exit status 1 on a failing check', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'restgres-smoke-'));
    const config = path.join(dir, 'smoke.json');
    await writeFile(config, JSON.stringify({
      url: API,
      apikey: ANON_KEY,
      checks: [
        { name: 'funnel', path: '/v_conversion_funnel?select=*' },
        { name: 'raw_events', path: '/events?limit=1' },
        { name: 'nothing', path: '/rpc/recent_completions', body: { limit_count: 5 }, method: 'POST' },
        { name: 'empty', path: '/v_conversion_funnel?variant=eq.C' },
      ],
    }));
    await assert.rejects(run(BIN, ['smoke', '--config', config]), (e) => {
      assert.equal(e.code, 1);
      assert.match(e.stdout, /FAIL\s+raw_events .* 401 /);
      assert.match(e.stdout, /FAIL\s+empty .*empty result/);
      assert.match(e.stdout, /FAILED: 2 of 4 checks failed/);
      return true;
    });
    await rm(dir, { recursive: true, force: true });
  });
});
