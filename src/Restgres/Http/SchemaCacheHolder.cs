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

    /// <summary>Loads the schema cache; returns false (keeping the old snapshot) when the database is unreachable.</summary>
    public async Task<bool> ReloadAsync(CancellationToken ct)
    {
        await _lock.WaitAsync(ct);
        try
        {
            // PostgREST's retryingSchemaCacheLoad reads the in-database config before each schema cache load.
            if (_state.Config.DbConfig) await _state.Reloader.ReloadAsync(explicitRequest: false, beforeSchemaLoad: true, ct);
            var config = _state.Config;
            var sw = System.Diagnostics.Stopwatch.StartNew();
            await using var conn = await _state.DataSource.OpenConnectionAsync(ct);
            var cache = await SchemaCacheLoader.LoadAsync(conn, config.DbSchemas, config.DbExtraSearchPath, ct);
            _current = cache;
            _state.Observer.Metrics.SchemaCacheLoaded(sw.Elapsed);
            await conn.DisposeAsync();
            // As PostgREST does after a load: pooled connections may hold stale catalog state (prepared statements of
            // dropped objects) or be dead after a database restart, so new requests get fresh ones.
            _state.DataSource.Clear();
            Interlocked.Exchange(ref _loaded, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            _state.Log($"Schema cache loaded in {sw.ElapsedMilliseconds} milliseconds: {cache.Summary}");
            if (config.LogLevel >= Config.LogLevel.Debug)
                _state.Log("Schema cache queries (ms): " + string.Join(", ", cache.LoadTimings.Select(t => t.ToString("0", System.Globalization.CultureInfo.InvariantCulture))));
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException or System.Net.Sockets.SocketException)
        {
            _state.Log($"Schema cache load failed: {e.Message}");
            _state.Observer.Metrics.SchemaCacheLoadFailed();
            return false;
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
                if (!await ReloadAsync(ct)) _state.Recovery.ReportConnectionLoss();
            }
            catch (OperationCanceledException)
            {
            }
        }, ct);
    }

    public void Dispose() => _lock.Dispose();
}
