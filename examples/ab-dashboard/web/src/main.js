import '@fontsource/inter/400.css';
import '@fontsource/inter/500.css';
import '@fontsource/inter/600.css';
import '@fontsource/inter/700.css';
import './style.css';
import { createApi } from './api.js';
import { drawFunnel, drawHistogram } from './charts.js';
import {
  clock, escapeHtml, fmtInt, fmtNum2, fmtPct, fmtSeconds, signed, timeAgo,
} from './format.js';

const VARIANT_NAMES = { A: 'Current flow', B: 'Redesigned flow' };
const $ = (id) => document.getElementById(id);

// Settings: config.js (editable after the build), then URL parameters for a one-off look elsewhere.
function readConfig() {
  const base = { apiUrl: '/rest/v1', anonKey: '', refreshSeconds: 15, ...(window.DASHBOARD_CONFIG ?? {}) };
  const params = new URLSearchParams(window.location.search);
  if (params.has('api')) base.apiUrl = params.get('api');
  if (params.has('key')) base.anonKey = params.get('key');
  if (params.has('refresh')) base.refreshSeconds = Number(params.get('refresh')) || 0;
  return base;
}

const config = readConfig();
const api = createApi(config);
$('api-url').textContent = api.url;

const state = {
  loading: false,
  lastSuccess: null,
  seenCompletions: new Set(),
  timer: null,
  interval: config.refreshSeconds,
  status: null,
};

// ---------------------------------------------------------------- rendering

function metric(testid, value, text) {
  return `<dd data-testid="${testid}" data-value="${escapeHtml(value ?? '')}">${escapeHtml(text)}</dd>`;
}

function renderVariantCard(v, leader) {
  const el = $(`card-${v.variant}`);
  const id = `overview-${v.variant}`;
  const isLeader = leader === v.variant;
  el.classList.toggle('is-leader', isLeader);
  el.innerHTML = `
    <header class="variant-head">
      <span class="chip chip-${v.variant.toLowerCase()}">${v.variant}</span>
      <h2>${VARIANT_NAMES[v.variant] ?? `Variant ${escapeHtml(v.variant)}`}</h2>
      ${isLeader ? '<span class="badge badge-good">Leading</span>' : ''}
    </header>
    <div class="big">
      <span class="value" data-testid="${id}-conversion_rate" data-value="${v.conversion_rate ?? ''}">${fmtPct(v.conversion_rate)}</span>
      <span class="label">of users completed the test</span>
    </div>
    <div class="meter"><span style="width:${Math.min(100, Number(v.conversion_rate) || 0)}%"></span></div>
    <dl class="stats">
      <div><dt>Users</dt>${metric(`${id}-users`, v.users, fmtInt(v.users))}</div>
      <div><dt>Completers</dt>${metric(`${id}-completers`, v.completers, fmtInt(v.completers))}</div>
      <div><dt>Completions</dt>${metric(`${id}-completions`, v.completions, fmtInt(v.completions))}</div>
      <div><dt>Avg. time</dt>${metric(`${id}-avg_completion_time_ms`, v.avg_completion_time_ms, fmtSeconds(v.avg_completion_time_ms))}</div>
      <div><dt>Best time</dt>${metric(`${id}-best_completion_time_ms`, v.best_completion_time_ms, fmtSeconds(v.best_completion_time_ms))}</div>
    </dl>`;
}

function tone(n, goodWhenPositive = true) {
  if (n == null || Number(n) === 0) return '';
  return (Number(n) > 0) === goodWhenPositive ? 'good' : 'bad';
}

function renderComparison(c) {
  const el = $('card-compare');
  const leader = c.leader === 'tie' ? 'No leader yet' : `${c.leader} leads`;
  const verdict = c.significant
    ? `<p class="verdict good">Significant at 95 % confidence: the difference in conversion is very unlikely to be chance.</p>`
    : `<p class="verdict neutral">Not significant yet: keep the test running before deciding.</p>`;
  el.innerHTML = `
    <header class="variant-head">
      <span class="chip chip-ab">B−A</span>
      <h2>Difference</h2>
      <span class="badge ${c.leader === 'tie' ? 'badge-neutral' : 'badge-good'}" data-testid="comparison-leader" data-value="${escapeHtml(c.leader)}">${escapeHtml(leader)}</span>
    </header>
    <div class="big">
      <span class="value ${tone(c.conversion_rate_diff)}" data-testid="comparison-conversion_rate_diff" data-value="${c.conversion_rate_diff ?? ''}">${signed(c.conversion_rate_diff, fmtNum2)} pp</span>
      <span class="label">conversion rate, <span data-testid="comparison-conversion_rate_uplift_pct" data-value="${c.conversion_rate_uplift_pct ?? ''}">${signed(c.conversion_rate_uplift_pct, fmtNum2)}%</span> relative</span>
    </div>
    <dl class="deltas">
      <div><dt>Avg. time</dt><dd class="${tone(c.avg_completion_time_diff_ms, false)}" data-testid="comparison-avg_completion_time_diff_ms" data-value="${c.avg_completion_time_diff_ms ?? ''}">${signed(c.avg_completion_time_diff_ms, (v) => fmtSeconds(v))}</dd></div>
      <div><dt>Completions</dt><dd data-testid="comparison-completions_diff" data-value="${c.completions_diff ?? ''}">${signed(c.completions_diff, fmtInt)}</dd></div>
      <div><dt>Confidence</dt><dd data-testid="comparison-confidence_pct" data-value="${c.confidence_pct ?? ''}">${fmtPct(c.confidence_pct)}</dd></div>
      <div><dt>z-score</dt><dd data-testid="comparison-z_score" data-value="${c.z_score ?? ''}">${fmtNum2(c.z_score)}</dd></div>
    </dl>
    ${verdict}`;
}

