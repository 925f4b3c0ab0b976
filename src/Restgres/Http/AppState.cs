using Npgsql;
using Restgres.Config;
using Restgres.Execution;

namespace Restgres.Http;

/// <summary>
/// What requests share, one part each (PostgREST's AppState): the config snapshot and the authenticator built from
/// it, the connection pool, the schema cache (<see cref="Schemas"/>), the recovery from a lost database
/// (<see cref="Recovery"/>), config reloads (<see cref="Reloader"/>) and observability. Snapshots are swapped
/// atomically; a request reads each once and keeps it.
/// </summary>
internal sealed class AppState : IAsyncDisposable
{
    // Swapped together by a config reload (Config/InDbConfig.cs); a request reads Config once and keeps that snapshot.
    private volatile AppConfig _config;
    private volatile Auth.Authenticator _authenticator;
    private volatile PlanCache? _planCache;
    private volatile ResponseCache? _responseCache;
    private bool _listenerOn;
    private bool _draining;

    public AppState(AppConfig config, Action<string> log)
    {
        _config = config;
        Log = log;
        _authenticator = new Auth.Authenticator(config);
        DataSource = DataSources.Create(config, new PoolLog(() => Config.LogLevel >= Restgres.Config.LogLevel.Debug, log));
        ListenerConnectionString = DataSources.ListenerConnectionString(config);
        Schemas = new SchemaCacheHolder(this);
        Recovery = new ConnectionRecovery(this);
        Observer = new Observability.Observer(this);
        RateLimiter = new RateLimiting.RateLimiter(DataSource, log, config.ServerRateLimitMaxKeys);
        GroupCommit = new GroupCommit(Observer.Metrics.GroupCommit);
        Replicas = ReadReplicas.Start(config, () => Config, DataSource, log);
        Reloader = new ConfigReloader(this);
    }

    public AppConfig Config => _config;
    public Auth.Authenticator Authenticator => _authenticator;
    public Action<string> Log { get; }
    public NpgsqlDataSource DataSource { get; }
    public string ListenerConnectionString { get; }

    /// <summary>The schema cache snapshot and its loading.</summary>
    public SchemaCacheHolder Schemas { get; }

    /// <summary>The current schema cache snapshot; null until the first load succeeds.</summary>
    public Catalog.SchemaCache? SchemaCache => Schemas.Current;

    /// <summary>Reconnecting after the database was lost.</summary>
    public ConnectionRecovery Recovery { get; }

    /// <summary>Metrics, access log and log sink (Observability/).</summary>
    public Observability.Observer Observer { get; }

    /// <summary>Built-in rate limits: their buckets (local or leased from the database) and counts.</summary>
    public RateLimiting.RateLimiter RateLimiter { get; }
    /// <summary>db-group-commit's batches of inserts, open whatever the config (a reload may turn it on).</summary>
    public GroupCommit GroupCommit { get; }

    /// <summary>db-read-replicas' pools and health checks; null without replicas.</summary>
    public ReadReplicas? Replicas { get; }

    /// <summary>Config reloads: SIGUSR2, NOTIFY 'reload config', in-database config.</summary>
    public ConfigReloader Reloader { get; }

