// The click analytics dashboard: log in or register (the old React client's calls, its token kept in localStorage),
// then clicks per feature and daily clicks from GET /analytics, with date / age / gender filters kept per user in the
// cookie dashboard_filters_<userId>. Every filter change and chart interaction is itself a click sent to POST /track,
// with a fresh event_id so that a retry after a lost answer is counted once.
import { barChart, lineChart } from './charts.js';

const TOKEN_KEY = 'token';
const USER_KEY = 'user';
const ZOOMS = [1, 1.5, 2, 3];
const AGE_GROUPS = ['', '<18', '18-40', '>40'];
const GENDERS = ['', 'Male', 'Female', 'Other'];
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const COOKIE_DAYS = 365;

const $ = (id) => document.getElementById(id);
const body = document.body;

let token = localStorage.getItem(TOKEN_KEY);
let user = readJson(localStorage.getItem(USER_KEY));
let filters = defaultFilters();
let data = { feature_counts: [], daily_counts: [] };
let zoom = 0;
let loadSeq = 0;

function readJson(text) {
  try { return text ? JSON.parse(text) : null; } catch { return null; }
}

function defaultFilters() {
  return { start_date: '', end_date: '', age_group: '', gender: '', feature: '' };
}

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

/** The API's {"detail": ...} as one line (a string, or FastAPI-style list of {msg}). */
function detailOf(json, status) {
  const d = json?.detail ?? json?.message;
  if (typeof d === 'string') return d;
  if (Array.isArray(d)) return d.map((x) => x?.msg ?? String(x)).join('; ');
  return `HTTP ${status}`;
}

async function api(method, path, payload) {
  const headers = { Accept: 'application/json' };
  if (payload !== undefined) headers['Content-Type'] = 'application/json';
  if (token) headers.Authorization = `Bearer ${token}`;
  let res;
  try {
    res = await fetch(path, { method, headers, body: payload === undefined ? undefined : JSON.stringify(payload) });
  } catch {
    throw new ApiError(0, 'The API is unreachable.');
  }
  const json = await res.json().catch(() => null);
  if (!res.ok) throw new ApiError(res.status, detailOf(json, res.status));
  return json;
}

// ------------------------------------------------------------------ session

/** The token's exp claim has passed (then the API would answer 401 anyway). */
function expired(jwt) {
  try {
    const claims = JSON.parse(atob(jwt.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof claims.exp === 'number' && claims.exp * 1000 <= Date.now();
  } catch {
    return true;
  }
}

function signIn(session) {
  token = session.access_token;
  user = session.user;
  localStorage.setItem(TOKEN_KEY, token);
  localStorage.setItem(USER_KEY, JSON.stringify(user));
  showDashboard();
}

function signOut(message) {
  token = null;
  user = null;
  localStorage.removeItem(TOKEN_KEY);
  localStorage.removeItem(USER_KEY);
  showAuth(message);
}

function showAuth(message) {
  $('dashboard').hidden = true;
  $('account').hidden = true;
  $('auth').hidden = false;
  $('error').hidden = true;
  selectTab(false);
  setAuthError(message);
  body.dataset.state = 'auth';
}

function setAuthError(message) {
  $('auth-error').textContent = message ?? '';
  $('auth-error').hidden = !message;
}

function selectTab(register) {
  $('tab-login').setAttribute('aria-selected', String(!register));
  $('tab-register').setAttribute('aria-selected', String(register));
  $('login-form').hidden = register;
  $('register-form').hidden = !register;
  setAuthError();
}

async function submitAuth(event, path, read) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector('button[type=submit]');
  button.disabled = true;
  setAuthError();
  try {
    signIn(await api('POST', path, read(new FormData(form))));
    form.reset();
  } catch (e) {
    setAuthError(e.message);
  } finally {
    button.disabled = false;
  }
}

// ------------------------------------------------------------------ filters, in the user's cookie

function cookieName() {
  return `dashboard_filters_${user.id}`;
}

function saveFilters() {
  document.cookie = `${cookieName()}=${encodeURIComponent(JSON.stringify(filters))}; Path=/; Max-Age=${COOKIE_DAYS * 86400}; SameSite=Lax`;
}

/** The user's saved filters, each checked (a cookie is client input too); anything odd falls back to its default. */
function restoreFilters() {
  const prefix = `${cookieName()}=`;
  const raw = document.cookie.split('; ').find((c) => c.startsWith(prefix));
  let saved = null;
  try {
    saved = raw ? readJson(decodeURIComponent(raw.slice(prefix.length))) : null;
  } catch {
    // A malformed %-escape: the defaults.
  }
  const f = defaultFilters();
  if (saved && typeof saved === 'object') {
    if (DATE.test(saved.start_date)) f.start_date = saved.start_date;
    if (DATE.test(saved.end_date)) f.end_date = saved.end_date;
    if (AGE_GROUPS.includes(saved.age_group)) f.age_group = saved.age_group;
    if (GENDERS.includes(saved.gender)) f.gender = saved.gender;
    if (typeof saved.feature === 'string' && saved.feature.length <= 100) f.feature = saved.feature;
  }
  filters = f;
  $('start-date').value = f.start_date;
  $('end-date').value = f.end_date;
  $('age-group').value = f.age_group;
  $('gender').value = f.gender;
}

/** One filter changed (the name is what /track records): save, track, reload the charts. */
function changeFilters(changes, features) {
  Object.assign(filters, changes);
  saveFilters();
  for (const f of features) track(f);
  load();
}

// ------------------------------------------------------------------ tracking

/** A v4 UUID; crypto.randomUUID exists only on secure origins (https, localhost), getRandomValues everywhere. */
function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * POST /track, in the background: the dashboard never waits for it. A network failure is retried once with the same
 * event_id (the server counts it once); an API refusal is not retried. body[data-tracked] counts acknowledged
 * events and body[data-track-pending] the ones in flight.
 */
async function track(feature) {
  if (!token) return;
  const event = { feature_name: feature, event_id: uuid() };
  body.dataset.trackPending = Number(body.dataset.trackPending) + 1;
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        await api('POST', '/track', event);
        body.dataset.tracked = Number(body.dataset.tracked) + 1;
        return;
      } catch (e) {
        if (e.status === 401) return signOut('Your session has expired: please log in again.');
        if (e.status !== 0 || attempt === 1) return console.warn(`track ${feature}: ${e.message}`);
      }
    }
  } finally {
    body.dataset.trackPending = Number(body.dataset.trackPending) - 1;
  }
}

