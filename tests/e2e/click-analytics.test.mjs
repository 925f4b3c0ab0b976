// End-to-end test of the click analytics dashboard (examples/click-analytics/web/dashboard) against a running
// `restgres dev --app click-analytics` (tests/e2e/run.sh starts it): a new user registers and logs in through the
// page, the charts show the seeded clicks as /analytics reports them, the filters live in the user's cookie and
// survive a reload, and every filter change and chart interaction reaches POST /track (checked in the database and
// through /analytics' rollup).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { promisify } from 'node:util';
import { openBrowser } from './browser.mjs';

const run = promisify(execFile);
const URL_ = process.env.E2E_CLICKS_URL ?? 'http://127.0.0.1:3000';
const PAGE = `${URL_}/dashboard/`;
const RESULTS = process.env.E2E_RESULTS ?? path.resolve('../../test-results/e2e');
const banner = process.env.E2E_CLICKS_BANNER ? await readFile(process.env.E2E_CLICKS_BANNER, 'utf8') : '';
const PG_URI = banner.match(/psql "([^"]+)"/)?.[1] ?? '';

const stamp = Date.now().toString(36);
const newUser = { email: `e2e_${stamp}@example.com`, password: 'secret-e2e', username: `e2e_${stamp}`, age: 30, gender: 'Other' };
const TRACKED = ['date_picker', 'filter_age', 'filter_gender', 'chart_bar', 'bar_chart_zoom', 'line_chart_hover'];

const day = (offset) => new Date(Date.now() + offset * 86400000).toISOString().slice(0, 10);

