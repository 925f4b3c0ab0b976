using System.Collections.Immutable;

namespace Restgres.Config;

/// <summary>How a transaction ends (PostgREST's <c>db-tx-end</c>).</summary>
internal enum TxEnd { Commit, CommitAllowOverride, Rollback, RollbackAllowOverride }

/// <summary>PostgREST's <c>openapi-mode</c>.</summary>
internal enum OpenApiMode { FollowPrivileges, IgnorePrivileges, Disabled }

/// <summary>PostgREST's <c>client-error-verbosity</c>.</summary>
internal enum ErrorVerbosity { Verbose, Minimal }

/// <summary>PostgREST's <c>log-level</c>, plus our own structured format.</summary>
internal enum LogLevel { Crit, Error, Warn, Info, Debug }

/// <summary>Where OpenTelemetry spans go (<c>trace-exporter</c>).</summary>
internal enum TraceExporter { Off, Otlp, Console }

/// <summary>The OTLP transport (<c>trace-otlp-protocol</c>).</summary>
internal enum OtlpProtocol { Grpc, HttpProtobuf }

/// <summary>
/// The whole configuration as one immutable snapshot. Each option's property starts at the option's default and is
/// filled by the loader, both from <see cref="ConfigOptions"/>, where each option is described (PostgREST v16's
/// <c>Config.hs</c>, docs: references/configuration.rst, plus Restgres's own).
/// </summary>
internal sealed record AppConfig
{
    public ImmutableArray<KeyValuePair<string, string>> AppSettings { get; init; } = [];
    public ErrorVerbosity ClientErrorVerbosity { get; init; } = ConfigOptions.ClientErrorVerbosity.DefaultValue;
    public bool DbAggregatesEnabled { get; init; } = ConfigOptions.DbAggregatesEnabled.DefaultValue;
    public string? DbAnonRole { get; init; } = ConfigOptions.DbAnonRole.DefaultValue;
    public string DbChannel { get; init; } = ConfigOptions.DbChannel.DefaultValue;
    public bool DbChannelEnabled { get; init; } = ConfigOptions.DbChannelEnabled.DefaultValue;
    public ImmutableArray<string> DbExtraSearchPath { get; init; } = ConfigOptions.DbExtraSearchPath.DefaultValue;
    public ImmutableArray<string> DbHoistedTxSettings { get; init; } = ConfigOptions.DbHoistedTxSettings.DefaultValue;
    public long? DbMaxRows { get; init; } = ConfigOptions.DbMaxRows.DefaultValue;
    public bool DbPlanEnabled { get; init; } = ConfigOptions.DbPlanEnabled.DefaultValue;
    public int DbPool { get; init; } = ConfigOptions.DbPool.DefaultValue;
    /// <summary>Seconds to wait for a pooled connection before PGRST003 (504).</summary>
    public int DbPoolAcquisitionTimeout { get; init; } = ConfigOptions.DbPoolAcquisitionTimeout.DefaultValue;
    public int DbPoolMaxLifetime { get; init; } = ConfigOptions.DbPoolMaxLifetime.DefaultValue;
    public int DbPoolMaxIdletime { get; init; } = ConfigOptions.DbPoolMaxIdletime.DefaultValue;
    public bool DbPoolAutomaticRecovery { get; init; } = ConfigOptions.DbPoolAutomaticRecovery.DefaultValue;
    /// <summary>Schema-qualified name (schema may be empty) of the pre-request function.</summary>
    public ImmutableArray<string> DbGroupCommit { get; init; } = ConfigOptions.DbGroupCommit.DefaultValue;
    public int DbGroupCommitWindow { get; init; } = ConfigOptions.DbGroupCommitWindow.DefaultValue;
    public int DbGroupCommitMaxRequests { get; init; } = ConfigOptions.DbGroupCommitMaxRequests.DefaultValue;
    public int DbGroupCommitMaxInflight { get; init; } = ConfigOptions.DbGroupCommitMaxInflight.DefaultValue;
    /// <summary>Read replicas' URIs (Execution/ReadReplicas.cs); empty: every transaction on db-uri.</summary>
    public ImmutableArray<string> DbReadReplicas { get; init; } = ConfigOptions.DbReadReplicas.DefaultValue;
    public int DbReadReplicaMaxLag { get; init; } = ConfigOptions.DbReadReplicaMaxLag.DefaultValue;
    public QualifiedName? DbPreRequest { get; init; } = ConfigOptions.DbPreRequest.DefaultValue;
    public bool DbPreparedStatements { get; init; } = ConfigOptions.DbPreparedStatements.DefaultValue;
    public QualifiedName? DbRootSpec { get; init; } = ConfigOptions.DbRootSpec.DefaultValue;
    public ImmutableArray<string> DbSchemas { get; init; } = ConfigOptions.DbSchemas.DefaultValue;
    public bool DbConfig { get; init; } = ConfigOptions.DbConfig.DefaultValue;
    public QualifiedName? DbPreConfig { get; init; } = ConfigOptions.DbPreConfig.DefaultValue;
    public TxEnd DbTxEnd { get; init; } = ConfigOptions.DbTxEnd.DefaultValue;
    public string DbUri { get; init; } = ConfigOptions.DbUri.DefaultValue;
    public string? DbListenerUri { get; init; } = ConfigOptions.DbListenerUri.DefaultValue;
    public string? JwtAud { get; init; } = ConfigOptions.JwtAud.DefaultValue;
    public string JwtRoleClaimKey { get; init; } = ConfigOptions.JwtRoleClaimKey.DefaultValue.Text;
    /// <summary><see cref="JwtRoleClaimKey"/> parsed (JSON Path, or the deprecated JSPath); evaluate it on the claims.</summary>
    public RoleClaimPath JwtRoleClaimPath { get; init; } = ConfigOptions.JwtRoleClaimKey.DefaultValue;
    /// <summary>The secret text as configured (after reading an <c>@file</c>); null when unset.</summary>
    public string? JwtSecret { get; init; } = ConfigOptions.JwtSecret.DefaultValue;
    /// <summary>The key bytes: <see cref="JwtSecret"/> in UTF-8, or base64-decoded when <c>jwt-secret-is-base64</c>.
    /// Empty when there is no secret. May hold a JSON Web Key (set) rather than a shared secret.</summary>
    public ImmutableArray<byte> JwtSecretBytes { get; init; } = [];
    public bool JwtSecretIsBase64 { get; init; } = ConfigOptions.JwtSecretIsBase64.DefaultValue;
    public int JwtCacheMaxEntries { get; init; } = ConfigOptions.JwtCacheMaxEntries.DefaultValue;
    public LogLevel LogLevel { get; init; } = ConfigOptions.LogLevel.DefaultValue;
    public bool LogQuery { get; init; } = ConfigOptions.LogQuery.DefaultValue;
    public OpenApiMode OpenApiMode { get; init; } = ConfigOptions.OpenApiMode.DefaultValue;
    public bool OpenApiSecurityActive { get; init; } = ConfigOptions.OpenApiSecurityActive.DefaultValue;
    public string? OpenApiServerProxyUri { get; init; } = ConfigOptions.OpenApiServerProxyUri.DefaultValue;
    /// <summary>Empty means any origin (PostgREST's default).</summary>
    public ImmutableArray<string> ServerCorsAllowedOrigins { get; init; } = ConfigOptions.ServerCorsAllowedOrigins.DefaultValue;
    public string ServerHost { get; init; } = ConfigOptions.ServerHost.DefaultValue;
    public int ServerPort { get; init; } = ConfigOptions.ServerPort.DefaultValue;
    public bool ServerReusePort { get; init; } = ConfigOptions.ServerReusePort.DefaultValue;
    public string? ServerTraceHeader { get; init; } = ConfigOptions.ServerTraceHeader.DefaultValue;
    public bool ServerTimingEnabled { get; init; } = ConfigOptions.ServerTimingEnabled.DefaultValue;
    public string? ServerUnixSocket { get; init; } = ConfigOptions.ServerUnixSocket.DefaultValue;
    public int ServerUnixSocketMode { get; init; } = ConfigOptions.ServerUnixSocketMode.DefaultValue;
    public bool UrlUseLegacyTargetNames { get; init; } = ConfigOptions.UrlUseLegacyTargetNames.DefaultValue;
    public string AdminServerHost { get; init; } = ConfigOptions.AdminServerHost.DefaultValue;
    public int? AdminServerPort { get; init; } = ConfigOptions.AdminServerPort.DefaultValue;
    public string? AdminServerUnixSocket { get; init; } = ConfigOptions.AdminServerUnixSocket.DefaultValue;
    public int AdminServerUnixSocketMode { get; init; } = ConfigOptions.AdminServerUnixSocketMode.DefaultValue;
    /// <summary>PostgREST's test hook <c>internal-schema-cache-query-sleep-before-queries</c>: milliseconds to
    /// <c>pg_sleep</c> in the schema cache transaction before its catalog queries.</summary>
    public int? InternalSchemaCacheQuerySleepBeforeQueries { get; init; } =
        ConfigOptions.InternalSchemaCacheQuerySleepBeforeQueries.DefaultValue;
    /// <summary>PostgREST's test hook <c>internal-schema-cache-query-sleep</c>: milliseconds to <c>pg_sleep</c>
    /// after the catalog queries.</summary>
    public int? InternalSchemaCacheQuerySleep { get; init; } = ConfigOptions.InternalSchemaCacheQuerySleep.DefaultValue;

