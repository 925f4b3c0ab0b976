using Npgsql;
using Restgres.Config;
using Restgres.Execution;
using Restgres.SchemaCache;

namespace Restgres.Http;

/// <summary>
/// What requests share: the config, the connection pool and the schema cache snapshot. The cache is replaced
/// atomically on reload (NOTIFY on db-channel, SIGUSR1), so a request always works with one whole snapshot; a failed
/// reload keeps the previous one.
/// </summary>
public sealed class AppState : IAsyncDisposable
{
    private volatile SchemaCache.SchemaCache? _schemaCache;
    private readonly SemaphoreSlim _reloadLock = new(1, 1);
    private int _reloadPending;

    public AppState(AppConfig config, Action<string> log)
    {
        Config = config;
        Log = log;
        Authenticator = new Auth.Authenticator(config);
        var csb = DbUri.Parse(config.DbUri);
        csb.MaxPoolSize = Math.Max(1, config.DbPool);
        csb.MinPoolSize = 0;
        csb.Timeout = Math.Max(1, config.DbPoolAcquisitionTimeout);
        csb.ConnectionIdleLifetime = Math.Max(1, config.DbPoolMaxIdletime);
        csb.ConnectionLifetime = config.DbPoolMaxLifetime;
        // Session state never leaks between requests (all settings are transaction-local), so skip DISCARD ALL.
        csb.NoResetOnClose = true;
        csb.MaxAutoPrepare = config.DbPreparedStatements ? 256 : 0;
        csb.AutoPrepareMinUsages = 2;
        if (string.IsNullOrEmpty(csb.ApplicationName)) csb.ApplicationName = "Restgres " + Cli.CommandLine.Version;
        csb.Enlist = false;
        // PostgREST returns PostgreSQL's error details verbatim.
        csb.IncludeErrorDetail = true;
        DataSource = new NpgsqlDataSourceBuilder(csb.ConnectionString).Build();
        ListenerConnectionString = new NpgsqlConnectionStringBuilder(csb.ConnectionString) { Pooling = false, KeepAlive = 30 }.ConnectionString;
    }

    public AppConfig Config { get; }
    public Auth.Authenticator Authenticator { get; }
    public Action<string> Log { get; }
    public NpgsqlDataSource DataSource { get; }
    public string ListenerConnectionString { get; }
    public SchemaCache.SchemaCache? SchemaCache => _schemaCache;

    /// <summary>Loads the schema cache; returns false (keeping the old snapshot) when the database is unreachable.</summary>
    public async Task<bool> ReloadSchemaCacheAsync(CancellationToken ct)
    {
        await _reloadLock.WaitAsync(ct);
        try
        {
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await using var conn = await DataSource.OpenConnectionAsync(ct);
            var cache = await SchemaCacheLoader.LoadAsync(conn, Config.DbSchemas, Config.DbExtraSearchPath, ct);
            _schemaCache = cache;
            Log($"Schema cache loaded in {sw.ElapsedMilliseconds} ms: {cache.Summary}");
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            Log($"Schema cache load failed: {e.Message}");
            return false;
        }
#pragma warning disable CA1031 // A reload that fails for any reason must keep the old cache, never take the server down.
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log($"Schema cache load failed ({e.GetType().Name}): {e.Message}");
            return false;
        }
#pragma warning restore CA1031
        finally
        {
            _reloadLock.Release();
        }
    }

    /// <summary>Debounced reload: a burst of NOTIFYs or signals causes one reload after the burst.</summary>
    public void RequestReload(CancellationToken ct)
    {
        if (Interlocked.Exchange(ref _reloadPending, 1) == 1) return;
        _ = Task.Run(async () =>
        {
            try
            {
                await Task.Delay(100, ct);
                Interlocked.Exchange(ref _reloadPending, 0);
                await ReloadSchemaCacheAsync(ct);
            }
            catch (OperationCanceledException)
            {
            }
        }, ct);
    }

    public async ValueTask DisposeAsync()
    {
        await DataSource.DisposeAsync();
        _reloadLock.Dispose();
    }
}