function renderOverview(overview) {
  const leader = overview.comparison?.leader;
  for (const v of overview.variants ?? []) renderVariantCard(v, leader);
  if (overview.comparison) renderComparison(overview.comparison);
}

function renderFunnel(rows) {
  drawFunnel($('funnel-chart'), rows);
  $('funnel-rows').innerHTML = rows.map((r) => `
    <tr data-variant="${escapeHtml(r.variant)}">
      <td><span class="chip chip-${r.variant.toLowerCase()}">${escapeHtml(r.variant)}</span></td>
      <td class="num" data-field="viewed">${fmtInt(r.viewed)}</td>
      <td class="num" data-field="started">${fmtInt(r.started)}</td>
      <td class="num" data-field="completed">${fmtInt(r.completed)}</td>
      <td class="num" data-field="view_to_start_rate">${fmtPct(r.view_to_start_rate)}</td>
      <td class="num" data-field="start_to_complete_rate">${fmtPct(r.start_to_complete_rate)}</td>
      <td class="num strong" data-field="conversion_rate">${fmtPct(r.conversion_rate)}</td>
    </tr>`).join('');
}

function renderDistribution(rows) {
  drawHistogram($('histogram-chart'), rows);
  $('distribution-rows').innerHTML = rows.map((r) => `
    <tr data-variant="${escapeHtml(r.variant)}">
      <td><span class="chip chip-${r.variant.toLowerCase()}">${escapeHtml(r.variant)}</span></td>
      <td class="num" data-field="completions">${fmtInt(r.completions)}</td>
      <td class="num" data-field="avg_ms">${fmtSeconds(r.avg_ms)}</td>
      <td class="num" data-field="p25_ms">${fmtSeconds(r.p25_ms)}</td>
      <td class="num strong" data-field="p50_ms">${fmtSeconds(r.p50_ms)}</td>
      <td class="num" data-field="p75_ms">${fmtSeconds(r.p75_ms)}</td>
      <td class="num" data-field="p90_ms">${fmtSeconds(r.p90_ms)}</td>
      <td class="num" data-field="p99_ms">${fmtSeconds(r.p99_ms)}</td>
    </tr>`).join('');
}

function renderLeaderboard(variant, rows) {
  const medal = (rank) => (rank <= 3 ? `<span class="medal medal-${rank}">${rank}</span>` : rank);
  $(`leaderboard-${variant}-rows`).innerHTML = rows.length
    ? rows.map((r) => `
      <tr>
        <td class="num" data-field="rank">${medal(r.rank)}</td>
        <td class="user" data-field="username">${escapeHtml(r.username)}</td>
        <td class="num strong" data-field="best_time_ms">${fmtSeconds(r.best_time_ms)}</td>
        <td class="num muted" data-field="attempts">${fmtInt(r.attempts)}</td>
      </tr>`).join('')
    : '<tr><td colspan="4" class="empty">No completions yet</td></tr>';
}

function renderRecent(rows) {
  const first = state.seenCompletions.size === 0;
  $('recent').innerHTML = rows.length
    ? rows.map((r) => {
      const isNew = !first && !state.seenCompletions.has(r.id);
      return `
      <li class="${isNew ? 'new' : ''}" data-id="${r.id}">
        <span class="chip chip-${r.variant.toLowerCase()}">${escapeHtml(r.variant)}</span>
        <span class="user" data-field="username">${escapeHtml(r.username)}</span>
        <span class="time" data-field="completion_time_ms">${fmtSeconds(r.completion_time_ms)}</span>
        <time class="ago muted" datetime="${escapeHtml(r.created_at)}" title="${escapeHtml(new Date(r.created_at).toLocaleString())}">${timeAgo(r.created_at)}</time>
      </li>`;
    }).join('')
    : '<li class="empty">No completions yet</li>';
  rows.forEach((r) => state.seenCompletions.add(r.id));
}