    // Beyond PostgREST.
    /// <summary><c>log-format</c>: <c>text</c> (PostgREST's) or <c>json</c>, one structured line per request.</summary>
    public string LogFormat { get; init; } = ConfigOptions.LogFormat.DefaultValue;
    /// <summary><c>server-path-prefixes</c>: extra prefixes the API is also served under, e.g. <c>/rest/v1</c>.</summary>
    public ImmutableArray<string> ServerPathPrefixes { get; init; } = ConfigOptions.ServerPathPrefixes.DefaultValue;
    /// <summary><c>server-static-dir</c>: a folder served for GET requests that match no API route.</summary>
    public string? ServerStaticDir { get; init; } = ConfigOptions.ServerStaticDir.DefaultValue;
    /// <summary><c>server-max-body-size</c>: the largest request body, in bytes, that POST/PATCH/PUT may send (larger
    /// ones get 413).</summary>
    public long ServerMaxBodySize { get; init; } = ConfigOptions.ServerMaxBodySize.DefaultValue;
    /// <summary><c>server-routes-file</c>: the routes read from the file (old URLs mapped onto the API), or null.</summary>
    public Routing.RouteTable? ServerRoutes { get; init; } = ConfigOptions.ServerRoutesFile.DefaultValue;
    public Schedules.ScheduleTable? ServerSchedules { get; init; } = ConfigOptions.ServerSchedulesFile.DefaultValue;
    /// <summary><c>server-etag</c>: strong ETags and 304s on GET/HEAD (Http/HttpCaching.cs).</summary>
    public bool ServerEtag { get; init; } = ConfigOptions.ServerEtag.DefaultValue;
    /// <summary><c>server-cache-control</c>: Cache-Control per path; null: none added.</summary>
    public CacheControlRules? ServerCacheControl { get; init; } = ConfigOptions.ServerCacheControl.DefaultValue;
    /// <summary><c>server-compression</c>: the codings offered, in order of preference; empty: off.</summary>
    public ImmutableArray<string> ServerCompression { get; init; } = ConfigOptions.ServerCompression.DefaultValue;
    public int ServerCompressionMinSize { get; init; } = ConfigOptions.ServerCompressionMinSize.DefaultValue;
    public TraceExporter TraceExporter { get; init; } = ConfigOptions.TraceExporter.DefaultValue;
    public string? TraceOtlpEndpoint { get; init; } = ConfigOptions.TraceOtlpEndpoint.DefaultValue;
    public OtlpProtocol TraceOtlpProtocol { get; init; } = ConfigOptions.TraceOtlpProtocol.DefaultValue;
    public double TraceSampleRatio { get; init; } = ConfigOptions.TraceSampleRatio.DefaultValue;
    /// <summary><c>server-response-cache</c>: the paths whose GET/HEAD responses are cached, with their time to live;
    /// null: off (Http/ResponseCache.cs).</summary>
    public PathTtlRules? ServerResponseCache { get; init; } = ConfigOptions.ServerResponseCache.DefaultValue;
    /// <summary><c>server-idempotency</c>: the paths whose POST/PATCH honour <c>Idempotency-Key</c>, with how long a key
    /// is kept; null: off (Execution/Idempotency.cs).</summary>
    public PathTtlRules? ServerIdempotency { get; init; } = ConfigOptions.ServerIdempotency.DefaultValue;

