namespace Restgres.Cli;

/// <summary>
/// The text printed by <c>restgres --example</c>: every option with its default, in PostgREST's config file format.
/// Lines that are not commented out hold the default, so the file as printed behaves like no file at all.
/// </summary>
internal static class ConfigExample
{
    public const string Text = """
        ## Restgres configuration file (same format and option names as PostgREST v16).
        ## Every option can also be set from the environment: PGRST_ + the upper-cased name with '-' as '_',
        ## e.g. PGRST_DB_URI. The environment overrides this file. Strings are double-quoted; write '$$' for a
        ## literal '$' in them, '$(NAME)' inserts an environment variable. See docs/configuration.md.

        ## ---------------------------------------------------------------- Database

        ## Connection string, URI or key=value form; '@/path/to/file' reads it from a file.
        ## Unset parts come from the libpq environment (PGHOST, PGUSER, ...).
        db-uri = "postgresql://"

        ## Schemas exposed to clients, comma-separated; the first is the default (pg_catalog and
        ## information_schema are refused).
        db-schemas = "public"

        ## Role used for requests without a JWT; when unset, anonymous requests are refused.
        # db-anon-role = "anon"

        ## Schemas appended to the search_path of every request (e.g. for extensions); "" for none.
        db-extra-search-path = "public"

        ## Most rows a read returns; unset means no limit.
        # db-max-rows = 1000

        ## Function called in each request's transaction, after the role and settings are set.
        # db-pre-request = "api.check_request"

        ## Function whose JSON result replaces the OpenAPI document at the root path.
        # db-root-spec = "api.root"

        ## How each request's transaction ends: commit, commit-allow-override, rollback,
        ## rollback-allow-override (the -allow-override forms obey the 'Prefer: tx=' header).
        db-tx-end = "commit"

        ## Function settings allowed to apply to the transaction (SET clauses of called functions).
        db-hoisted-tx-settings = "statement_timeout, plan_filter.statement_cost_limit, default_transaction_isolation"

        ## Allow aggregate functions (count(), sum(), ...) in select=.
        db-aggregates-enabled = false

        ## Allow 'Accept: application/vnd.pgrst.plan' to return the EXPLAIN plan.
        db-plan-enabled = false

        ## Prepared statements; turn off behind PgBouncer in transaction pooling mode.
        db-prepared-statements = true

        ## LISTEN channel for 'NOTIFY pgrst' schema cache and config reloads, and its switch.
        db-channel = "pgrst"
        db-channel-enabled = true

        ## ---------------------------------------------------------------- Connection pool

        ## Most connections in the pool.
        db-pool = 10

        ## Seconds a request waits for a free connection before failing with 504.
        db-pool-acquisition-timeout = 10

        ## Seconds after which a connection is recycled, and after which an idle one is closed.
        db-pool-max-lifetime = 1800
        db-pool-max-idletime = 30

        ## Reconnect when the database connection is lost (false: exit instead).
        db-pool-automatic-recovery = true

        ## ---------------------------------------------------------------- In-database configuration

        ## Read pgrst.* settings from the database (default true). (Not implemented yet in Restgres.)
        # db-config = true

        ## Function that sets pgrst.* settings with set_config(). (Not implemented yet in Restgres.)
        # db-pre-config = "postgrest.pre_config"

        ## ---------------------------------------------------------------- Authentication

        ## Secret (at least 32 characters), JSON Web Key or key set that verifies JWTs;
        ## '@/path/to/file' reads it from a file. When unset, requests with a JWT are refused.
        # jwt-secret = "reallyreallyreallyreallyverysafe"

        ## The secret above is base64 (URL-safe characters accepted).
        jwt-secret-is-base64 = false

        ## Audience the JWT 'aud' claim must contain, a string or a URI.
        # jwt-aud = "your_audience"

        ## JSON Path (RFC 9535) of the role in the JWT claims; '$$' because this is a config file.
        jwt-role-claim-key = "$$.role"

        ## Size of the JWT validation cache; 0 disables it. (Not implemented yet in Restgres.)
        # jwt-cache-max-entries = 1000

        ## ---------------------------------------------------------------- Server

        ## Address to listen on: a host or IP, or * (any), *4 / !4 (IPv4), *6 / !6 (IPv6).
        server-host = "!4"

        ## Port to listen on; 0 picks a free one.
        server-port = 3000

        ## Let several processes share the port (SO_REUSEPORT). (Not implemented yet in Restgres.)
        server-reuseport = false

        ## Unix socket to listen on instead of the port, and its file mode. (Not implemented yet in Restgres.)
        # server-unix-socket = "/tmp/pgrst.sock"
        # server-unix-socket-mode = "660"

        ## Origins allowed by CORS, comma-separated; unset or "" allows any origin.
        # server-cors-allowed-origins = "https://example.com, https://example.org"

        ## Request header copied to the response for tracing, e.g. X-Request-Id.
        # server-trace-header = "X-Request-Id"

        ## Send the Server-Timing header with the time spent in each stage.
        server-timing-enabled = false

        ## Extra path prefixes the API is also served under (Restgres only).
        # server-path-prefixes = "/rest/v1"

        ## Folder served for GET requests that match no API route (Restgres only).
        # server-static-dir = "./public"

        ## Largest request body in bytes; a larger POST/PATCH/PUT body gets 413 (Restgres only; 10 MiB).
        server-max-body-size = 10485760

        ## ---------------------------------------------------------------- Admin server

        ## Port of the admin server (/live, /ready, /metrics, /config); disabled when unset.
        ## It cannot be the same as server-port.
        # admin-server-port = 3001

        ## Address of the admin server; defaults to server-host.
        # admin-server-host = "127.0.0.1"

        ## Unix socket of the admin server, and its file mode. (Not implemented yet in Restgres.)
        # admin-server-unix-socket = "/tmp/pgrst-admin.sock"
        # admin-server-unix-socket-mode = "660"

        ## ---------------------------------------------------------------- API behaviour

        ## OpenAPI output: follow-privileges, ignore-privileges or disabled.
        openapi-mode = "follow-privileges"

        ## Include the security definitions (JWT bearer) in the OpenAPI output.
        openapi-security-active = false

        ## Base URL used in the OpenAPI output when behind a proxy.
        # openapi-server-proxy-uri = "https://example.com:8443/api"

        ## Error bodies: verbose (code, message, details, hint) or minimal (code, message).
        client-error-verbosity = "verbose"

        ## Allow filtering an embedded resource by its table name even when it has an alias (deprecated).
        url-use-legacy-target-names = true

        ## ---------------------------------------------------------------- Logging

        ## crit, error (5xx), warn (and 4xx), info (every request) or debug.
        log-level = "error"

        ## Log the SQL of each request at the current log level.
        log-query = false

        ## Log line format: text (as PostgREST) or json (Restgres only).
        log-format = "text"

        ## ---------------------------------------------------------------- Application settings

        ## Any app.settings.NAME is available to SQL as current_setting('app.settings.NAME');
        ## PGRST_APP_SETTINGS_NAME sets it from the environment.
        # app.settings.jwt_exp = "3600"
        """;
}
