// End-to-end test of the AI generations app against `restgres dev --app ai-generations` (tests/e2e/ai-generations.sh
// starts it, with the mock provider): the banner's token and calls, Idempotency-Key on request_generation, and the page
// in Debian's Chromium (log in, submit a prompt, watch its status change, see the past generations with their logs).
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { chromium } from 'playwright-core';

const URL_ = process.env.E2E_URL ?? 'http://127.0.0.1:3000';
const MOCK = process.env.E2E_MOCK ?? 'http://127.0.0.1:8089';
const RESULTS = process.env.E2E_RESULTS ?? path.resolve('../../test-results/e2e');
const banner = process.env.E2E_BANNER ? await readFile(process.env.E2E_BANNER, 'utf8') : '';
const TOKEN = banner.match(/User token\s+(\S+)/)?.[1] ?? '';

async function call(method, route, body, headers = {}) {
  const res = await fetch(`${URL_}${route}`, {
    method,
    headers: { Accept: 'application/json', 'Content-Type': 'application/json', Authorization: `Bearer ${TOKEN}`, ...headers },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  let json;
  try { json = JSON.parse(text); } catch { json = undefined; }
  return { status: res.status, text, json, headers: res.headers };
}

async function waitFinished(id) {
  for (let i = 0; i < 300; i++) {
    const r = await call('GET', `/generations?id=eq.${id}&select=ai_status,attempts,result_text`);
    if (['completed', 'failed'].includes(r.json?.[0]?.ai_status)) return r.json[0];
    await new Promise((done) => setTimeout(done, 100));
  }
  throw new Error(`generation ${id} did not finish`);
}

describe('the API as the banner shows it', () => {
  test('restgres dev prints a user token, the mock provider and the calls to try', () => {
    assert.match(TOKEN, /^eyJ[\w-]+\.eyJ[\w-]+\.[\w-]+$/, 'a JWT after "User token"');
    assert.ok(banner.includes(`${MOCK}/v1/chat/completions`), 'the mock provider\'s address');
    assert.ok(banner.includes('/rpc/request_generation') && banner.includes('Idempotency-Key'), 'the call to try');
  });

  test('a generation requested with a key runs to completed; the same key again returns it and runs nothing', async () => {
    const key = crypto.randomUUID();
    const first = await call('POST', '/rpc/request_generation', { prompt: 'e2e: a limerick' }, { 'Idempotency-Key': key });
    assert.equal(first.status, 200, first.text);
    assert.equal(first.json.ai_status, 'pending');
    const again = await call('POST', '/rpc/request_generation', { prompt: 'e2e: a limerick' }, { 'Idempotency-Key': key });
    assert.equal(again.status, 200, again.text);
    assert.equal(again.headers.get('idempotent-replayed'), 'true');
    assert.deepEqual(again.json, first.json);
    const done = await waitFinished(first.json.id);
    assert.equal(done.ai_status, 'completed');
    assert.match(done.result_text, /Mock answer to: e2e: a limerick/);
    const sameKey = await call('GET', `/generations?prompt=eq.e2e: a limerick&select=id`);
    assert.equal(sameKey.json.length, 1, 'one generation for the key');
  });

  test('the provider saw the retried job twice, under the same Idempotency-Key (the job id)', async () => {
    const r = await call('POST', '/rpc/request_generation', { prompt: 'e2e [mock:close-times:1]' }, { 'Idempotency-Key': crypto.randomUUID() });
    const done = await waitFinished(r.json.id);
    assert.equal(done.attempts, 2);
    const [gen] = (await call('GET', `/generations?id=eq.${r.json.id}&select=job_id`)).json;
    const seen = (await (await fetch(`${MOCK}/_mock/requests`)).json()).filter((q) => q.idempotency_key === String(gen.job_id));
    assert.deepEqual(seen.map((q) => q.outcome), ['close', 'ok']);
  });

  test('the metrics views answer for the user', async () => {
    for (const view of ['generation_daily', 'generation_durations', 'generation_attempts']) {
      const r = await call('GET', `/${view}`);
      assert.equal(r.status, 200, r.text);
      assert.ok(r.json.length > 0, `${view}: ${r.text}`);
    }
  });
});

describe('the page in Chromium', () => {
  let browser;
  let page;
  before(async () => {
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  });
  after(async () => { await browser?.close(); });

  test('log in, submit a prompt, watch its status change to completed, see it with its logs', async () => {
    await page.goto(`${URL_}/index.html`);
    await page.click('#login button[type=submit]');
    await page.waitForSelector('#app-section:not([hidden])');
    await page.fill('#prompt', 'e2e page [mock:html-times:1] a haiku about queues');
    await page.click('#submit');
    // Every status the page shows for it, until it is finished.
    const seen = [];
    for (let i = 0; i < 300; i++) {
      const s = await page.getAttribute('#current-status', 'data-status');
      if (s && seen.at(-1) !== s) seen.push(s);
      if (s === 'completed' || s === 'failed') break;
      await page.waitForTimeout(100);
    }
    assert.equal(seen.at(-1), 'completed', `statuses seen: ${seen}`);
    // First pending (the answer of the request) or already processing (a worker claimed it before the page looked).
    assert.ok(seen.length >= 2 && ['pending', 'processing'].includes(seen[0]), `it changed from unfinished: ${seen}`);
    const card = page.locator('.generation', { hasText: 'e2e page [mock:html-times:1]' });
    await card.locator('.answer').waitFor();
    assert.match(await card.locator('.answer').textContent(), /Mock answer to/);
    // Its two attempts: the HTML error page (502, retried), then the answer.
    const rows = await card.locator('table.logs tr[data-attempt]').allTextContents();
    assert.equal(rows.length, 2, rows.join(' | '));
    assert.match(rows[0], /retrying\s*502/);
    assert.match(rows[1], /completed\s*200/);
    assert.match(await page.textContent('#metrics'), /success/);
    await page.screenshot({ path: path.join(RESULTS, 'ai-generations.png'), fullPage: true });
  });

  test('a refused prompt shows the API\'s message', async () => {
    await page.fill('#prompt', '   ');
    await page.evaluate(() => document.getElementById('request').requestSubmit());
    await page.waitForFunction(() => document.getElementById('message').textContent.length > 0);
    assert.equal(await page.textContent('#message'), 'prompt is required');
  });
});
