using System.Collections.Immutable;
using System.Text;
using Restgres.Config;
using O = Restgres.Config.ConfigOptions;

namespace Restgres.Cli;

/// <summary>
/// The text printed by <c>restgres --example</c>: every option with its default, in PostgREST's config file format.
/// Lines that are not commented out hold the default, so the file as printed behaves like no file at all. The
/// defaults and what is not implemented come from <see cref="ConfigOptions"/>; this file only says how the options
/// are grouped and explained.
/// </summary>
internal static class ConfigExample
{
    private const string Preamble = """
        ## Restgres configuration file (same format and option names as PostgREST v16).
        ## Every option can also be set from the environment: PGRST_ + the upper-cased name with '-' as '_',
        ## e.g. PGRST_DB_URI. The environment overrides this file. Strings are double-quoted; write '$$' for a
        ## literal '$' in them, '$(NAME)' inserts an environment variable. See docs/configuration.md.
        """;

    private const string AppSettings = """
        ## ---------------------------------------------------------------- Application settings

        ## Any app.settings.NAME is available to SQL as current_setting('app.settings.NAME');
        ## PGRST_APP_SETTINGS_NAME sets it from the environment.
        # app.settings.jwt_exp = "3600"
        """;

    /// <summary>The options, grouped; a commented-out line shows <see cref="Entry.Sample"/>, or the default.</summary>
    internal static readonly ImmutableArray<Section> Sections =
    [
        new("Database",
        [
            new("Connection string, URI or key=value form; '@/path/to/file' reads it from a file.\n"
                + "Unset parts come from the libpq environment (PGHOST, PGUSER, ...).", O.DbUri),
            new("Behind a transaction pooler (PgBouncer pool_mode=transaction, with db-prepared-statements = false):\n"
                + "PostgreSQL itself, for what needs a session (LISTEN, schedule leadership, jobs workers).",
                Sample(O.DbListenerUri, "postgres://authenticator@db-host:5432/app")),
            new("Schemas exposed to clients, comma-separated; the first is the default (pg_catalog and\n"
                + "information_schema are refused).", O.DbSchemas),
            new("Role used for requests without a JWT; when unset, anonymous requests are refused.", Sample(O.DbAnonRole, "anon")),
            new("Schemas appended to the search_path of every request (e.g. for extensions); \"\" for none.", O.DbExtraSearchPath),
            new("Most rows a read returns; unset means no limit.", Sample(O.DbMaxRows, "1000")),
            new("Function called in each request's transaction, after the role and settings are set.",
                Sample(O.DbPreRequest, "api.check_request")),
            new("Function whose JSON result replaces the OpenAPI document at the root path.", Sample(O.DbRootSpec, "api.root")),
            new("How each request's transaction ends: commit, commit-allow-override, rollback,\n"
                + "rollback-allow-override (the -allow-override forms obey the 'Prefer: tx=' header).", O.DbTxEnd),
            new("Function settings allowed to apply to the transaction (SET clauses of called functions).", O.DbHoistedTxSettings),
            new("Allow aggregate functions (count(), sum(), ...) in select=.", O.DbAggregatesEnabled),
            new("Allow 'Accept: application/vnd.pgrst.plan' to return the EXPLAIN plan.", O.DbPlanEnabled),
            new("Prepared statements; turn off behind PgBouncer in transaction pooling mode.", O.DbPreparedStatements),
            new("LISTEN channel for 'NOTIFY pgrst' schema cache and config reloads, and its switch.", O.DbChannel, O.DbChannelEnabled),
            new("Group commit (docs/group-commit.md): POST inserts into these tables ('*' for all) share one\n"
                + "transaction per window of milliseconds or full batch of requests; each keeps its own response.",
                Sample(O.DbGroupCommit, "events, clicks"), O.DbGroupCommitWindow, O.DbGroupCommitMaxRequests, O.DbGroupCommitMaxInflight),
        ]),
        new("Connection pool",
        [
            new("Most connections in the pool.", O.DbPool),
            new("Seconds a request waits for a free connection before failing with 504.", O.DbPoolAcquisitionTimeout),
            new("Seconds after which a connection is recycled, and after which an idle one is closed.",
                O.DbPoolMaxLifetime, O.DbPoolMaxIdletime),
            new("Reconnect when the database connection is lost (false: exit instead).", O.DbPoolAutomaticRecovery),
            new("Read replicas (docs/read-replicas.md): streaming standbys' URIs, comma-separated; GET reads go to a\n"
                + "healthy one, writes stay on db-uri. A replica lagging more than max-lag seconds is taken out.",
                Sample(O.DbReadReplicas, "postgresql://authenticator@replica1/app,postgresql://authenticator@replica2/app"),
                O.DbReadReplicaMaxLag),
        ]),
        new("In-database configuration",
        [
            new("Read pgrst.* settings from the database.", O.DbConfig),
            new("Function that sets pgrst.* settings with set_config().", Sample(O.DbPreConfig, "postgrest.pre_config")),
        ]),
        new("Authentication",
        [
            new("Secret (at least 32 characters), JSON Web Key or key set that verifies JWTs;\n"
                + "'@/path/to/file' reads it from a file. When unset, requests with a JWT are refused.",
                Sample(O.JwtSecret, "reallyreallyreallyreallyverysafe")),
            new("The secret above is base64 (URL-safe characters accepted).", O.JwtSecretIsBase64),
            new("Audience the JWT 'aud' claim must contain, a string or a URI.", Sample(O.JwtAud, "your_audience")),
            new("JSON Path (RFC 9535) of the role in the JWT claims; '$$' because this is a config file.", O.JwtRoleClaimKey),
            new("Size of the JWT validation cache; 0 disables it.", O.JwtCacheMaxEntries),
        ]),
        new("Server",
        [
            new("Address to listen on: a host or IP, or * (any), *4 / !4 (IPv4), *6 / !6 (IPv6).", O.ServerHost),
            new("Port to listen on; 0 picks a free one.", O.ServerPort),
            new("Let several processes share the port (SO_REUSEPORT).", O.ServerReusePort),
            new("Unix socket to listen on instead of the port, and its file mode.",
                Sample(O.ServerUnixSocket, "/tmp/pgrst.sock"), O.ServerUnixSocketMode),
            new("Origins allowed by CORS, comma-separated; unset or \"\" allows any origin.",
                Sample(O.ServerCorsAllowedOrigins, "https://example.com, https://example.org")),
            new("Request header copied to the response for tracing, e.g. X-Request-Id.", Sample(O.ServerTraceHeader, "X-Request-Id")),
            new("Send the Server-Timing header with the time spent in each stage.", O.ServerTimingEnabled),
            new("Extra path prefixes the API is also served under (Restgres only).", Sample(O.ServerPathPrefixes, "/rest/v1")),
            new("Folder served for GET requests that match no API route (Restgres only).", Sample(O.ServerStaticDir, "./public")),
            new("Routes file: old URLs mapped onto the API, see docs/routes.md (Restgres only).", Sample(O.ServerRoutesFile, "./routes.conf")),
            new("Schedules file: cron expressions to SQL statements or API requests, see docs/schedules.md (Restgres only).",
                Sample(O.ServerSchedulesFile, "./schedules.conf")),
            new("Largest request body in bytes; a larger POST/PATCH/PUT body gets 413 (Restgres only; 10 MiB).",
                O.ServerMaxBodySize),
            new("Strong ETag on 200s to GET and HEAD; a matching If-None-Match gets 304 (Restgres only).", O.ServerEtag),
            new("Cache-Control per path, \"path: directives\" separated by ';', * for any other path (Restgres only).",
                Sample(O.ServerCacheControl, "items: public, max-age=60; rpc/stats: no-store")),
            new("Compress responses of at least server-compression-min-size bytes with these codings when the client\n"
                + "accepts them, in order of preference (Restgres only).",
                Sample(O.ServerCompression, "br,gzip"), O.ServerCompressionMinSize),
            new("Server-side response cache per path with a time to live, \"path: ttl\" separated by ';'; writes through\n"
                + "Restgres and NOTIFY on db-channel drop entries; a byte budget with LRU eviction (Restgres only,\n"
                + "docs/response-cache.md).",
                Sample(O.ServerResponseCache, "variant_overview: 30s; rpc/statistics: 5m"), O.ServerResponseCacheSize),
            new("Idempotency-Key on POST and PATCH per path with how long a key is kept, \"path: ttl\" separated by ';':\n"
                + "a retry with the same key gets the stored response; needs 'restgres --schema-sql' installed (Restgres\n"
                + "only, docs/idempotency.md).",
                Sample(O.ServerIdempotency, "orders: 24h; rpc/request_generation: 1h")),
            new("Rate limits by role, role=N/UNIT [per ip|sub|role|claim:PATH] or unlimited, * for any other role;\n"
                + "over the limit: 429 RGST429 with Retry-After (Restgres only; see docs/rate-limits.md).",
                Sample(O.ServerRateLimits, "anon=60/min per ip, analyst=600/min per sub, admin=unlimited")),
            new("Send the RateLimit-Policy and RateLimit fields on allowed responses too (Restgres only).", O.ServerRateLimitHeaders),
            new("Cancel a request's statement and roll back its transaction when its client disconnects; off, as in\n"
                + "PostgREST, a request runs to its end (Restgres only).", O.ServerCancelOnDisconnect),
            new("Where rate-limit buckets live: local (per instance) or database (shared by instances through the\n"
                + "restgres.rate_limit_lease function that 'restgres --schema-sql' prints) (Restgres only).",
                O.ServerRateLimitStore),
            new("Most rate-limit keys held in memory (Restgres only).", O.ServerRateLimitMaxKeys),
            new("Proxies whose X-Forwarded-For names the client for per-ip limits, addresses or CIDR ranges (Restgres only).",
                Sample(O.ServerTrustedProxies, "10.0.0.0/8, ::1")),
        ]),
        new("Durable jobs",
        [
            new("Run the job workers of restgres.define_queue's queues inside the server ('restgres worker' runs them\n"
                + "alone), for the queues listed (all when unset); needs 'restgres schema install' (Restgres only,\n"
                + "docs/jobs.md).", O.JobsEnabled, Sample(O.JobsQueues, "generations, webhooks")),
            new("Milliseconds a running job is held without a heartbeat, and between polls when no NOTIFY arrives\n"
                + "(Restgres only).", O.JobsLease, O.JobsPollInterval),
        ]),
        new("Admin server",
        [
            new("Port of the admin server (/live, /ready, /metrics, /config); disabled when unset.\n"
                + "It cannot be the same as server-port.", Sample(O.AdminServerPort, "3001")),
            new("Address of the admin server; defaults to server-host.", Sample(O.AdminServerHost, "127.0.0.1")),
            new("Unix socket of the admin server, and its file mode.",
                Sample(O.AdminServerUnixSocket, "/tmp/pgrst-admin.sock"), O.AdminServerUnixSocketMode),
        ]),
        new("API behaviour",
        [
            new("OpenAPI output: follow-privileges, ignore-privileges or disabled.", O.OpenApiMode),
            new("Include the security definitions (JWT bearer) in the OpenAPI output.", O.OpenApiSecurityActive),
            new("Base URL used in the OpenAPI output when behind a proxy.",
                Sample(O.OpenApiServerProxyUri, "https://example.com:8443/api")),
            new("Error bodies: verbose (code, message, details, hint) or minimal (code, message).", O.ClientErrorVerbosity),
            new("Allow filtering an embedded resource by its table name even when it has an alias (deprecated).",
                O.UrlUseLegacyTargetNames),
        ]),
        new("Logging",
        [
            new("crit, error (5xx), warn (and 4xx), info (every request) or debug.", O.LogLevel),
            new("Log the SQL of each request at the current log level.", O.LogQuery),
            new("Log line format: text (as PostgREST) or json (Restgres only).", O.LogFormat),
            new("OpenTelemetry traces: off, otlp or console; the OTLP collector, its protocol (grpc or http/protobuf)\n"
                + "and the share of requests traced without a client traceparent; see docs/tracing.md (Restgres only).",
                Sample(O.TraceExporter, "otlp"), Sample(O.TraceOtlpEndpoint, "http://127.0.0.1:4317"), O.TraceOtlpProtocol,
                O.TraceSampleRatio),
        ]),
    ];

