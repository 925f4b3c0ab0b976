using System.Collections.Immutable;
using static Restgres.Config.OptionTypes;

namespace Restgres.Config;

/// <summary>
/// Every option, once: PostgREST v16's (Config.hs, docs: references/configuration.rst) and Restgres's own. An option
/// is an entry here, an <see cref="AppConfig"/> property that holds its value (its initial value is the entry's
/// <c>DefaultValue</c>), and its use. The entries are in the order of PostgREST's parser, which is the order they are
/// read in, so that of several invalid values the one reported is the one PostgREST reports.
/// </summary>
internal static class ConfigOptions
{
    public static readonly ConfigOption<ErrorVerbosity> ClientErrorVerbosity = new("client-error-verbosity",
        Choice("Invalid client-error-verbosity. Check your configuration.",
            ("verbose", ErrorVerbosity.Verbose), ("minimal", ErrorVerbosity.Minimal)),
        c => c.ClientErrorVerbosity, (c, v) => c with { ClientErrorVerbosity = v })
    {
        Default = "verbose",
        Doc = "`verbose` (code, message, details, hint) or `minimal` (code, message).",
        InDatabase = true,
    };

    public static readonly ConfigOption<bool> DbAggregatesEnabled = new("db-aggregates-enabled", Bool,
        c => c.DbAggregatesEnabled, (c, v) => c with { DbAggregatesEnabled = v })
    {
        Default = "false",
        Doc = "Allow aggregate functions in `select=`.",
        InDatabase = true,
    };

    public static readonly ConfigOption<string?> DbAnonRole = new("db-anon-role", OptionalText,
        c => c.DbAnonRole, (c, v) => c with { DbAnonRole = v })
    {
        Doc = "Role for requests without a JWT; unset refuses them.",
        InDatabase = true,
    };

    public static readonly ConfigOption<string> DbChannel = new("db-channel", Text,
        c => c.DbChannel, (c, v) => c with { DbChannel = v })
    {
        Default = "pgrst",
        Doc = "LISTEN channel for schema cache and config reloads.",
        Reloadable = false,
    };

    public static readonly ConfigOption<bool> DbChannelEnabled = new("db-channel-enabled", Bool,
        c => c.DbChannelEnabled, (c, v) => c with { DbChannelEnabled = v })
    {
        Default = "true",
        Doc = "Listen on `db-channel`.",
    };