    /// <summary>Replaces the config snapshot (and the authenticator built from it) for the requests that follow.</summary>
    public void ApplyConfig(AppConfig config, Auth.Authenticator authenticator)
    {
        _authenticator = authenticator;
        _config = config;
        Interlocked.Exchange(ref _configChanged, new(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    private TaskCompletionSource _configChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the next config snapshot is applied (the listener follows db-channel-enabled).</summary>
    public Task NextConfigChange => Volatile.Read(ref _configChanged).Task;

    /// <summary>
    /// The plan cache for this pair of snapshots: plans are pure functions of both, so a new schema cache or config
    /// starts an empty one (a request that still holds the previous pair gets a cache of its own for that pair).
    /// </summary>
    public PlanCache PlanCacheFor(Catalog.SchemaCache cache, AppConfig config)
    {
        var current = _planCache;
        if (current is not null && ReferenceEquals(current.Cache, cache) && ReferenceEquals(current.Config, config)) return current;
        var fresh = new PlanCache(cache, config);
        _planCache = fresh;
        return fresh;
    }

    /// <summary>The clock of server-response-cache's time to live and <c>Age</c> (tests set a fake one before the first request).</summary>
    public TimeProvider Time { get; set; } = TimeProvider.System;

    /// <summary>The response cache of the current snapshots, if one was made (metrics, invalidation).</summary>
    public ResponseCache? CurrentResponseCache => _responseCache;

    /// <summary>
    /// The response cache for this pair of snapshots, like <see cref="PlanCacheFor"/>: a new schema cache or config
    /// starts an empty one. A request still holding an older pair than the current one gets null (no caching), so it
    /// never replaces the current cache.
    /// </summary>
    public ResponseCache? ResponseCacheFor(Catalog.SchemaCache cache, AppConfig config)
    {
        var current = _responseCache;
        if (current is not null && ReferenceEquals(current.Cache, cache) && ReferenceEquals(current.Config, config)) return current;
        if (!ReferenceEquals(cache, SchemaCache) || !ReferenceEquals(config, Config)) return null;
        var fresh = new ResponseCache(cache, config, Time, Observer.Metrics.ResponseCache);
#pragma warning disable CS0420 // Interlocked on a volatile field is fine.
        var won = Interlocked.CompareExchange(ref _responseCache, fresh, current);
#pragma warning restore CS0420
        if (ReferenceEquals(won, current)) return fresh;
        return won is not null && ReferenceEquals(won.Cache, cache) && ReferenceEquals(won.Config, config) ? won : null;
    }

    /// <summary>
    /// Drops the response cache's entries that read <paramref name="relations"/> (a write through this instance, or
    /// a NOTIFY on db-channel).
    /// </summary>
    public void InvalidateResponses(IEnumerable<Catalog.QualifiedIdentifier> relations) => _responseCache?.Invalidate(relations);

    /// <summary>The API's listening sockets when server-reuseport made them (Listener.ConfigureTransport).</summary>
    public System.Collections.Concurrent.ConcurrentBag<System.Net.Sockets.Socket> ListenSockets { get; } = [];

    /// <summary>
    /// Shutting down with server-reuseport: every response says <c>Connection: close</c>, so that each client's next
    /// request opens a new connection, which the kernel gives to an instance that stays (ApiServer.DrainAsync).
    /// </summary>
    public bool Draining
    {
        get => Volatile.Read(ref _draining);
        set => Volatile.Write(ref _draining, value);
    }

    /// <summary>Whether the db-channel listener is connected and listening (PostgREST's isListenerOn).</summary>
    public bool ListenerOn
    {
        get => Volatile.Read(ref _listenerOn);
        set => Volatile.Write(ref _listenerOn, value);
    }

    /// <summary>Where the API server accepts connections, once it listens: the admin server's <c>/live</c> and
    /// <c>/ready</c> connect to it (PostgREST's checkMainAppLive), so a removed socket file shows as not live.</summary>
    public System.Net.EndPoint? MainEndPoint
    {
        get => Volatile.Read(ref _mainEndPoint);
        set
        {
            Volatile.Write(ref _mainEndPoint, value);
            if (value is not null) _apiListening.TrySetResult();
        }
    }

    private System.Net.EndPoint? _mainEndPoint;
    private readonly TaskCompletionSource _apiListening = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Completes when the API socket is bound at startup (<see cref="MainEndPoint"/> is set), whether the
    /// first schema cache load succeeded or not.</summary>
    public Task ApiListening => _apiListening.Task;

    public async ValueTask DisposeAsync()
    {
        Recovery.Stop();
        Reloader.Dispose();
        RateLimiter.Dispose();
        Observer.Dispose();
        if (Replicas is not null) await Replicas.DisposeAsync();
        await DataSource.DisposeAsync();
        Schemas.Dispose();
        Recovery.Dispose();
    }
}
