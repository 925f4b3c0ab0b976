import { PostgrestClient } from '@supabase/postgrest-js';

// The dashboard's five calls, exactly as a Supabase client makes them (apikey + Authorization: Bearer <anon key>),
// plus the freshness of the aggregates. Each resolves to its data or throws an ApiError saying whether the API was
// unreachable (no HTTP answer) or answered with an error.

export class ApiError extends Error {
  constructor(message, { status = 0, unreachable = false, details = '' } = {}) {
    super(message);
    this.status = status;
    this.unreachable = unreachable;
    this.details = details;
  }
}

const TIMEOUT_MS = 10000;

// fetch with a time limit: a hung server must end as "unreachable", not as a spinner forever.
function fetchWithTimeout(input, init = {}) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
  return fetch(input, { ...init, signal: controller.signal }).finally(() => clearTimeout(timer));
}

export function createApi({ apiUrl, anonKey }) {
  const url = new URL(apiUrl, window.location.href).toString().replace(/\/$/, '');
  const headers = anonKey ? { apikey: anonKey, Authorization: `Bearer ${anonKey}` } : {};
  const client = new PostgrestClient(url, { headers, fetch: fetchWithTimeout });

  async function run(name, query) {
    let result;
    try {
      result = await query;
    } catch (e) {
      throw new ApiError(`${name}: ${e.message}`, { unreachable: true });
    }
    const { data, error, status } = result;
    if (error) {
      // postgrest-js turns a failed fetch into an error with status 0 (or a TypeError message).
      const unreachable = !status;
      throw new ApiError(`${name}: ${error.message || 'request failed'}`, {
        status,
        unreachable,
        details: [error.code, error.details, error.hint].filter(Boolean).join(' · '),
      });
    }
    return data;
  }

  return {
    url,
    overview: () => run('variant_overview', client.rpc('variant_overview', {})),
    funnel: () => run('v_conversion_funnel', client.from('v_conversion_funnel').select('*')),
    recent: (limit = 50) => run('recent_completions', client.rpc('recent_completions', { limit_count: limit })),
    distribution: () => run('completion_time_distribution', client.rpc('completion_time_distribution', {})),
    leaderboard: (variant, limit = 10) =>
      run(`leaderboard ${variant}`, client.rpc('leaderboard', { variant, limit_count: limit })),
    status: () => run('dashboard_status', client.rpc('dashboard_status', {})),
  };
}
