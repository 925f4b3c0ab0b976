// Where the dashboard finds its API, read at page load (not bundled), so a deployment can edit it without a rebuild.
// URL parameters override it for a quick look elsewhere: ?api=https://example.org/rest/v1&key=...&refresh=30
//
// apiUrl   the PostgREST-compatible API; relative means "this server" (restgres dev serves both)
// anonKey  the public anon key: a JWT with role anon signed with the server's jwt-secret, sent Supabase-style as the
//          apikey header and as Authorization: Bearer. This is `restgres dev`'s (fixed claims, dev secret); it is
//          public by design, like any Supabase anon key. Empty: requests go without a token, as role anon.
// refreshSeconds  how often the panels reload without reloading the page (0: only with the Refresh button)
window.DASHBOARD_CONFIG = {
  apiUrl: '/rest/v1',
  anonKey: 'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJyZXN0Z3Jlcy1kZXYiLCJyb2xlIjoiYW5vbiIsImlhdCI6MTc2NzIyNTYwMCwiZXhwIjoyMDgyNzU4NDAwfQ.A4qEH_iF8DgSd1niDYfN_Es-3SuRkHo9fsA8ZP1WdqI',
  refreshSeconds: 15,
};