// ------------------------------------------------------------------ data and charts

function query() {
  const q = new URLSearchParams();
  for (const key of ['start_date', 'end_date', 'age_group', 'gender']) if (filters[key]) q.set(key, filters[key]);
  if (filters.feature) q.set('feature_name', filters.feature);
  return q.toString();
}

async function load() {
  const seq = ++loadSeq;
  body.dataset.state = 'loading';
  try {
    const result = await api('GET', `/analytics?${query()}`);
    if (seq !== loadSeq) return; // a newer filter change is on its way: its answer is the one to show
    data = result;
    $('error').hidden = true;
    render();
    body.dataset.state = 'ready';
  } catch (e) {
    if (seq !== loadSeq) return;
    if (e.status === 401) return signOut('Your session has expired: please log in again.');
    $('error').textContent = e.message;
    $('error').hidden = false;
    body.dataset.state = 'error';
  }
}

function render() {
  const total = data.feature_counts.reduce((sum, c) => sum + c.count, 0);
  $('total').textContent = `${total.toLocaleString('en-US')} clicks`;
  $('total').dataset.value = total;
  $('zoom-level').textContent = `${Math.round(ZOOMS[zoom] * 100)}%`;
  $('zoom-in').disabled = zoom === ZOOMS.length - 1;
  $('zoom-out').disabled = zoom === 0;
  barChart($('bar-chart'), data.feature_counts, {
    width: $('bar-scroll').clientWidth, zoom: ZOOMS[zoom], selected: filters.feature,
    onSelect: (feature) => changeFilters({ feature: feature === filters.feature ? '' : feature }, ['chart_bar']),
  });
  $('line-feature').textContent = filters.feature || 'all features';
  $('all-features').hidden = !filters.feature;
  lineChart($('line-chart'), $('line-tooltip'), data.daily_counts, {
    width: $('line-chart').clientWidth,
    from: filters.start_date || undefined,
    to: filters.end_date || undefined,
    onEnter: () => track('line_chart_hover'),
  });
}

function showDashboard() {
  if (!token || !user || expired(token)) return signOut(token ? 'Your session has expired: please log in again.' : undefined);
  $('auth').hidden = true;
  $('dashboard').hidden = false;
  $('account').hidden = false;
  $('who').textContent = user.username;
  restoreFilters();
  load();
}

function setZoom(next) {
  zoom = next;
  track('bar_chart_zoom');
  render();
}

// ------------------------------------------------------------------ wiring

$('tab-login').addEventListener('click', () => selectTab(false));
$('tab-register').addEventListener('click', () => selectTab(true));
$('login-form').addEventListener('submit', (e) => submitAuth(e, '/auth/login', (f) => ({
  email: f.get('email'), password: f.get('password'),
})));
$('register-form').addEventListener('submit', (e) => submitAuth(e, '/auth/register', (f) => ({
  email: f.get('email'), password: f.get('password'), username: f.get('username'),
  age: Number(f.get('age')), gender: f.get('gender'),
})));
$('logout').addEventListener('click', () => signOut());

$('start-date').addEventListener('change', (e) => changeFilters({ start_date: e.target.value }, ['date_picker']));
$('end-date').addEventListener('change', (e) => changeFilters({ end_date: e.target.value }, ['date_picker']));
$('age-group').addEventListener('change', (e) => changeFilters({ age_group: e.target.value }, ['filter_age']));
$('gender').addEventListener('change', (e) => changeFilters({ gender: e.target.value }, ['filter_gender']));
$('reset-filters').addEventListener('click', () => {
  const changed = [];
  if (filters.start_date || filters.end_date) changed.push('date_picker');
  if (filters.age_group) changed.push('filter_age');
  if (filters.gender) changed.push('filter_gender');
  for (const id of ['start-date', 'end-date', 'age-group', 'gender']) $(id).value = '';
  changeFilters({ start_date: '', end_date: '', age_group: '', gender: '' }, changed);
});
$('all-features').addEventListener('click', () => changeFilters({ feature: '' }, ['chart_bar']));
$('zoom-in').addEventListener('click', () => setZoom(Math.min(zoom + 1, ZOOMS.length - 1)));
$('zoom-out').addEventListener('click', () => setZoom(Math.max(zoom - 1, 0)));

let resizeFrame = 0;
window.addEventListener('resize', () => {
  cancelAnimationFrame(resizeFrame);
  resizeFrame = requestAnimationFrame(() => { if (!$('dashboard').hidden) render(); });
});

if (token) showDashboard();
else showAuth();