function renderFreshness(s) {
  state.status = s;
  const el = $('freshness');
  const when = s.refreshed_at ? timeAgo(s.refreshed_at) : 'never';
  const by = s.scheduler === 'pg_cron'
    ? 'by pg_cron every minute'
    : 'on server start (no scheduler: run <code>select refresh_dashboard_aggregates()</code>)';
  const failed = s.last_refresh && s.last_refresh.status !== 'ok'
    ? ` · <span class="bad">last refresh ${escapeHtml(s.last_refresh.status)}: ${escapeHtml(s.last_refresh.message ?? '')}</span>`
    : '';
  el.innerHTML = `<span class="dot ${s.scheduler === 'pg_cron' ? 'dot-good' : 'dot-warn'}"></span>
    Aggregates refreshed <strong>${when}</strong> ${by}${failed}`;
}

// ---------------------------------------------------------------- status and errors

function setStatus(kind, text) {
  const el = $('status');
  el.className = `status status-${kind}`;
  $('status-text').textContent = text;
  document.body.dataset.state = kind;
}

function showError(errors) {
  const banner = $('error');
  if (!errors.length) {
    banner.hidden = true;
    return;
  }
  const unreachable = errors.every((e) => e.unreachable);
  const since = state.lastSuccess ? ` The panels show the data of ${clock(state.lastSuccess)}.` : ' No data could be loaded yet.';
  const retry = state.interval > 0 ? ` Retrying every ${state.interval} s.` : ' Press Refresh to try again.';
  if (unreachable) {
    $('error-title').textContent = 'The API is unreachable.';
    $('error-text').textContent = `No answer from ${api.url} — is the server running (./run.sh)?${retry}${since}`;
  } else {
    const e = errors.find((x) => !x.unreachable);
    $('error-title').textContent = 'The API answered with an error.';
    $('error-text').textContent = `${e.message}${e.status ? ` (HTTP ${e.status}${e.details ? ` · ${e.details}` : ''})` : ''}.${retry}${since}`;
  }
  banner.hidden = false;
}

// ---------------------------------------------------------------- loading

async function load() {
  if (state.loading) return;
  state.loading = true;
  $('refresh').disabled = true;
  if (!state.lastSuccess) setStatus('loading', 'Loading…');
  else setStatus('refreshing', 'Refreshing…');

  const calls = [
    [api.overview(), renderOverview],
    [api.funnel(), renderFunnel],
    [api.distribution(), renderDistribution],
    [api.leaderboard('A', 10), (rows) => renderLeaderboard('A', rows)],
    [api.leaderboard('B', 10), (rows) => renderLeaderboard('B', rows)],
    [api.recent(50), renderRecent],
    [api.status(), renderFreshness],
  ];
  const results = await Promise.allSettled(calls.map(([p]) => p));
  const errors = [];
  results.forEach((r, i) => {
    if (r.status === 'fulfilled') {
      try {
        calls[i][1](r.value);
      } catch (e) {
        errors.push({ message: `Could not show the data: ${e.message}`, unreachable: false });
      }
    } else {
      errors.push(r.reason);
    }
  });

  if (errors.length === 0) {
    state.lastSuccess = new Date();
    $('updated').textContent = `Updated ${clock(state.lastSuccess)}`;
    setStatus(state.interval > 0 ? 'live' : 'paused', state.interval > 0 ? 'Live' : 'Paused');
  } else if (errors.every((e) => e.unreachable)) {
    setStatus('down', 'Unreachable');
  } else {
    setStatus('error', 'API error');
  }
  showError(errors);
  state.loading = false;
  $('refresh').disabled = false;
}

function schedule() {
  clearInterval(state.timer);
  state.timer = null;
  if (state.interval > 0) {
    state.timer = setInterval(() => {
      // A hidden tab does not need fresh numbers; it catches up when shown again.
      if (!document.hidden) load();
    }, state.interval * 1000);
  }
}

const select = $('interval');
if (![...select.options].some((o) => Number(o.value) === state.interval)) {
  select.add(new Option(`${state.interval} s`, String(state.interval)));
}
select.value = String(state.interval);
select.addEventListener('change', () => {
  state.interval = Number(select.value);
  schedule();
  load();
});
$('refresh').addEventListener('click', () => load());
document.addEventListener('visibilitychange', () => {
  if (!document.hidden && state.interval > 0) load();
});
// Keep the relative times ("3 min ago") honest between two loads.
setInterval(() => {
  document.querySelectorAll('#recent time').forEach((t) => { t.textContent = timeAgo(t.getAttribute('datetime')); });
  if (state.status) renderFreshness(state.status);
}, 10000);

// For the end-to-end test and for curious people in the console.
window.dashboard = { load, api, state };

schedule();
load();