    /// <summary><c>jobs-enabled</c>: run job workers in the server (Jobs/JobWorkers.cs).</summary>
    public bool JobsEnabled { get; init; } = ConfigOptions.JobsEnabled.DefaultValue;

    /// <summary><c>jobs-queues</c>: the queues worked on; empty: all.</summary>
    public ImmutableArray<string> JobsQueues { get; init; } = ConfigOptions.JobsQueues.DefaultValue;

    /// <summary><c>jobs-lease</c>: milliseconds a running job is held without a heartbeat.</summary>
    public int JobsLease { get; init; } = ConfigOptions.JobsLease.DefaultValue;

    /// <summary><c>jobs-poll-interval</c>: milliseconds between polls when no NOTIFY arrives.</summary>
    public int JobsPollInterval { get; init; } = ConfigOptions.JobsPollInterval.DefaultValue;
    /// <summary><c>server-response-cache-size</c>: the response cache's byte budget.</summary>
    public long ServerResponseCacheSize { get; init; } = ConfigOptions.ServerResponseCacheSize.DefaultValue;
    /// <summary><c>server-rate-limits</c>: rate limits by role; null: none (RateLimiting/).</summary>
    public RateLimiting.RateLimitRules? ServerRateLimits { get; init; } = ConfigOptions.ServerRateLimits.DefaultValue;
    public bool ServerRateLimitHeaders { get; init; } = ConfigOptions.ServerRateLimitHeaders.DefaultValue;
    /// <summary>Cancel a request's database work when its client disconnects (PostgREST runs it to the end).</summary>
    public bool ServerCancelOnDisconnect { get; init; } = ConfigOptions.ServerCancelOnDisconnect.DefaultValue;
    public RateLimiting.RateLimitStore ServerRateLimitStore { get; init; } = ConfigOptions.ServerRateLimitStore.DefaultValue;
    public int ServerRateLimitMaxKeys { get; init; } = ConfigOptions.ServerRateLimitMaxKeys.DefaultValue;
    /// <summary><c>server-trusted-proxies</c>: whose X-Forwarded-For is believed for <c>per ip</c> limits.</summary>
    public RateLimiting.TrustedProxies ServerTrustedProxies { get; init; } = ConfigOptions.ServerTrustedProxies.DefaultValue;

    /// <summary>
    /// Where this config was read from, so that a reload (SIGUSR2, NOTIFY 'reload config') reads the same sources
    /// again; null for a config built in code (tests, <c>restgres dev</c>), which a reload leaves as it is.
    /// </summary>
    public ConfigSource? Source { get; init; }

    /// <summary>The path of the config file, when one was given.</summary>
    public string? ConfigFilePath => Source?.Path;

    public bool TxRollbackAll => DbTxEnd is TxEnd.Rollback or TxEnd.RollbackAllowOverride;
    public bool TxAllowOverride => DbTxEnd is TxEnd.CommitAllowOverride or TxEnd.RollbackAllowOverride;
}

/// <summary>A possibly schema-qualified name as written in config (<c>schema.name</c> or <c>name</c>).</summary>
internal sealed record QualifiedName(string Schema, string Name)
{
    /// <summary>PostgREST's <c>toQi</c>: split on the first dot; no dot means no schema.</summary>
    public static QualifiedName Parse(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? new QualifiedName("", text) : new QualifiedName(text[..dot], text[(dot + 1)..]);
    }

    public override string ToString() => Schema.Length == 0 ? Name : Schema + "." + Name;
}