async function analytics(token, params = {}) {
  const q = new URLSearchParams(Object.entries(params).filter(([, v]) => v));
  const res = await fetch(`${URL_}/analytics?${q}`, { headers: { Authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200, await res.clone().text());
  return res.json();
}

const barSeries = (a) => a.feature_counts.map((c) => [c.feature_name, c.count]);
const lineSeries = (a) => a.daily_counts.map((d) => [d.date, d.count]);

async function psql(sql) {
  const { stdout } = await run('psql', ['-X', '-At', '-v', 'ON_ERROR_STOP=1', PG_URI, '-c', sql]);
  return stdout.trim();
}

describe('the click analytics dashboard', () => {
  let browser;
  let context;
  let page;
  let session; // {token, user} once registered
  let segmentBefore; // the new user's segment in /analytics (around today) before they clicked anything
  const pageErrors = [];

  // The rollup segment the new user's clicks land in: their age group and gender, yesterday to tomorrow (so that
  // UTC midnight during the run changes nothing).
  const segment = () => ({ age_group: '18-40', gender: newUser.gender, start_date: day(-1), end_date: day(1) });

  before(async () => {
    browser = await openBrowser();
    ({ context, page } = browser);
    page.on('pageerror', (e) => pageErrors.push(e));
  });

  after(async () => {
    await browser?.close();
  });

  /** Waits for the page to show its data, or says what it shows instead (its error banner). */
  async function ready() {
    await page.waitForSelector('body[data-state="ready"], body[data-state="error"]', { timeout: 15000 });
    const state = await page.getAttribute('body', 'data-state');
    assert.equal(state, 'ready', `the page shows: ${await page.textContent('[data-testid="error"]')}`);
  }

  /** Waits until the chart shows exactly these data (the API's), then says how they differ if they never do. */
  async function expectSeries(testid, expected) {
    const want = JSON.stringify(expected);
    try {
      await page.waitForFunction(([id, w]) => document.querySelector(`[data-testid="${id}"]`)?.dataset.series === w,
        [testid, want], { timeout: 15000 });
    } catch {
      assert.deepEqual(JSON.parse(await page.getAttribute(`[data-testid="${testid}"]`, 'data-series') ?? 'null'), expected, testid);
    }
  }

  async function filtersCookie() {
    const cookie = (await context.cookies(URL_)).find((c) => c.name === `dashboard_filters_${session.user.id}`);
    return cookie && JSON.parse(decodeURIComponent(cookie.value));
  }

  test('restgres dev names the page, /dashboard/ serves it, and the old URLs stay the API', async () => {
    assert.ok(banner.includes(PAGE), `the banner shows ${PAGE}`);
    assert.ok(PG_URI.startsWith('postgresql://'), 'a psql URI in the banner');
    const html = await fetch(PAGE);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type'), /^text\/html/);
    assert.deepEqual(await (await fetch(`${URL_}/`)).json(), { message: 'Feature Click Analytics API', status: 'running' });
    assert.deepEqual(await (await fetch(`${URL_}/health`)).json(), { status: 'healthy' });
    for (const file of ['app.js', 'charts.js', 'style.css']) {
      assert.equal((await fetch(`${URL_}/dashboard/${file}`)).status, 200, file);
    }
  });

  test('a new user registers through the form and sees every feature\'s seeded clicks', async () => {
    await page.goto(PAGE);
    await page.waitForSelector('body[data-state="auth"]');
    await page.click('#tab-register');
    const form = '#register-form';
    await page.fill(`${form} [name=email]`, newUser.email);
    await page.fill(`${form} [name=password]`, newUser.password);
    await page.fill(`${form} [name=username]`, newUser.username);
    await page.fill(`${form} [name=age]`, String(newUser.age));
    await page.selectOption(`${form} [name=gender]`, newUser.gender);
    // Enter, not a click: the mouse stays put, so no chart appears under it (a hover is tracked, and counted below).
    await page.press(`${form} [name=age]`, 'Enter');
    await ready();

    // The token and the user are kept in localStorage, as the React client kept them.
    const stored = await page.evaluate(() => ({ token: localStorage.getItem('token'), user: JSON.parse(localStorage.getItem('user')) }));
    assert.match(stored.token, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/);
    assert.equal(stored.user.email, newUser.email);
    assert.equal(stored.user.username, newUser.username);
    session = stored;
    assert.equal(await page.textContent('[data-testid="who"]'), newUser.username);
    segmentBefore = await analytics(session.token, segment());

    const all = await analytics(session.token);
    assert.deepEqual(all.feature_counts.map((c) => c.feature_name).sort(), [...TRACKED].sort(), 'the seed clicks every feature');
    await expectSeries('bar-chart', barSeries(all));
    await expectSeries('line-chart', lineSeries(all));
    const total = all.feature_counts.reduce((s, c) => s + c.count, 0);
    assert.equal(Number(await page.getAttribute('[data-testid="total"]', 'data-value')), total);
    assert.ok(total >= 500, `at least the 500 seeded clicks, got ${total}`);
    // One bar per feature, as tall as its count relative to the others.
    const bars = await page.$$eval('[data-testid="bar-chart"] .bar', (gs) => gs.map((g) => [g.dataset.feature, Number(g.dataset.count),
      Number(g.querySelector('.bar-rect').getAttribute('height'))]));
    assert.deepEqual(bars.map(([f, c]) => [f, c]), barSeries(all));
    for (let i = 1; i < bars.length; i++) assert.ok(bars[i][2] <= bars[i - 1][2], 'bars by count, tallest first');
    assert.ok((await page.$$('[data-testid="line-chart"] .line-dot')).length >= all.daily_counts.length);
    await page.screenshot({ path: path.join(RESULTS, 'clicks-dashboard.png'), fullPage: true });
  });

  test('a wrong password is refused on the form; the right one logs back in', async () => {
    await page.click('#logout');
    await page.waitForSelector('body[data-state="auth"]');
    assert.equal(await page.evaluate(() => localStorage.getItem('token')), null, 'log out forgets the token');
    await page.fill('#login-form [name=email]', newUser.email);
    await page.fill('#login-form [name=password]', 'not-the-password');
    await page.press('#login-form [name=password]', 'Enter');
    await page.waitForSelector('[data-testid="auth-error"]:not([hidden])');
    assert.equal(await page.textContent('[data-testid="auth-error"]'), 'Invalid email or password');
    await page.screenshot({ path: path.join(RESULTS, 'clicks-login-refused.png') });

    await page.fill('#login-form [name=password]', newUser.password);
    await page.press('#login-form [name=password]', 'Enter');
    await ready();
    session = await page.evaluate(() => ({ token: localStorage.getItem('token'), user: JSON.parse(localStorage.getItem('user')) }));
    assert.equal(session.user.username, newUser.username);
  });

  test('the filters change the charts, are kept in dashboard_filters_<userId>, and come back after a reload', async () => {
    const unfiltered = await analytics(session.token);
    const want = { start_date: day(-6), end_date: day(0), age_group: '18-40', gender: 'Female' };

    // Gender first: the page tracks each change, and the new user (Other) is then outside what the charts show, so
    // the page's answer and the test's agree whichever of the tracked click and the page's query runs first.
    await page.selectOption('#gender', want.gender);
    await expectSeries('bar-chart', barSeries(await analytics(session.token, { gender: want.gender })));
    await page.selectOption('#age-group', want.age_group);
    await page.fill('#start-date', want.start_date);
    await page.fill('#end-date', want.end_date);
    const filtered = await analytics(session.token, want);
    assert.notDeepEqual(barSeries(filtered), barSeries(unfiltered), 'the filters select fewer clicks');
    assert.ok(filtered.feature_counts.length > 0, 'the seed has clicks in this segment');
    await expectSeries('bar-chart', barSeries(filtered));
    await expectSeries('line-chart', lineSeries(filtered));
    assert.ok(lineSeries(filtered).every(([d]) => d >= want.start_date && d <= want.end_date));

    assert.deepEqual(await filtersCookie(), { ...want, feature: '' });

    await page.reload();
    await ready();
    assert.equal(await page.inputValue('#start-date'), want.start_date);
    assert.equal(await page.inputValue('#end-date'), want.end_date);
    assert.equal(await page.inputValue('#age-group'), want.age_group);
    assert.equal(await page.inputValue('#gender'), want.gender);
    await expectSeries('bar-chart', barSeries(filtered));
    await expectSeries('line-chart', lineSeries(filtered));
    await page.screenshot({ path: path.join(RESULTS, 'clicks-filtered.png'), fullPage: true });
  });

  test('clicking a bar charts that feature\'s days, zoom widens the bars, hovering the line shows the day', async () => {
    const cookie = await filtersCookie();
    const filters = { start_date: cookie.start_date, end_date: cookie.end_date, age_group: cookie.age_group, gender: cookie.gender };
    const feature = (await analytics(session.token, filters)).feature_counts.at(-1).feature_name; // not the default view

    await page.click(`[data-testid="bar-chart"] .bar[data-feature="${feature}"]`);
    await expectSeries('line-chart', lineSeries(await analytics(session.token, { ...filters, feature_name: feature })));
    assert.equal(await page.textContent('[data-testid="line-feature"]'), feature);
    assert.equal(await page.getAttribute(`.bar[data-feature="${feature}"]`, 'aria-pressed'), 'true');
    assert.equal((await filtersCookie()).feature, feature, 'the chosen feature is kept with the filters');

    const width = () => page.$eval('[data-testid="bar-chart"] svg', (s) => Number(s.getAttribute('width')));
    const before = await width();
    await page.click('#zoom-in');
    assert.equal(await page.textContent('[data-testid="zoom-level"]'), '150%');
    assert.equal(await width(), before * 1.5);

    await page.hover('[data-testid="line-hover-area"]');
    await page.waitForSelector('[data-testid="line-tooltip"]:not([hidden])');
    const tip = await page.$eval('[data-testid="line-tooltip"]', (t) => ({ date: t.dataset.date, count: Number(t.dataset.count), text: t.textContent }));
    const dot = await page.$eval(`[data-testid="line-chart"] .line-dot[data-date="${tip.date}"]`, (c) => Number(c.dataset.count));
    assert.equal(tip.count, dot);
    assert.ok(tip.date >= filters.start_date && tip.date <= filters.end_date, tip.date);
    assert.match(tip.text, new RegExp(`^${tip.date} · \\d+ clicks$`));
    await page.screenshot({ path: path.join(RESULTS, 'clicks-interactions.png'), fullPage: true });
    await page.mouse.move(0, 0);
    await page.waitForSelector('[data-testid="line-tooltip"]', { state: 'hidden' });
  });

  test('every filter change and chart interaction was sent to POST /track, and /analytics counts them', async () => {
    await page.waitForSelector('body[data-track-pending="0"]');
    // Since registering: age group, gender, from, to (two date_picker), then a bar, zoom, one hover.
    const want = { bar_chart_zoom: 1, chart_bar: 1, date_picker: 2, filter_age: 1, filter_gender: 1, line_chart_hover: 1 };
    const rows = await psql(`select feature_name || '=' || count(*) from api.feature_clicks
      where user_id = ${Number(session.user.id)} group by feature_name order by feature_name`);
    assert.deepEqual(Object.fromEntries(rows.split('\n').filter(Boolean).map((r) => r.split('=')).map(([f, n]) => [f, Number(n)])), want);
    // Each with its own event_id (the page's retry key).
    assert.equal(await psql(`select count(distinct event_id) from api.feature_clicks where user_id = ${Number(session.user.id)}`), '7');

    // The rollup behind /analytics counted them in the user's segment (30, Other), exactly once each.
    const after = await analytics(session.token, segment());
    const count = (a, f) => a.feature_counts.find((c) => c.feature_name === f)?.count ?? 0;
    for (const [feature, n] of Object.entries(want)) {
      assert.equal(count(after, feature) - count(segmentBefore, feature), n, feature);
    }
  });

  test('a cookie the page did not write falls back to the default filters', async () => {
    const name = `dashboard_filters_${session.user.id}`;
    const all = await analytics(session.token);
    for (const value of [
      encodeURIComponent(JSON.stringify({ start_date: 'yesterday', end_date: 5, age_group: '<18 OR 1=1', gender: 'x', feature: {} })),
      '%E0%A4%A', // not even a %-escape
    ]) {
      await context.addCookies([{ name, value, url: URL_ }]);
      await page.reload();
      await ready();
      for (const id of ['#start-date', '#end-date', '#age-group', '#gender']) assert.equal(await page.inputValue(id), '', id);
      await expectSeries('bar-chart', barSeries(all));
      assert.equal(await page.textContent('[data-testid="line-feature"]'), 'all features');
    }
  });

  test('a token the API refuses sends the page back to the login form', async () => {
    await page.evaluate(() => {
      const t = localStorage.getItem('token');
      localStorage.setItem('token', `${t.slice(0, -4)}AAAA`);
    });
    await page.reload();
    await page.waitForSelector('body[data-state="auth"]', { timeout: 15000 });
    assert.match(await page.textContent('[data-testid="auth-error"]'), /session has expired/);
    assert.equal(await page.evaluate(() => localStorage.getItem('token')), null);
    assert.deepEqual(pageErrors.map(String), [], 'no script error on the page');
  });
});
