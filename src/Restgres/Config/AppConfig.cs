using System.Collections.Immutable;

namespace Restgres.Config;

/// <summary>How a transaction ends (PostgREST's <c>db-tx-end</c>).</summary>
public enum TxEnd { Commit, CommitAllowOverride, Rollback, RollbackAllowOverride }

/// <summary>PostgREST's <c>openapi-mode</c>.</summary>
public enum OpenApiMode { FollowPrivileges, IgnorePrivileges, Disabled }

/// <summary>PostgREST's <c>client-error-verbosity</c>.</summary>
public enum ErrorVerbosity { Verbose, Minimal }

/// <summary>PostgREST's <c>log-level</c>, plus our own structured format.</summary>
public enum LogLevel { Crit, Error, Warn, Info, Debug }

/// <summary>
/// The whole configuration as one immutable snapshot. Names and defaults follow PostgREST v16's
/// <c>Config.hs</c> (docs: references/configuration.rst) so that a PostgREST config file or a set of
/// <c>PGRST_*</c> variables means the same thing here. Options beyond PostgREST are marked.
/// </summary>
public sealed record AppConfig
{
    public ImmutableArray<KeyValuePair<string, string>> AppSettings { get; init; } = [];
    public ErrorVerbosity ClientErrorVerbosity { get; init; } = ErrorVerbosity.Verbose;
    public bool DbAggregatesEnabled { get; init; }
    public string? DbAnonRole { get; init; }
    public string DbChannel { get; init; } = "pgrst";
    public bool DbChannelEnabled { get; init; } = true;
    public ImmutableArray<string> DbExtraSearchPath { get; init; } = ["public"];
    public ImmutableArray<string> DbHoistedTxSettings { get; init; } =
        ["statement_timeout", "plan_filter.statement_cost_limit", "default_transaction_isolation"];
    public long? DbMaxRows { get; init; }
    public bool DbPlanEnabled { get; init; }
    public int DbPool { get; init; } = 10;
    /// <summary>Seconds to wait for a pooled connection before PGRST003 (504).</summary>
    public int DbPoolAcquisitionTimeout { get; init; } = 10;
    public int DbPoolMaxLifetime { get; init; } = 1800;
    public int DbPoolMaxIdletime { get; init; } = 30;
    public bool DbPoolAutomaticRecovery { get; init; } = true;
    /// <summary>Schema-qualified name (schema may be empty) of the pre-request function.</summary>
    public QualifiedName? DbPreRequest { get; init; }
    public bool DbPreparedStatements { get; init; } = true;
    public QualifiedName? DbRootSpec { get; init; }
    public ImmutableArray<string> DbSchemas { get; init; } = ["public"];
    public bool DbConfig { get; init; } = true;
    public QualifiedName? DbPreConfig { get; init; }
    public TxEnd DbTxEnd { get; init; } = TxEnd.Commit;
    public string DbUri { get; init; } = "postgresql://";
    public string? JwtAud { get; init; }
    public string JwtRoleClaimKey { get; init; } = "$.role";
    /// <summary><see cref="JwtRoleClaimKey"/> parsed (JSON Path, or the deprecated JSPath); evaluate it on the claims.</summary>
    public RoleClaimPath JwtRoleClaimPath { get; init; } = RoleClaimPath.Default;
    /// <summary>The secret text as configured (after reading an <c>@file</c>); null when unset.</summary>
    public string? JwtSecret { get; init; }
    /// <summary>The key bytes: <see cref="JwtSecret"/> in UTF-8, or base64-decoded when <c>jwt-secret-is-base64</c>.
    /// Empty when there is no secret. May hold a JSON Web Key (set) rather than a shared secret.</summary>
    public ImmutableArray<byte> JwtSecretBytes { get; init; } = [];
    public bool JwtSecretIsBase64 { get; init; }
    public int JwtCacheMaxEntries { get; init; } = 1000;
    public LogLevel LogLevel { get; init; } = LogLevel.Error;
    public bool LogQuery { get; init; }
    public OpenApiMode OpenApiMode { get; init; } = OpenApiMode.FollowPrivileges;
    public bool OpenApiSecurityActive { get; init; }
    public string? OpenApiServerProxyUri { get; init; }
    /// <summary>Empty means any origin (PostgREST's default).</summary>
    public ImmutableArray<string> ServerCorsAllowedOrigins { get; init; } = [];
    public string ServerHost { get; init; } = "!4";
    public int ServerPort { get; init; } = 3000;
    public bool ServerReusePort { get; init; }
    public string? ServerTraceHeader { get; init; }
    public bool ServerTimingEnabled { get; init; }
    public string? ServerUnixSocket { get; init; }
    public int ServerUnixSocketMode { get; init; } = 432;
    public bool UrlUseLegacyTargetNames { get; init; } = true;
    public string AdminServerHost { get; init; } = "!4";
    public int? AdminServerPort { get; init; }
    public string? AdminServerUnixSocket { get; init; }
    public int AdminServerUnixSocketMode { get; init; } = 432;
    /// <summary>PostgREST's test hook <c>internal-schema-cache-query-sleep-before-queries</c>: milliseconds to
    /// <c>pg_sleep</c> in the schema cache transaction before its catalog queries.</summary>
    public int? InternalSchemaCacheQuerySleepBeforeQueries { get; init; }
    /// <summary>PostgREST's test hook <c>internal-schema-cache-query-sleep</c>: milliseconds to <c>pg_sleep</c>
    /// after the catalog queries.</summary>
    public int? InternalSchemaCacheQuerySleep { get; init; }

    // Beyond PostgREST.
    /// <summary><c>log-format</c>: <c>text</c> (PostgREST's) or <c>json</c>, one structured line per request.</summary>
    public string LogFormat { get; init; } = "text";
    /// <summary><c>server-path-prefixes</c>: extra prefixes the API is also served under, e.g. <c>/rest/v1</c>.</summary>
    public ImmutableArray<string> ServerPathPrefixes { get; init; } = [];
    /// <summary><c>server-static-dir</c>: a folder served for GET requests that match no API route.</summary>
    public string? ServerStaticDir { get; init; }
    /// <summary>
    /// <c>server-max-body-size</c>: the largest request body, in bytes, that POST/PATCH/PUT may send (larger ones get
    /// 413). PostgREST has no limit and buffers any body; a default bounds what one request can make the server hold.
    /// </summary>
    public long ServerMaxBodySize { get; init; } = DefaultServerMaxBodySize;

    public const long DefaultServerMaxBodySize = 10 * 1024 * 1024;

    /// <summary>The path of the config file, when one was given.</summary>
    public string? ConfigFilePath { get; init; }

    public bool TxRollbackAll => DbTxEnd is TxEnd.Rollback or TxEnd.RollbackAllowOverride;
    public bool TxAllowOverride => DbTxEnd is TxEnd.CommitAllowOverride or TxEnd.RollbackAllowOverride;
}

/// <summary>A possibly schema-qualified name as written in config (<c>schema.name</c> or <c>name</c>).</summary>
public sealed record QualifiedName(string Schema, string Name)
{
    /// <summary>PostgREST's <c>toQi</c>: split on the first dot; no dot means no schema.</summary>
    public static QualifiedName Parse(string text)
    {
        var dot = text.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? new QualifiedName("", text) : new QualifiedName(text[..dot], text[(dot + 1)..]);
    }

    public override string ToString() => Schema.Length == 0 ? Name : Schema + "." + Name;
}