    public static readonly ConfigOption<ImmutableArray<string>> DbExtraSearchPath = new("db-extra-search-path",
        // The one option where "" is a value: the empty list.
        TextOrEmpty.Then((_, s) => s.Length == 0 ? [] : SplitOnCommas(s), JoinList),
        c => c.DbExtraSearchPath, (c, v) => c with { DbExtraSearchPath = v })
    {
        Default = "public",
        Doc = "Schemas added to every request's `search_path`; `\"\"` for none.",
        InDatabase = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> DbHoistedTxSettings = new("db-hoisted-tx-settings",
        CommaList, c => c.DbHoistedTxSettings, (c, v) => c with { DbHoistedTxSettings = v })
    {
        Default = "statement_timeout, plan_filter.statement_cost_limit, default_transaction_isolation",
        Doc = "Function `SET` settings applied to the whole transaction.",
        InDatabase = true,
    };

    public static readonly ConfigOption<long?> DbMaxRows = new("db-max-rows", OptionalLong,
        c => c.DbMaxRows, (c, v) => c with { DbMaxRows = v })
    {
        OldNames = ["max-rows"],
        Doc = "Most rows a read returns; unset: no limit.",
        InDatabase = true,
    };

    public static readonly ConfigOption<bool> DbPlanEnabled = new("db-plan-enabled", Bool,
        c => c.DbPlanEnabled, (c, v) => c with { DbPlanEnabled = v })
    {
        Default = "false",
        Doc = "Allow `Accept: application/vnd.pgrst.plan`.",
        InDatabase = true,
    };

    public static readonly ConfigOption<int> DbPool = new("db-pool",
        Int.Then((option, n) => n >= 1 ? n : throw Invalid(option, $"Invalid {option}: {n}, the pool needs at least one connection"),
            n => Invariant(n)),
        c => c.DbPool, (c, v) => c with { DbPool = v })
    {
        Default = "10",
        Doc = "Most connections in the pool (at least 1).",
        Reloadable = false,
    };

    public static readonly ConfigOption<int> DbPoolAcquisitionTimeout = new("db-pool-acquisition-timeout", NonNegative,
        c => c.DbPoolAcquisitionTimeout, (c, v) => c with { DbPoolAcquisitionTimeout = v })
    {
        Default = "10",
        Doc = "Seconds to wait for a pooled connection before a 504.",
        Reloadable = false,
    };

    public static readonly ConfigOption<int> DbPoolMaxLifetime = new("db-pool-max-lifetime", NonNegative,
        c => c.DbPoolMaxLifetime, (c, v) => c with { DbPoolMaxLifetime = v })
    {
        Default = "1800",
        Doc = "Seconds before a connection is recycled.",
        Reloadable = false,
    };

    public static readonly ConfigOption<int> DbPoolMaxIdletime = new("db-pool-max-idletime", NonNegative,
        c => c.DbPoolMaxIdletime, (c, v) => c with { DbPoolMaxIdletime = v })
    {
        OldNames = ["db-pool-timeout"],
        OldNamesFirst = true,
        Default = "30",
        Doc = "Seconds before an idle connection is closed.",
        Reloadable = false,
    };

    public static readonly ConfigOption<bool> DbPoolAutomaticRecovery = new("db-pool-automatic-recovery", Bool,
        c => c.DbPoolAutomaticRecovery, (c, v) => c with { DbPoolAutomaticRecovery = v })
    {
        Default = "true",
        Doc = "Reconnect when the connection is lost; `false` exits instead.",
    };

    public static readonly ConfigOption<QualifiedName?> DbPreRequest = new("db-pre-request", FunctionName,
        c => c.DbPreRequest, (c, v) => c with { DbPreRequest = v })
    {
        OldNames = ["pre-request"],
        Doc = "Function called in every request's transaction.",
        InDatabase = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> DbGroupCommit = new("db-group-commit", CommaList,
        c => c.DbGroupCommit, (c, v) => c with { DbGroupCommit = v })
    {
        UnsetValue = [],
        Doc = "Group commit (docs/group-commit.md): `POST` inserts into these tables (comma-separated names as in the API "
            + "path, or `schema.name`; `*` for every table) and `POST` calls of the volatile functions named `rpc/name` "
            + "that arrive within `db-group-commit-window` share one transaction, one commit, each with its own "
            + "statements and response. Unset: off.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> DbGroupCommitWindow = new("db-group-commit-window", NonNegative,
        c => c.DbGroupCommitWindow, (c, v) => c with { DbGroupCommitWindow = v })
    {
        Default = "2",
        Doc = "Milliseconds a group-commit batch waits for more inserts after its first one.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> DbGroupCommitMaxRequests = new("db-group-commit-max-requests",
        Int.Then((option, n) => n >= 1 ? n : throw Invalid(option, $"Invalid {option}: {n}, a batch holds at least one request"),
            n => Invariant(n)),
        c => c.DbGroupCommitMaxRequests, (c, v) => c with { DbGroupCommitMaxRequests = v })
    {
        Default = "200",
        Doc = "Most inserts in one group-commit batch: a full batch commits without waiting for the window to end.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> DbGroupCommitMaxInflight = new("db-group-commit-max-inflight", NonNegative,
        c => c.DbGroupCommitMaxInflight, (c, v) => c with { DbGroupCommitMaxInflight = v })
    {
        Default = "4",
        Doc = "Most group-commit batches of one kind (same table or function, role and settings) committing at once; "
            + "requests that arrive while that many commit wait and go together as soon as one returns (classic group "
            + "commit: the commit's own latency is the window). 0: no bound, each batch goes when its window ends or it is full.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> DbReadReplicas = new("db-read-replicas",
        CommaList.Then(ParseReplicaUris, JoinList),
        c => c.DbReadReplicas, (c, v) => c with { DbReadReplicas = v })
    {
        UnsetValue = [],
        Doc = "Streaming standbys' connection URIs, comma-separated: GET/HEAD reads and GET calls of stable functions go "
            + "to a healthy one (docs/read-replicas.md). Unset: everything on `db-uri`.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> DbReadReplicaMaxLag = new("db-read-replica-max-lag", NonNegative,
        c => c.DbReadReplicaMaxLag, (c, v) => c with { DbReadReplicaMaxLag = v })
    {
        Default = "30",
        Doc = "Seconds of replay lag after which a read replica is taken out until it catches up.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<bool> DbPreparedStatements = new("db-prepared-statements", Bool,
        c => c.DbPreparedStatements, (c, v) => c with { DbPreparedStatements = v })
    {
        Default = "true",
        Doc = "Use prepared statements (turn off behind PgBouncer transaction pooling).",
        Reloadable = false,
        InDatabase = true,
    };

    public static readonly ConfigOption<QualifiedName?> DbRootSpec = new("db-root-spec", FunctionName,
        c => c.DbRootSpec, (c, v) => c with { DbRootSpec = v })
    {
        OldNames = ["root-spec"],
        Doc = "Function whose result replaces the OpenAPI document.",
        InDatabase = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> DbSchemas = new("db-schemas",
        Text.Then((option, s) =>
        {
            var schemas = SplitOnCommas(s);
            foreach (var forbidden in (ReadOnlySpan<string>)["pg_catalog", "information_schema"])
            {
                if (schemas.Contains(forbidden))
                    throw Invalid(option, $"db-schemas does not allow schema: '{forbidden}'");
            }
            return schemas;
        }, JoinList),
        c => c.DbSchemas, (c, v) => c with { DbSchemas = v })
    {
        OldNames = ["db-schema"],
        Default = "public",
        Doc = "Exposed schemas; the first is the default. `pg_catalog` and `information_schema` are refused.",
        InDatabase = true,
    };

    public static readonly ConfigOption<bool> DbConfig = new("db-config", Bool,
        c => c.DbConfig, (c, v) => c with { DbConfig = v })
    {
        Default = "true",
        Doc = "Read `pgrst.*` settings from the database.",
    };

    public static readonly ConfigOption<QualifiedName?> DbPreConfig = new("db-pre-config", FunctionName,
        c => c.DbPreConfig, (c, v) => c with { DbPreConfig = v })
    {
        Doc = "Function that sets `pgrst.*` settings (in-database config).",
        InDatabase = true,
    };

    public static readonly ConfigOption<TxEnd> DbTxEnd = new("db-tx-end",
        Choice("Invalid transaction termination. Check your configuration. (db-tx-end)",
            ("commit", TxEnd.Commit), ("commit-allow-override", TxEnd.CommitAllowOverride),
            ("rollback", TxEnd.Rollback), ("rollback-allow-override", TxEnd.RollbackAllowOverride)),
        c => c.DbTxEnd, (c, v) => c with { DbTxEnd = v })
    {
        Default = "commit",
        Doc = "`commit`, `commit-allow-override`, `rollback`, `rollback-allow-override`.",
        Reloadable = false,
        InDatabase = true,
    };

    /// <summary>An <c>@file</c> value is read after all options, as PostgREST's decodeLoadFiles does.</summary>
    public static readonly ConfigOption<string> DbUri = new("db-uri", Text,
        c => c.DbUri, (c, v) => c with { DbUri = v })
    {
        Default = "postgresql://",
        Doc = "Connection string (URI or key=value; libpq `PG*` variables fill the rest); `@file` reads it from a file.",
        Reloadable = false,
    };

    /// <summary>
    /// Where the connections that need a session go (Execution/DataSources.cs ListenerConnectionString): the
    /// db-channel LISTEN, the scheduler's advisory-lock leadership, the jobs workers' LISTEN. Behind a transaction
    /// pooler (PgBouncer pool_mode=transaction) db-uri names the pooler and this names PostgreSQL itself, as
    /// PostgREST's docs tell its users to do with a second instance (docs/scale-out.md). An <c>@file</c> value is read
    /// after all options, as db-uri's.
    /// </summary>
    public static readonly ConfigOption<string?> DbListenerUri = new("db-listener-uri", OptionalText,
        c => c.DbListenerUri, (c, v) => c with { DbListenerUri = v })
    {
        Doc = "Connection string for what needs a session (the `db-channel` LISTEN, schedule leadership, jobs "
            + "workers); unset uses `db-uri`. Set it to PostgreSQL itself when `db-uri` is a transaction pooler.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<string?> JwtAud = new("jwt-aud",
        Checked(s => !s.Contains(':', StringComparison.Ordinal) || Uris.IsUri(s), _ => "jwt-aud should be a string or a valid URI"),
        c => c.JwtAud, (c, v) => c with { JwtAud = v })
    {
        Doc = "Audience the JWT `aud` claim must match; a string, or a valid URI if it contains `:`.",
        InDatabase = true,
    };

    public static readonly ConfigOption<RoleClaimPath> JwtRoleClaimKey = new("jwt-role-claim-key",
        Text.Then((_, s) => RoleClaimPath.Parse(s), p => p.Text),
        c => c.JwtRoleClaimPath, (c, v) => c with { JwtRoleClaimKey = v.Text, JwtRoleClaimPath = v })
    {
        OldNames = ["role-claim-key"],
        Default = "$.role",
        Doc = "JSON Path (RFC 9535) of the role in the claims; write `$$` for `$` in the file. The v14 form (`.role`) "
            + "still works with a deprecation warning.",
        InDatabase = true,
    };

    /// <summary>An <c>@file</c> value, the base64 decoding and the length check come after all options, as
    /// PostgREST's decodeLoadFiles does.</summary>
    public static readonly ConfigOption<string?> JwtSecret = new("jwt-secret", OptionalText,
        c => c.JwtSecret, (c, v) => c with { JwtSecret = v })
    {
        Doc = "Shared secret (32+ characters), JWK or JWK set; `@file` reads it from a file.",
        InDatabase = true,
    };

    public static readonly ConfigOption<bool> JwtSecretIsBase64 = new("jwt-secret-is-base64", Bool,
        c => c.JwtSecretIsBase64, (c, v) => c with { JwtSecretIsBase64 = v })
    {
        OldNames = ["secret-is-base64"],
        Default = "false",
        Doc = "The secret is base64 (URL-safe characters accepted).",
        InDatabase = true,
    };

    // PostgREST's dbSettingsNames has jwt_cache_max_lifetime, the name before the rename, which no option reads:
    // this option cannot be set in the database there, nor here.
    public static readonly ConfigOption<int> JwtCacheMaxEntries = new("jwt-cache-max-entries", Int,
        c => c.JwtCacheMaxEntries, (c, v) => c with { JwtCacheMaxEntries = v })
    {
        Default = "1000",
        Doc = "Size of the JWT validation cache; 0 disables it.",
    };

    public static readonly ConfigOption<LogLevel> LogLevel = new("log-level",
        Choice("Invalid logging level. Check your configuration. (log-level)",
            ("crit", Config.LogLevel.Crit), ("error", Config.LogLevel.Error), ("warn", Config.LogLevel.Warn),
            ("info", Config.LogLevel.Info), ("debug", Config.LogLevel.Debug)),
        c => c.LogLevel, (c, v) => c with { LogLevel = v })
    {
        Default = "error",
        Doc = "`crit`, `error`, `warn`, `info` or `debug`.",
    };

    public static readonly ConfigOption<bool> LogQuery = new("log-query", Bool,
        c => c.LogQuery, (c, v) => c with { LogQuery = v })
    {
        Default = "false",
        Doc = "Log each request's SQL.",
    };

    public static readonly ConfigOption<OpenApiMode> OpenApiMode = new("openapi-mode",
        Choice("Invalid openapi-mode. Check your configuration.",
            ("follow-privileges", Config.OpenApiMode.FollowPrivileges),
            ("ignore-privileges", Config.OpenApiMode.IgnorePrivileges), ("disabled", Config.OpenApiMode.Disabled)),
        c => c.OpenApiMode, (c, v) => c with { OpenApiMode = v })
    {
        Default = "follow-privileges",
        Doc = "`follow-privileges`, `ignore-privileges` or `disabled`.",
        InDatabase = true,
    };

    public static readonly ConfigOption<bool> OpenApiSecurityActive = new("openapi-security-active", Bool,
        c => c.OpenApiSecurityActive, (c, v) => c with { OpenApiSecurityActive = v })
    {
        Default = "false",
        Doc = "Include security definitions in the OpenAPI output.",
        InDatabase = true,
    };

    public static readonly ConfigOption<string?> OpenApiServerProxyUri = new("openapi-server-proxy-uri",
        Checked(Uris.IsValidProxyUri,
            _ => "Malformed proxy uri, a correct example: https://example.com:8443/basePath (openapi-server-proxy-uri)"),
        c => c.OpenApiServerProxyUri, (c, v) => c with { OpenApiServerProxyUri = v })
    {
        Doc = "Base URL for the OpenAPI output: absolute `http(s)` URI, no user info, query or fragment.",
        Reloadable = false,
        InDatabase = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> ServerCorsAllowedOrigins = new(
        "server-cors-allowed-origins", CommaList,
        c => c.ServerCorsAllowedOrigins, (c, v) => c with { ServerCorsAllowedOrigins = v })
    {
        // As in PostgREST, unset and "" both mean no list: any origin is allowed.
        UnsetValue = [],
        Doc = "Allowed CORS origins, comma-separated; unset or `\"\"` allows any. An entry `scheme://*.domain` also "
            + "allows every subdomain of `domain` (Restgres).",
        InDatabase = true,
    };

    public static readonly ConfigOption<string> ServerHost = new("server-host", Text,
        c => c.ServerHost, (c, v) => c with { ServerHost = v })
    {
        Default = "!4",
        Doc = "Listen address: a host/IP, or `*`, `*4`, `!4`, `*6`, `!6`.",
        Reloadable = false,
    };

    public static readonly ConfigOption<int> ServerPort = new("server-port", Port,
        c => c.ServerPort, (c, v) => c with { ServerPort = v })
    {
        Default = "3000",
        Doc = "Listen port, 0 to 65535 (0 picks a free port).",
        Reloadable = false,
    };

    public static readonly ConfigOption<bool> ServerReusePort = new("server-reuseport", Bool,
        c => c.ServerReusePort, (c, v) => c with { ServerReusePort = v })
    {
        Default = "false",
        Doc = "`SO_REUSEPORT` on the listening socket.",
        Reloadable = false,
    };

    public static readonly ConfigOption<string?> ServerTraceHeader = new("server-trace-header", OptionalText,
        c => c.ServerTraceHeader, (c, v) => c with { ServerTraceHeader = v })
    {
        Doc = "Request header echoed in the response for tracing.",
        InDatabase = true,
    };

    public static readonly ConfigOption<bool> ServerTimingEnabled = new("server-timing-enabled", Bool,
        c => c.ServerTimingEnabled, (c, v) => c with { ServerTimingEnabled = v })
    {
        Default = "false",
        Doc = "Send the `Server-Timing` header.",
        InDatabase = true,
    };

    public static readonly ConfigOption<string?> ServerUnixSocket = new("server-unix-socket", OptionalText,
        c => c.ServerUnixSocket, (c, v) => c with { ServerUnixSocket = v })
    {
        Doc = "Unix socket to listen on instead of the port.",
        Reloadable = false,
    };

    public static readonly ConfigOption<int> ServerUnixSocketMode = new("server-unix-socket-mode", SocketMode,
        c => c.ServerUnixSocketMode, (c, v) => c with { ServerUnixSocketMode = v })
    {
        Default = "660",
        Doc = "Octal file mode of that socket, 600 to 777.",
        Reloadable = false,
    };

    public static readonly ConfigOption<bool> UrlUseLegacyTargetNames = new("url-use-legacy-target-names", Bool,
        c => c.UrlUseLegacyTargetNames, (c, v) => c with { UrlUseLegacyTargetNames = v })
    {
        Default = "true",
        Doc = "Allow an aliased embed to be filtered by its table name (deprecated).",
        InDatabase = true,
    };

    public static readonly ConfigOption<string> AdminServerHost = new("admin-server-host", Text,
        c => c.AdminServerHost, (c, v) => c with { AdminServerHost = v })
    {
        DefaultFrom = ServerHost,
        Doc = "Address of the admin server.",
        Reloadable = false,
    };

    public static readonly ConfigOption<int?> AdminServerPort = new("admin-server-port",
        Port.Then<int?>((_, n) => n, n => n is { } v ? Invariant(v) : null),
        c => c.AdminServerPort, (c, v) => c with { AdminServerPort = v })
    {
        Check = (port, c) =>
        {
            if (port == c.ServerPort) throw Invalid("admin-server-port", "admin-server-port cannot be the same as server-port");
        },
        Doc = "Port of the admin server (`/live`, `/ready`, ...); unset: no admin server. Cannot equal `server-port`.",
        Reloadable = false,
    };

    public static readonly ConfigOption<string?> AdminServerUnixSocket = new("admin-server-unix-socket", OptionalText,
        c => c.AdminServerUnixSocket, (c, v) => c with { AdminServerUnixSocket = v })
    {
        Doc = "Unix socket for the admin server, instead of the port.",
        Reloadable = false,
    };

    public static readonly ConfigOption<int> AdminServerUnixSocketMode = new("admin-server-unix-socket-mode", SocketMode,
        c => c.AdminServerUnixSocketMode, (c, v) => c with { AdminServerUnixSocketMode = v })
    {
        Default = "660",
        Doc = "Octal file mode of that socket, 600 to 777.",
        Reloadable = false,
    };

    public static readonly ConfigOption<int?> InternalSchemaCacheQuerySleepBeforeQueries = new(
        "internal-schema-cache-query-sleep-before-queries", OptionalInt,
        c => c.InternalSchemaCacheQuerySleepBeforeQueries, (c, v) => c with { InternalSchemaCacheQuerySleepBeforeQueries = v })
    {
        Doc = "PostgREST's test hook: milliseconds to sleep before the schema cache queries.",
        Internal = true,
    };

    public static readonly ConfigOption<int?> InternalSchemaCacheQuerySleep = new(
        "internal-schema-cache-query-sleep", OptionalInt,
        c => c.InternalSchemaCacheQuerySleep, (c, v) => c with { InternalSchemaCacheQuerySleep = v })
    {
        Doc = "PostgREST's test hook: milliseconds to sleep in the schema cache transaction after its queries.",
        Internal = true,
    };

    // Beyond PostgREST.

    public static readonly ConfigOption<string> LogFormat = new("log-format",
        Text.Then(
            (option, s) => s is "text" or "json" ? s : throw Invalid(option, $"Invalid log-format '{s}'. Admitted values: text, json."),
            s => s),
        c => c.LogFormat, (c, v) => c with { LogFormat = v })
    {
        Default = "text",
        Doc = "`text` (PostgREST's lines) or `json` (one structured line per request).",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> ServerPathPrefixes = new("server-path-prefixes",
        Text.Then(ParsePathPrefixes, JoinList),
        c => c.ServerPathPrefixes, (c, v) => c with { ServerPathPrefixes = v })
    {
        UnsetValue = [],
        Doc = "Extra path prefixes the API is also served under, comma-separated, e.g. `/rest/v1`. Each starts with `/`, "
            + "has no trailing `/`, `?`, `#` or spaces.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<string?> ServerStaticDir = new("server-static-dir",
        Checked(Directory.Exists, s => $"Invalid server-static-dir: '{s}' is not a directory"),
        c => c.ServerStaticDir, (c, v) => c with { ServerStaticDir = v })
    {
        Doc = "An existing folder served for GET requests that match no API route. Never served: dot-files and anything "
            + "under a dot-directory (`.git/`, `.vite/`), and files whose real path (symbolic links resolved) is outside "
            + "the folder; links that stay inside it are followed.",
        Reloadable = false,
        RestgresOnly = true,
    };

    /// <summary>PostgREST has no limit and buffers any body; a default bounds what one request can make the server
    /// hold.</summary>
    public static readonly ConfigOption<long> ServerMaxBodySize = new("server-max-body-size",
        Long.Then((option, n) => n >= 1 ? n : throw Invalid(option, $"Invalid {option}: {n} is not a positive number of bytes"),
            n => Invariant(n)),
        c => c.ServerMaxBodySize, (c, v) => c with { ServerMaxBodySize = v })
    {
        Default = "10485760",
        Doc = "Largest request body in bytes (10 MiB by default). A POST/PATCH/PUT whose `Content-Length` (or chunked "
            + "body) is larger gets 413 `PGRST102` before it is read; GET, HEAD, DELETE and OPTIONS bodies are never read. "
            + "PostgREST has no limit.",
        RestgresOnly = true,
    };

    /// <summary>Read when the config loads, so the routes are part of the config snapshot: a reload re-reads the file,
    /// and a file that fails keeps the old config.</summary>
    public static readonly ConfigOption<Routing.RouteTable?> ServerRoutesFile = new("server-routes-file",
        Text.Then<Routing.RouteTable?>((_, path) => Routing.RouteFile.Load(path), t => t?.Path),
        c => c.ServerRoutes, (c, v) => c with { ServerRoutes = v })
    {
        Doc = "A routes file (docs/routes.md): old URLs (method + path template) mapped onto API requests with fixed "
            + "query parameters and headers, and a per-route error shape. A relative path is from the working directory.",
        RestgresOnly = true,
    };

    /// <summary>Read when the config loads, as the routes file: an invalid cron expression stops startup naming the file
    /// and line, and a reload re-reads the file.</summary>
    public static readonly ConfigOption<Schedules.ScheduleTable?> ServerSchedulesFile = new("server-schedules-file",
        Text.Then<Schedules.ScheduleTable?>((_, path) => Schedules.ScheduleFile.Load(path), t => t?.Path),
        c => c.ServerSchedules, (c, v) => c with { ServerSchedules = v })
    {
        Doc = "A schedules file (docs/schedules.md): cron expressions (UTC) → a SQL statement or an API request. SQL jobs "
            + "are registered with pg_cron when it is installed in the database; the others are run by one Restgres "
            + "instance at a time (advisory-lock leadership). Each run is logged in `restgres.schedule_runs`.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<bool> ServerEtag = new("server-etag", Bool,
        c => c.ServerEtag, (c, v) => c with { ServerEtag = v })
    {
        Default = "false",
        Doc = "Strong `ETag` (XxHash128 of the body) on 200 responses to GET and HEAD (HEAD then runs the GET's query "
            + "to hash its body); a matching `If-None-Match` gets 304 with no body. A compressed body's tag has the "
            + "coding appended (`\"…-gzip\"`). An `ETag` set through `response.headers` is kept and compared instead.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<CacheControlRules?> ServerCacheControl = new("server-cache-control",
        Text.Then<CacheControlRules?>((option, s) => CacheControlRules.Parse(option, s), r => r?.ToString()),
        c => c.ServerCacheControl, (c, v) => c with { ServerCacheControl = v })
    {
        Doc = "`Cache-Control` per path, `;`-separated `path: directives`, e.g. `items: public, max-age=60; rpc/stats: "
            + "no-store; *: no-cache` (`*`: any other path). Added to 2xx/304 responses to GET and HEAD, with "
            + "`Authorization` added to `Vary`, unless the database set `Cache-Control` through `response.headers`.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> ServerCompression = new("server-compression",
        Text.Then(ParseCodings, JoinList),
        c => c.ServerCompression, (c, v) => c with { ServerCompression = v })
    {
        UnsetValue = [],
        Doc = "Content codings to compress responses with, in order of preference: `gzip`, `br` or both (`br,gzip`), "
            + "negotiated with `Accept-Encoding` (q-values, `*`, `identity;q=0`); `Vary: Accept-Encoding` is added. "
            + "Never for HEAD, 204/304, `text/event-stream`, or a body the database already encoded. Unset: off.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> ServerCompressionMinSize = new("server-compression-min-size", NonNegative,
        c => c.ServerCompressionMinSize, (c, v) => c with { ServerCompressionMinSize = v })
    {
        Default = "1024",
        Doc = "Smallest body in bytes that `server-compression` compresses.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<TraceExporter> TraceExporter = new("trace-exporter",
        Choice("Invalid trace-exporter. Admitted values: off, otlp, console.",
            ("off", Config.TraceExporter.Off), ("otlp", Config.TraceExporter.Otlp), ("console", Config.TraceExporter.Console)),
        c => c.TraceExporter, (c, v) => c with { TraceExporter = v })
    {
        Default = "off",
        Doc = "OpenTelemetry traces (docs/tracing.md): `otlp` exports a span per request (method, route, role, status) "
            + "with the database work as child spans, honouring the client's W3C `traceparent`; `console` prints them; "
            + "`off` creates none. Read at startup.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<string?> TraceOtlpEndpoint = new("trace-otlp-endpoint", OptionalText,
        c => c.TraceOtlpEndpoint, (c, v) => c with { TraceOtlpEndpoint = v })
    {
        Doc = "The OTLP collector for `trace-exporter = otlp`, e.g. `http://127.0.0.1:4317` (gRPC) or "
            + "`http://127.0.0.1:4318/v1/traces` (`http/protobuf`). Unset: `OTEL_EXPORTER_OTLP_ENDPOINT`, else the "
            + "OpenTelemetry default (`http://localhost:4317`).",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<OtlpProtocol> TraceOtlpProtocol = new("trace-otlp-protocol",
        Choice("Invalid trace-otlp-protocol. Admitted values: grpc, http/protobuf.",
            ("grpc", Config.OtlpProtocol.Grpc), ("http/protobuf", Config.OtlpProtocol.HttpProtobuf)),
        c => c.TraceOtlpProtocol, (c, v) => c with { TraceOtlpProtocol = v })
    {
        Default = "grpc",
        Doc = "`grpc` or `http/protobuf`: how spans are sent to `trace-otlp-endpoint`.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<double> TraceSampleRatio = new("trace-sample-ratio",
        Text.Then(
            (option, s) => double.TryParse(s, System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var r)
                && r is >= 0 and <= 1
                ? r
                : throw Invalid(option, $"Invalid trace-sample-ratio '{s}': a number from 0 to 1."),
            r => r.ToString(System.Globalization.CultureInfo.InvariantCulture)),
        c => c.TraceSampleRatio, (c, v) => c with { TraceSampleRatio = v })
    {
        Default = "1",
        Doc = "The share of requests traced when the client sends no `traceparent` (a client's sampled flag is followed).",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<PathTtlRules?> ServerResponseCache = new("server-response-cache",
        Text.Then<PathTtlRules?>((option, s) => PathTtlRules.Parse(option, s), r => r?.ToString()),
        c => c.ServerResponseCache, (c, v) => c with { ServerResponseCache = v })
    {
        Doc = "Server-side response cache (docs/response-cache.md) per path with a time to live, `;`-separated `path: ttl`, "
            + "e.g. `variant_overview: 30s; rpc/statistics: 5m` (paths as in `server-cache-control`; ttl in `ms`, `s`, `m`, "
            + "`h`, `d`). Only 200s to GET and HEAD, keyed by method, path and query, role, JWT claims, `Accept`, "
            + "`Accept-Profile`, `Prefer` and `Range`; writes through Restgres and `NOTIFY` on `db-channel` drop entries "
            + "of the relations they touch. Unset: off.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<long> ServerResponseCacheSize = new("server-response-cache-size",
        Long.Then((option, n) => n >= 1 ? n : throw Invalid(option, $"Invalid {option}: {n} is not a positive number of bytes"),
            n => Invariant(n)),
        c => c.ServerResponseCacheSize, (c, v) => c with { ServerResponseCacheSize = v })
    {
        Default = "67108864",
        Doc = "Byte budget of `server-response-cache` (64 MiB by default): least recently used entries are evicted "
            + "beyond it; a response larger than a quarter of it is not stored.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<PathTtlRules?> ServerIdempotency = new("server-idempotency",
        Text.Then<PathTtlRules?>((option, s) => PathTtlRules.Parse(option, s), r => r?.ToString()),
        c => c.ServerIdempotency, (c, v) => c with { ServerIdempotency = v })
    {
        Doc = "`Idempotency-Key` on POST and PATCH (docs/idempotency.md) per path with how long a key is kept, "
            + "`;`-separated `path: ttl`, e.g. `orders: 24h; rpc/request_generation: 1h` (paths as in "
            + "`server-cache-control`, a route by the API path it rewrites to). A committed write's response is stored "
            + "in `restgres.idempotency_keys` (`restgres --schema-sql`) and replayed to the same key; another body: "
            + "422 `RGST422`; still running: 409 `RGST409`. Unset: off.",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<RateLimiting.RateLimitRules?> ServerRateLimits = new("server-rate-limits",
        Text.Then<RateLimiting.RateLimitRules?>(
            (option, s) => RateLimiting.RateLimitRules.Parse(s, option, "Invalid " + option), r => r?.Text),
        c => c.ServerRateLimits, (c, v) => c with { ServerRateLimits = v })
    {
        Doc = "Rate limits by role (docs/rate-limits.md), comma-separated `role=rule`, `*` for any other role: e.g. "
            + "`anon=60/min per ip, analyst=600/min per sub, admin=unlimited`. A rule is `N/UNIT [per ip|sub|role|claim:PATH]` "
            + "(UNIT `s`, `min`, `h`, `day`, or `10s`...) or `unlimited`. Over the limit: 429 `RGST429` with `Retry-After`. "
            + "Unset: no limits (a route's `rate-limit` still applies).",
        InDatabase = true,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<bool> ServerCancelOnDisconnect = new("server-cancel-on-disconnect", Bool,
        c => c.ServerCancelOnDisconnect, (c, v) => c with { ServerCancelOnDisconnect = v })
    {
        Default = "false",
        Doc = "Cancel a request's statement and roll back its transaction when its client disconnects; off, as in "
            + "PostgREST, the request runs to its end (a client that leaves does not undo a write it sent).",
        InDatabase = true,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<bool> ServerRateLimitHeaders = new("server-rate-limit-headers", Bool,
        c => c.ServerRateLimitHeaders, (c, v) => c with { ServerRateLimitHeaders = v })
    {
        Default = "false",
        Doc = "Send `RateLimit-Policy` and `RateLimit` (draft-ietf-httpapi-ratelimit-headers-10) on allowed responses "
            + "too; 429s always carry them.",
        InDatabase = true,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<RateLimiting.RateLimitStore> ServerRateLimitStore = new("server-rate-limit-store",
        Choice("Invalid server-rate-limit-store. Admitted values: local, database.",
            ("local", RateLimiting.RateLimitStore.Local), ("database", RateLimiting.RateLimitStore.Database)),
        c => c.ServerRateLimitStore, (c, v) => c with { ServerRateLimitStore = v })
    {
        Default = "local",
        Doc = "`local` (each instance counts alone) or `database` (instances share limits through the "
            + "`restgres.rate_limit_lease` function, leasing tokens in batches; `restgres --schema-sql` prints it).",
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> ServerRateLimitMaxKeys = new("server-rate-limit-max-keys",
        Int.Then((option, n) => n >= 1 ? n : throw Invalid(option, $"Invalid {option}: {n}, it must be at least 1"), n => Invariant(n)),
        c => c.ServerRateLimitMaxKeys, (c, v) => c with { ServerRateLimitMaxKeys = v })
    {
        Default = "250000",
        Doc = "Most rate-limit keys (client addresses, users) held in memory, about 140 bytes each; full buckets are "
            + "dropped first, then the ones closest to full.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<RateLimiting.TrustedProxies> ServerTrustedProxies = new("server-trusted-proxies",
        Text.Then((option, s) => RateLimiting.TrustedProxies.Parse(option, s), t => t.Text.Length == 0 ? null : t.Text),
        c => c.ServerTrustedProxies, (c, v) => c with { ServerTrustedProxies = v })
    {
        UnsetValue = RateLimiting.TrustedProxies.None,
        Doc = "Proxies whose `X-Forwarded-For` gives the client address for `per ip` limits: addresses or CIDR ranges, "
            + "comma-separated (e.g. `10.0.0.0/8, ::1`). Unset: the header is ignored.",
        InDatabase = true,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<bool> JobsEnabled = new("jobs-enabled", Bool,
        c => c.JobsEnabled, (c, v) => c with { JobsEnabled = v })
    {
        Default = "false",
        Doc = "Run durable-job workers (docs/jobs.md) inside the server for the queues of `restgres.define_queue` "
            + "(`restgres schema install` creates them); `restgres worker` runs them in a process of their own. "
            + "Read at startup.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<ImmutableArray<string>> JobsQueues = new("jobs-queues", CommaList,
        c => c.JobsQueues, (c, v) => c with { JobsQueues = v })
    {
        UnsetValue = [],
        Doc = "The job queues this process works on, comma-separated. Unset: every queue.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> JobsLease = new("jobs-lease",
        Int.Then((option, n) => n >= 100 ? n : throw Invalid(option, $"Invalid {option}: {n}, a lease lasts at least 100 ms"),
            n => Invariant(n)),
        c => c.JobsLease, (c, v) => c with { JobsLease = v })
    {
        Default = "30000",
        Doc = "Milliseconds a worker holds a running job without renewing it (it renews every third of that): a job "
            + "whose worker died is retried this long after its last renewal.",
        Reloadable = false,
        RestgresOnly = true,
    };

    public static readonly ConfigOption<int> JobsPollInterval = new("jobs-poll-interval",
        Int.Then((option, n) => n >= 10 ? n : throw Invalid(option, $"Invalid {option}: {n}, poll at most every 10 ms"),
            n => Invariant(n)),
        c => c.JobsPollInterval, (c, v) => c with { JobsPollInterval = v })
    {
        Default = "1000",
        Doc = "Milliseconds between a worker's looks for due jobs and expired leases when no `NOTIFY` wakes it "
            + "(enqueue notifies; retries and delayed jobs are found by polling).",
        Reloadable = false,
        RestgresOnly = true,
    };

    /// <summary>Every option, in the order they are read.</summary>
    public static readonly ImmutableArray<ConfigOption> All =
    [
        ClientErrorVerbosity, DbAggregatesEnabled, DbAnonRole, DbChannel, DbChannelEnabled, DbExtraSearchPath,
        DbHoistedTxSettings, DbMaxRows, DbPlanEnabled, DbPool, DbPoolAcquisitionTimeout, DbPoolMaxLifetime,
        DbPoolMaxIdletime, DbPoolAutomaticRecovery, DbPreRequest, DbGroupCommit, DbGroupCommitWindow, DbGroupCommitMaxRequests, DbGroupCommitMaxInflight, DbReadReplicas, DbReadReplicaMaxLag, DbPreparedStatements, DbRootSpec, DbSchemas, DbConfig,
        DbPreConfig, DbTxEnd, DbUri, DbListenerUri, JwtAud, JwtRoleClaimKey, JwtSecret, JwtSecretIsBase64, JwtCacheMaxEntries, LogLevel,
        LogQuery, OpenApiMode, OpenApiSecurityActive, OpenApiServerProxyUri, ServerCorsAllowedOrigins, ServerHost,
        ServerPort, ServerReusePort, ServerTraceHeader, ServerTimingEnabled, ServerUnixSocket, ServerUnixSocketMode,
        UrlUseLegacyTargetNames, AdminServerHost, AdminServerPort, AdminServerUnixSocket, AdminServerUnixSocketMode,
        InternalSchemaCacheQuerySleepBeforeQueries, InternalSchemaCacheQuerySleep,
        LogFormat, ServerPathPrefixes, ServerStaticDir, ServerMaxBodySize, ServerRoutesFile, ServerSchedulesFile, ServerEtag, ServerCacheControl,
        ServerCompression, ServerCompressionMinSize, TraceExporter, TraceOtlpEndpoint, TraceOtlpProtocol, TraceSampleRatio,
        ServerResponseCache, ServerResponseCacheSize, ServerIdempotency, ServerRateLimits, ServerCancelOnDisconnect, ServerRateLimitHeaders, ServerRateLimitStore,
        ServerRateLimitMaxKeys, ServerTrustedProxies, JobsEnabled, JobsQueues, JobsLease, JobsPollInterval,
    ];

    /// <summary>Each replica URI must read as db-uri does (a connection string with a comma cannot be listed).</summary>
    private static ImmutableArray<string> ParseReplicaUris(string option, ImmutableArray<string> uris)
    {
        foreach (var uri in uris)
        {
            if (uri.Length == 0) throw Invalid(option, $"Invalid {option}: an empty URI in the list");
            try
            {
                Execution.DbUri.Parse(uri);
            }
            catch (ArgumentException e)
            {
                throw Invalid(option, $"Invalid {option}: '{Execution.DbUri.Redact(uri, "***")}': {e.Message}");
            }
        }
        return uris;
    }

    private static ImmutableArray<string> ParsePathPrefixes(string option, string value)
    {
        var builder = ImmutableArray.CreateBuilder<string>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (part[0] != '/')
                throw Invalid(option, $"Invalid server-path-prefixes: '{part}' must start with '/'");
            if (part[^1] == '/')
                throw Invalid(option, $"Invalid server-path-prefixes: '{part}' must not end with '/'");
            foreach (var c in part)
            {
                if (c is '?' or '#' || char.IsWhiteSpace(c) || char.IsControl(c))
                    throw Invalid(option, $"Invalid server-path-prefixes: '{part}' must be a plain path (no '?', '#' or spaces)");
            }
            if (!builder.Contains(part)) builder.Add(part);
        }
        return builder.ToImmutable();
    }

    private static ImmutableArray<string> ParseCodings(string option, string value)
    {
        var builder = ImmutableArray.CreateBuilder<string>();
        foreach (var part in value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var coding = part.ToLowerInvariant();
            if (coding is not ("gzip" or "br"))
                throw Invalid(option, $"Invalid {option}: '{part}' is not a supported coding (gzip, br)");
            if (!builder.Contains(coding)) builder.Add(coding);
        }
        return builder.ToImmutable();
    }
}
