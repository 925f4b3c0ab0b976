using Npgsql;
using Restgres.Catalog;
using Restgres.Config;

namespace Restgres.Http;

/// <summary>
/// The schema cache snapshot requests plan against, and its loading (PostgREST's AppState schema cache and
/// retryingSchemaCacheLoad). A load replaces the snapshot atomically, so a request always works with one whole
/// snapshot; a failed load keeps the previous one.
/// </summary>
internal sealed class SchemaCacheHolder : IDisposable
{
    private readonly AppState _state;
    private readonly SemaphoreSlim _lock = new(1, 1);
    private volatile SchemaCache? _current;
    private int _reloadPending;
    private TaskCompletionSource _loaded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    internal SchemaCacheHolder(AppState state) => _state = state;

    /// <summary>The current snapshot; null until the first load succeeds.</summary>
    public SchemaCache? Current => _current;

    /// <summary>Completes at the next successful load (the recovery loop waits on it as well as on its timer).</summary>
    public Task NextLoad => Volatile.Read(ref _loaded).Task;

    /// <summary>
    /// Loads the schema cache; returns false (keeping the old snapshot) when the database is unreachable. The steps and
    /// their log lines are PostgREST's retryingSchemaCacheLoad's, which scripts and its io tests read: connect and
    /// read the version ("Successfully connected to ...", "Connection Pool initialized ..."), the in-database config
    /// ("Config reloaded"), then the catalog ("Schema cache queried in ...", "Schema cache loaded ...", or "Failed to
    /// load the schema cache using ...").
    /// </summary>
    public async Task<bool> ReloadAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            var config = _state.Config;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            // Each step borrows its own pooled connection and gives it back, as PostgREST's usePool does: with
            // db-pool = 1 the in-database config query needs the one connection too.
            try
            {
                string version;
                await using (var versionConn = await _state.DataSource.OpenConnectionAsync(ct))
                await using (var cmd = new NpgsqlCommand("select pg_catalog.version()", versionConn))
                    version = (string)(await cmd.ExecuteScalarAsync(ct))!;
                _state.Log("Successfully connected to " + version);
                _state.Log($"Connection Pool initialized with a maximum size of {config.DbPool} connections");
            }
            catch (NpgsqlException e)
            {
                var error = Execution.MainTx.ConnectionError(e);
                if (error.AuthenticationFailed) _state.Recovery.StopOnAuthenticationFailure(error);
                else _state.Log("Failed to query the PostgreSQL version. " + error.ToJson(ErrorVerbosity.Verbose));
                _state.Observer.Metrics.SchemaCacheLoadFailed();
                return false;
            }
            // PostgREST's retryingSchemaCacheLoad reads the in-database config before each schema cache load.
            if (config.DbConfig) await _state.Reloader.ReloadAsync(explicitRequest: false, beforeSchemaLoad: true, ct);
            config = _state.Config;
            try
            {
                sw.Restart();
                SchemaCache cache;
                await using (var conn = await _state.DataSource.OpenConnectionAsync(ct))
                    cache = await SchemaCacheLoader.LoadAsync(conn, config.DbSchemas, config.DbExtraSearchPath, ct,
                        (config.InternalSchemaCacheQuerySleepBeforeQueries, config.InternalSchemaCacheQuerySleep));
                var queried = sw.Elapsed - cache.BuildTime;
                _current = cache;
                _state.Observer.Metrics.SchemaCacheLoaded(queried);
                // As PostgREST does after a load: pooled connections may hold stale catalog state (prepared
                // statements of dropped objects) or be dead after a database restart, so new requests get fresh ones.
                _state.DataSource.Clear();
                Interlocked.Exchange(ref _loaded, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                _state.Log($"Schema cache queried in {Millis(queried)} milliseconds");
                if (config.LogLevel >= Config.LogLevel.Debug)
                    _state.Log(string.Join(", ", TimingLabels.Where(cache.QueryTimings.ContainsKey).Select(l => $"{l}: {Millis(cache.QueryTimings[l])} ms")));
                _state.Log("Schema cache loaded " + cache.Summary);
                _state.Log($"Schema cache loaded in {Millis(cache.BuildTime)} milliseconds");
                return true;
            }
            catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
            {
                var error = e switch
                {
                    PostgresException pg => Errors.PgErrorMapper.Map(pg, authenticated: false),
                    NpgsqlException n => Execution.MainTx.ClientError(n),
                    _ => Errors.Pgrst.DbClient(e.Message),
                };
                _state.Log($"Failed to load the schema cache using db-schemas={string.Join(',', config.DbSchemas)} and "
                    + $"db-extra-search-path={string.Join(',', config.DbExtraSearchPath)}. {error.ToJson(ErrorVerbosity.Verbose)}");
                _state.Observer.Metrics.SchemaCacheLoadFailed();
                return false;
            }
        }
#pragma warning disable CA1031 // A reload that fails for any reason must keep the old cache, never take the server down.
        catch (Exception e) when (e is not OperationCanceledException)
        {
            _state.Log($"Schema cache load failed ({e.GetType().Name}): {e.Message}");
            _state.Observer.Metrics.SchemaCacheLoadFailed();
            return false;
        }
#pragma warning restore CA1031
        finally
        {
            _lock.Release();
        }
    }

    // PostgREST's order (queryTimingsWLabels), then ours.
    private static readonly string[] TimingLabels = ["tables", "keydeps", "rels", "funcs", "comprels", "dreps", "mhandlers", "roles"];

    private static string Millis(TimeSpan t) => Millis(t.TotalMilliseconds);

    private static string Millis(double ms) => ms.ToString("0.0", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A config reload reads the role settings again (PostgREST's readInDbConfig queries them with the in-database
    /// config), so <c>ALTER ROLE ... SET statement_timeout</c> then <c>NOTIFY pgrst, 'reload config'</c> takes effect
    /// without a schema reload. A failure keeps the settings there were.
    /// </summary>
    public async Task ReloadRoleSettingsAsync(CancellationToken ct)
    {
        if (_current is not { } cache) return;
        try
        {
            await using var conn = await _state.DataSource.OpenConnectionAsync(ct);
            cache.RoleSettings = await SchemaCacheLoader.LoadRoleSettingsAsync(conn, ct);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            _state.Log($"Failed to query the role settings: {e.Message}");
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
                if (!await ReloadAsync(ct)) _state.Recovery.ReportConnectionLoss(loadJustFailed: true);
            }
            catch (OperationCanceledException)
            {
            }
        }, ct);
    }

    public void Dispose() => _lock.Dispose();
}
