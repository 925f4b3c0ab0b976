using Npgsql;
using Restgres.Config;

namespace Restgres.Execution;

/// <summary>
/// The connection pool a config asks for (PostgREST's pool settings, AppState.hs initPool): the only place Npgsql's
/// connection settings are decided.
/// </summary>
internal static class DataSources
{
    public static NpgsqlDataSource Create(AppConfig config, PoolLog? poolLog = null)
    {
        ArgumentNullException.ThrowIfNull(config);
        var ds = new NpgsqlDataSourceBuilder(PoolConnectionString(config))
            .UsePhysicalConnectionInitializer(
                conn => { poolLog?.Established(conn); SessionWarmup.Run(conn); },
                conn => { poolLog?.Established(conn); return SessionWarmup.RunAsync(conn); })
            .Build();
        if (poolLog is not null) PoolLog.Attach(ds, poolLog);
        return ds;
    }

    /// <summary>
    /// The connections that need a session of their own, all of them: the db-channel listener (LISTEN), the
    /// scheduler's leader (a session advisory lock) and the jobs workers' LISTEN. They go to db-listener-uri when it
    /// is set (PostgreSQL itself, when db-uri is a transaction pooler that hands each transaction another backend),
    /// otherwise to db-uri. Outside the pool (each is held for the server's life) and kept alive by TCP keepalives, so
    /// a dead database is noticed.
    /// </summary>
    public static string ListenerConnectionString(AppConfig config) =>
        new NpgsqlConnectionStringBuilder(PoolConnectionString(config, config.DbListenerUri ?? config.DbUri)) { Pooling = false, KeepAlive = 30 }.ConnectionString;

    private static string PoolConnectionString(AppConfig config) => PoolConnectionString(config, config.DbUri);

    private static string PoolConnectionString(AppConfig config, string uri)
    {
        var csb = DbUri.Parse(uri);
        csb.MaxPoolSize = Math.Max(1, config.DbPool);
        csb.MinPoolSize = 0;
        csb.Timeout = Math.Max(1, config.DbPoolAcquisitionTimeout);
        csb.ConnectionIdleLifetime = Math.Max(1, config.DbPoolMaxIdletime);
        // Npgsql refuses an idle lifetime shorter than the pruning interval (10 s by default); db-pool-max-idletime = 5
        // is a valid PostgREST setting.
        csb.ConnectionPruningInterval = Math.Min(csb.ConnectionPruningInterval, csb.ConnectionIdleLifetime);
        csb.ConnectionLifetime = config.DbPoolMaxLifetime;
        // Session state never leaks between requests (all settings are transaction-local), so skip DISCARD ALL.
        csb.NoResetOnClose = true;
        csb.MaxAutoPrepare = config.DbPreparedStatements ? 256 : 0;
        csb.AutoPrepareMinUsages = 2;
        // The failed statement of a batch, so that its prepared statement can be reset (MainTx.RollbackQuietlyAsync).
        csb.IncludeFailedBatchedCommand = true;
        if (string.IsNullOrEmpty(csb.ApplicationName)) csb.ApplicationName = "PostgREST " + Cli.CommandLine.ProductVersion;
        csb.Enlist = false;
        // PostgREST sets no client-side timeout: statement_timeout (per role or hoisted from a function) is the limit.
        csb.CommandTimeout = 0;
        // PostgREST returns PostgreSQL's error details verbatim.
        csb.IncludeErrorDetail = true;
        // PostgreSQL streams a result in 8 KB pieces; with Npgsql's default 8 KB buffer a 19 KB list_events body took
        // ~6 recv calls (and thread hand-offs) per request, with 64 KB ~2 (docs/perf-notes.md, item 11).
        csb.ReadBufferSize = 64 * 1024;
        return csb.ConnectionString;
    }
}
