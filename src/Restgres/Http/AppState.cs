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
    private readonly CancellationTokenSource _life = new();
    private int _reloadPending;
    private int _recovering;
    private int _retryDelay;
    private bool _listenerOn;
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public AppState(AppConfig config, Action<string> log)
    {
        _config = config;
        Log = log;
        _authenticator = new Auth.Authenticator(config);
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
        // PostgREST sets no client-side timeout: statement_timeout (per role or hoisted from a function) is the limit.
        csb.CommandTimeout = 0;
        // PostgREST returns PostgreSQL's error details verbatim.
        csb.IncludeErrorDetail = true;
        // PostgreSQL streams a result in 8 KB pieces; with Npgsql's default 8 KB buffer a 19 KB list_events body took
        // ~6 recv calls (and thread hand-offs) per request, with 64 KB ~2 (docs/perf-notes.md, item 11).
        csb.ReadBufferSize = 64 * 1024;
        var dsb = new NpgsqlDataSourceBuilder(csb.ConnectionString);
        dsb.UsePhysicalConnectionInitializer(Execution.SessionWarmup.Run, Execution.SessionWarmup.RunAsync);
        DataSource = dsb.Build();
        ListenerConnectionString = new NpgsqlConnectionStringBuilder(csb.ConnectionString) { Pooling = false, KeepAlive = 30 }.ConnectionString;
        Observer = new Observability.Observer(this);
        Reloader = new ConfigReloader(this);
    }

    // Swapped together by a config reload (Config/InDbConfig.cs); a request reads Config once and keeps that snapshot.
    private volatile AppConfig _config;
    private volatile Auth.Authenticator _authenticator;

    public AppConfig Config => _config;
    public Auth.Authenticator Authenticator => _authenticator;

    /// <summary>Metrics, access log and log sink (Observability/).</summary>
    public Observability.Observer Observer { get; }

    /// <summary>Config reloads: SIGUSR2, NOTIFY 'reload config', in-database config.</summary>
    public ConfigReloader Reloader { get; }

    /// <summary>Replaces the config snapshot (and the authenticator built from it) for the requests that follow.</summary>
    public void ApplyConfig(AppConfig config, Auth.Authenticator authenticator)
    {
        _authenticator = authenticator;
        _config = config;
    }
    public Action<string> Log { get; }
    public NpgsqlDataSource DataSource { get; }
    public string ListenerConnectionString { get; }
    public SchemaCache.SchemaCache? SchemaCache => _schemaCache;

    /// <summary>
    /// Seconds until the next attempt to reach the database while recovering from a lost connection, 0 when connected:
    /// the <c>Retry-After</c> of 503 responses (PostgREST docs: references/connection_pool.rst, "Automatic Recovery").
    /// </summary>
    public int RetryAfterSeconds => Volatile.Read(ref _retryDelay);

    /// <summary>Whether the database is believed reachable (no recovery under way).</summary>
    public bool IsConnected => Volatile.Read(ref _recovering) == 0;

    /// <summary>Completes when the server has to stop: the database was lost and db-pool-automatic-recovery is false.</summary>
    public Task Fatal => _fatal.Task;

    /// <summary>Whether the db-channel listener is connected and listening (PostgREST's isListenerOn).</summary>
    public bool ListenerOn
    {
        get => Volatile.Read(ref _listenerOn);
        set => Volatile.Write(ref _listenerOn, value);
    }

    /// <summary>Loads the schema cache; returns false (keeping the old snapshot) when the database is unreachable.</summary>
    public async Task<bool> ReloadSchemaCacheAsync(CancellationToken ct)
    {
        await _reloadLock.WaitAsync(ct);
        try
        {
            // PostgREST's retryingSchemaCacheLoad reads the in-database config before each schema cache load.
            if (Config.DbConfig) await Reloader.ReloadAsync(explicitRequest: false, beforeSchemaLoad: true, ct);
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await using var conn = await DataSource.OpenConnectionAsync(ct);
            var cache = await SchemaCacheLoader.LoadAsync(conn, Config.DbSchemas, Config.DbExtraSearchPath, ct);
            _schemaCache = cache;
            Observer.Metrics.SchemaCacheLoaded(sw.Elapsed);
            await conn.DisposeAsync();
            // As PostgREST does after a load: pooled connections may hold stale catalog state (prepared statements of
            // dropped objects) or be dead after a database restart, so new requests get fresh ones.
            DataSource.Clear();
            Interlocked.Exchange(ref _loaded, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            Log($"Schema cache loaded in {sw.ElapsedMilliseconds} ms: {cache.Summary}");
            if (Config.LogLevel >= Restgres.Config.LogLevel.Debug)
                Log("Schema cache queries (ms): " + string.Join(", ", cache.LoadTimings.Select(t => t.ToString("0", System.Globalization.CultureInfo.InvariantCulture))));
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            Log($"Schema cache load failed: {e.Message}");
            Observer.Metrics.SchemaCacheLoadFailed();
            return false;
        }
#pragma warning disable CA1031 // A reload that fails for any reason must keep the old cache, never take the server down.
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Log($"Schema cache load failed ({e.GetType().Name}): {e.Message}");
            Observer.Metrics.SchemaCacheLoadFailed();
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
                // Like PostgREST's retryingSchemaCacheLoad: a failed load is retried with backoff until it succeeds.
                if (!await ReloadSchemaCacheAsync(ct)) ReportConnectionLoss();
            }
            catch (OperationCanceledException)
            {
            }
        }, ct);
    }

    /// <summary>
    /// Called when the database could not be reached (a request's connection failed, the listener lost its
    /// connection, a schema cache load failed): starts one recovery loop, unless one is running, that flushes the
    /// pool and reloads the schema cache, retrying with exponential backoff capped at 32 seconds as PostgREST does.
    /// </summary>
    public void ReportConnectionLoss()
    {
        if (!Config.DbPoolAutomaticRecovery)
        {
            if (_fatal.TrySetResult()) Log("The database is unreachable and db-pool-automatic-recovery is false: stopping");
            return;
        }
        if (_life.IsCancellationRequested || Interlocked.CompareExchange(ref _recovering, 1, 0) != 0) return;
        Volatile.Write(ref _retryDelay, 1);
        _ = Task.Run(RecoverAsync);
    }

    private async Task RecoverAsync()
    {
        var ct = _life.Token;
        var delay = 1;
        try
        {
            while (true)
            {
                Volatile.Write(ref _retryDelay, delay);
                // A load that succeeds meanwhile (the listener is back and reloaded) ends the recovery early.
                var loaded = Volatile.Read(ref _loaded).Task;
                DataSource.Clear();
                if (await ReloadSchemaCacheAsync(ct)) break;
                Log($"Attempting to reconnect to the database in {delay} seconds...");
                await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(delay), ct), loaded);
                ct.ThrowIfCancellationRequested();
                if (loaded.IsCompleted) break;
                delay = Math.Min(32, delay * 2);
            }
            Log("Connection to the database restored");
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
            // Shutting down.
        }
        finally
        {
            Volatile.Write(ref _retryDelay, 0);
            Volatile.Write(ref _recovering, 0);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _life.CancelAsync();
        Reloader.Dispose();
        Observer.Dispose();
        await DataSource.DisposeAsync();
        _reloadLock.Dispose();
        _life.Dispose();
    }
}
