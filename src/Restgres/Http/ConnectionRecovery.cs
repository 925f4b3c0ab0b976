namespace Restgres.Http;

/// <summary>
/// What happens when the database is lost (PostgREST docs: references/connection_pool.rst, "Automatic Recovery"): one
/// loop flushes the pool and reloads the schema cache, retrying with exponential backoff capped at 32 seconds, while
/// requests get 503 with <c>Retry-After</c>; without db-pool-automatic-recovery the server stops instead.
/// </summary>
internal sealed class ConnectionRecovery : IDisposable
{
    private readonly AppState _state;
    private readonly CancellationTokenSource _life = new();
    private readonly TaskCompletionSource _fatal = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _recovering;
    private int _retryDelay;

    internal ConnectionRecovery(AppState state) => _state = state;

    /// <summary>
    /// Seconds until the next attempt to reach the database while recovering from a lost connection, 0 when connected:
    /// the <c>Retry-After</c> of 503 responses.
    /// </summary>
    public int RetryAfterSeconds => Volatile.Read(ref _retryDelay);

    /// <summary>Whether the database is believed reachable (no recovery under way).</summary>
    public bool IsConnected => Volatile.Read(ref _recovering) == 0;

    /// <summary>Completes when the server has to stop: the database was lost and db-pool-automatic-recovery is false.</summary>
    public Task Fatal => _fatal.Task;

    /// <summary>
    /// Called when the database could not be reached (a request's connection failed, the listener lost its
    /// connection, a schema cache load failed): starts the recovery loop unless one is running.
    /// </summary>
    /// <param name="loadJustFailed">A schema cache load has just failed: the loop waits its first delay before trying
    /// again, as PostgREST's retrying does, rather than repeating that load at once.</param>
    public void ReportConnectionLoss(bool loadJustFailed = false)
    {
        if (!_state.Config.DbPoolAutomaticRecovery)
        {
            if (_fatal.TrySetResult()) _state.Log("The database is unreachable and db-pool-automatic-recovery is false: stopping");
            return;
        }
        if (_life.IsCancellationRequested || Interlocked.CompareExchange(ref _recovering, 1, 0) != 0) return;
        Volatile.Write(ref _retryDelay, 1);
        _ = Task.Run(() => RecoverAsync(loadJustFailed));
    }

    /// <summary>
    /// The database refused the authenticator's credentials (<see cref="Errors.ApiError.AuthenticationFailed"/>):
    /// retrying cannot help, so the server stops with PostgREST's "Failed to establish a connection." line.
    /// </summary>
    public void StopOnAuthenticationFailure(Errors.ApiError error)
    {
        if (_fatal.TrySetResult()) _state.Log("Failed to establish a connection. " + error.ToJson(Config.ErrorVerbosity.Verbose));
    }

    private async Task RecoverAsync(bool loadJustFailed)
    {
        var ct = _life.Token;
        var delay = 1;
        try
        {
            while (true)
            {
                Volatile.Write(ref _retryDelay, delay);
                // A load that succeeds meanwhile (the listener is back and reloaded) ends the recovery early.
                var loaded = _state.Schemas.NextLoad;
                if (!loadJustFailed)
                {
                    _state.DataSource.Clear();
                    if (await _state.Schemas.ReloadAsync(ct)) break;
                }
                loadJustFailed = false;
                _state.Log($"Attempting to reconnect to the database in {delay} seconds...");
                await Task.WhenAny(Task.Delay(TimeSpan.FromSeconds(delay), ct), loaded);
                ct.ThrowIfCancellationRequested();
                if (loaded.IsCompleted) break;
                delay = Math.Min(32, delay * 2);
            }
            _state.Log("Connection to the database restored");
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

    /// <summary>Stops a running recovery loop (shutdown).</summary>
    public void Stop() => _life.Cancel();

    public void Dispose() => _life.Dispose();
}