    // After Sections, which it reads: static initialisers run in order.
    public static string Text { get; } = Render();

    internal sealed record Section(string Title, ImmutableArray<Block> Blocks);

    /// <summary>Options explained together: the comment (lines separated by '\n') and their lines.</summary>
    internal sealed record Block(string Comment, params ImmutableArray<Entry> Entries);

    /// <param name="Option">The option.</param>
    /// <param name="Sample">The value shown when the line is commented out and the option has no default.</param>
    internal sealed record Entry(ConfigOption Option, string? Sample = null)
    {
        public static implicit operator Entry(ConfigOption option) => new(option);

        /// <summary>Commented out when there is no default to show, or when setting the default would warn that the
        /// option is not implemented yet (a boolean at its default does not).</summary>
        public bool IsCommentedOut => Option.Default is null || (!Option.Implemented && Option.Kind != OptionKind.Boolean);

        public string Line
        {
            get
            {
                var value = IsCommentedOut ? Sample ?? Option.Default : Option.Default;
                var written = Option.Kind == OptionKind.Text ? "\"" + value?.Replace("$", "$$", StringComparison.Ordinal) + "\"" : value;
                return (IsCommentedOut ? "# " : "") + Option.Name + " = " + written;
            }
        }
    }

    private static Entry Sample(ConfigOption option, string sample) => new(option, sample);

    private static string Render()
    {
        var sb = new StringBuilder(Preamble).Append("\n\n");
        foreach (var section in Sections)
        {
            sb.Append("## ---------------------------------------------------------------- ").Append(section.Title).Append("\n\n");
            foreach (var block in section.Blocks)
            {
                var comment = block.Comment;
                if (block.Entries.Any(e => !e.Option.Implemented)) comment += " (Not implemented yet in Restgres.)";
                foreach (var line in comment.Split('\n')) sb.Append("## ").Append(line).Append('\n');
                foreach (var entry in block.Entries) sb.Append(entry.Line).Append('\n');
                sb.Append('\n');
            }
        }
        return sb.Append(AppSettings).ToString();
    }
}
